"""The knowledge-graph interface every backend implements (SQLite now; Neo4j later)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from hub.graph.model import Entity, GraphChange, Member, Relation, Subgraph


class GraphStore(Protocol):
    def replace(
        self,
        entities: Iterable[Entity],
        members: Iterable[Member],
        relations: Iterable[Relation],
        pending: Iterable[Relation] = (),
        *,
        position: int = 0,
    ) -> None:
        """Swap the whole graph for this one, atomically. ``pending``: relations stated about
        entities not held yet, made relations by the :meth:`update` that brings the entity.
        ``position``: the change feed's head when the records were read."""
        ...

    def update(self, change: GraphChange) -> None:
        """Apply an incremental change atomically (what the feed follower writes). Relations
        with an end not held are kept pending, as are the ones :meth:`replace` was given."""
        ...

    def position(self) -> int:
        """The change feed's sequence up to which the graph holds every write (0: unknown)."""
        ...

    def entity(self, entity_id: str) -> Entity | None: ...

    def entities(self, ids: Sequence[str]) -> dict[str, Entity]:
        """The entities of these ids the graph holds, by id."""
        ...

    def entity_of(self, kind: str, key: str) -> Entity | None:
        """The entity a stored record belongs to."""
        ...

    def entity_ids_of(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The entity id of each stored record (kind, key) the graph holds."""
        ...

    def members(self, entity_id: str) -> list[Member]: ...

    def members_of(self, entity_ids: Sequence[str]) -> list[Member]:
        """The members of many entities at once."""
        ...

    def relations(self, entity_ids: Sequence[str]) -> list[Relation]:
        """Every relation touching any of the entities, in either direction."""
        ...

    def neighbourhood(self, entity_id: str, hops: int, limit: int = 500) -> Subgraph:
        """Entities within ``hops`` relations of one entity (at most ``limit``)."""
        ...

    def path(self, a: str, b: str, max_hops: int = 4) -> list[Relation] | None:
        """A shortest chain of relations from a to b, or None within max_hops."""
        ...

    def counts(self) -> dict[str, int]: ...

    def close(self) -> None: ...
