"""The knowledge graph as the policy lets one request see it (``entity360``, ``node``,
``search(...).entity``, relations, neighbourhoods, paths).

The graph joins records of many types, so it is policed through them, by the rules of each
record's own type (``PolicedRecordSource``):

* an entity is visible when at least one of its member records is readable as a row (type
  readable, not counts only, purpose and rate passed, row filter passed); its label is made
  again from those records alone, each name served as its own type serves it (a person's
  name masked unless the policy reveals it), and so is its confidence;
* an entity looked up by a record (``Citizen:CIT-1``) needs that very record readable, so a
  hidden record is never tied to a visible entity;
* a relation is shown when the record stating it is readable and both its ends are visible;
  a neighbourhood holds the entities reached from its centre through shown relations only;
* a principal whose policy serves it no rows of any type (counts only everywhere, or no
  policy) is refused the whole graph, as ``PolicedRecordSource.reference`` refuses a
  counts-only type: the refusal depends on the principal, never on what exists.

Entities, members and records are read in batches (one ``members_of`` and one ``load_many``
per kind for a whole list of entities) and remembered for the request, so an entity's
relations, and their ``other`` ends, cost a few queries whatever their number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from strawberry.dataloader import DataLoader

from hub.graph.model import Entity, Member, Relation, Subgraph
from hub.graph.resolution import entity_label
from hub.graph.walk import FRONTIER_CAP, expand, unwind
from hub.policy.enforce import PolicedRecordSource, RequestPolicy, police_attrs
from hub.policy.engine import PolicyDenied
from schema.record import Record

Ref = tuple[str, str]
COUNTS_ONLY = "the knowledge graph is served to you as counts only"
LABEL_FIELDS = ("name", "title", "plate", "code", "tank_no")


class GraphReads(Protocol):
    """What the policed graph reads of the graph (``hub.context_sources.GraphSourceAdapter``)."""

    async def entity(self, entity_id: str) -> Entity | None: ...

    async def entity_ids_of(self, refs: Sequence[Ref]) -> dict[Ref, str]: ...

    async def entities(self, ids: Sequence[str]) -> dict[str, Entity]: ...

    async def members_of(self, entity_ids: Sequence[str]) -> list[Member]: ...

    async def relations_of(self, entity_ids: Sequence[str]) -> list[Relation]: ...

    async def neighbourhood(self, entity_id: str, hops: int, limit: int) -> Subgraph: ...

    async def path(self, a: str, b: str, max_hops: int) -> list[Relation] | None: ...


def graph_refusal(policy: RequestPolicy) -> str | None:
    """Why this request may read nothing of the graph, or None: a principal no policy names,
    or one whose policy reads no type's rows (every type counts only)."""
    principal = policy.principal
    if principal is None:
        return None  # the schema outside the hub: every row, personal data masked
    active = policy.engine.policy_for(principal)
    if active is None:
        return f"access denied: no access policy covers {principal.label}"
    if all(rule.aggregate_only for rule in active.document.types.values()):
        return COUNTS_ONLY
    return None


class PolicedGraphSource:
    """The context's graph source, as the policy lets this request see it (see the module)."""

    def __init__(
        self, inner: GraphReads, records: PolicedRecordSource, policy: RequestPolicy
    ) -> None:
        self.inner = inner
        self.records = records
        self.policy = policy
        self._refusal: str | None = None
        self._checked = False
        self._rows: dict[Ref, Record | None] = {}  # None: hidden, missing or refused
        self._entities: dict[str, Entity | None] = {}  # None: hidden or missing
        self._members: dict[str, list[Member]] = {}  # readable members of visible entities
        # what resolvers ask one by one (each search hit's entity, each relation's other
        # end), answered for all of them at once
        self._by_id = DataLoader(self._entities_by_id)
        self._by_record = DataLoader(self._entities_by_record)

    def _refuse(self) -> None:
        if not self._checked:
            self._refusal, self._checked = graph_refusal(self.policy), True
        if self._refusal:
            raise PolicyDenied(self._refusal)

    async def rows(self, refs: Iterable[Ref]) -> dict[Ref, Record]:
        """The records among ``refs`` this request may read as rows, one ``load_many`` per
        kind; a kind it may not read (refused, counts only, no purpose, over its rate) gives
        none of its rows, quietly — the graph only leaves them out."""
        wanted = list(dict.fromkeys(refs))
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, key in wanted:
            if (kind, key) not in self._rows:
                by_kind[kind].append(key)
        for kind, keys in by_kind.items():
            try:
                found = await self.records.load_many(kind, keys)
            except PolicyDenied:
                found = [None] * len(keys)
            self._rows.update(((kind, key), row) for key, row in zip(keys, found, strict=True))
        return {ref: row for ref in wanted if (row := self._rows.get(ref)) is not None}

    async def visible(
        self, ids: Iterable[str], known: Mapping[str, Entity] | None = None
    ) -> dict[str, Entity]:
        """The entities among ``ids`` this request may see, labelled from its readable
        members; ``known``: entities already read from the graph (not read again)."""
        wanted = list(dict.fromkeys(ids))
        todo = [i for i in wanted if i not in self._entities]
        if todo:
            members = await self.inner.members_of(todo)
            held = dict(known or {})
            unknown = [i for i in todo if i not in held]
            if unknown:
                held.update(await self.inner.entities(unknown))
            rows = await self.rows((m.kind, m.key) for m in members)
            readable: dict[str, list[Member]] = defaultdict(list)
            for member in members:
                if (member.kind, member.key) in rows:
                    readable[member.entity_id].append(member)
            for entity_id in todo:
                entity, mine = held.get(entity_id), readable.get(entity_id)
                if entity is None or not mine:
                    self._entities[entity_id] = None
                    continue
                mine.sort(key=lambda m: (m.source_system, m.kind, m.key))
                self._members[entity_id] = mine
                label = self.label(entity, [rows[(m.kind, m.key)] for m in mine])
                # its confidence too is of the members shown (a hidden weak match is not told)
                confidence = min(m.confidence for m in mine)
                self._entities[entity_id] = replace(entity, label=label, confidence=confidence)
        return {i: e for i in wanted if (e := self._entities.get(i)) is not None}

    def label(self, entity: Entity, rows: Sequence[Record]) -> str:
        """The entity's label made from these records only, their names and titles as each
        record's type serves them to this request (masked, or left out, by its policy)."""
        shown: list[tuple[bool, dict[str, Any]]] = []
        for row in rows:
            attrs = police_attrs(
                self.policy, row.kind, {f: row.attrs[f] for f in LABEL_FIELDS if f in row.attrs}
            )
            shown.append((attrs.get("name") != row.attrs.get("name"), attrs))
        # a name some record's policy serves whole (revealed) comes before the same masked
        shown.sort(key=lambda pair: pair[0])
        return entity_label(entity.type, [a for _, a in shown], rows[0].key, mask_person=False)

    async def _entities_by_id(self, ids: list[str]) -> list[Entity | None]:
        found = await self.visible(ids)
        return [found.get(i) for i in ids]

    async def _entities_by_record(self, refs: list[Ref]) -> list[Entity | None]:
        readable = list(await self.rows(refs))
        ids = await self.inner.entity_ids_of(readable) if readable else {}
        found = await self.visible(ids.values())
        return [found.get(ids.get(ref, "")) for ref in refs]

    async def shown(self, rels: Iterable[Relation]) -> list[Relation]:
        """The relations whose stating record this request may read and whose both ends it
        may see, in their order."""
        rels = list(rels)
        stated = await self.rows((r.source_kind, r.source_key) for r in rels)
        rels = [r for r in rels if (r.source_kind, r.source_key) in stated]
        ends = await self.visible(e for r in rels for e in (r.src, r.dst))
        return [r for r in rels if r.src in ends and r.dst in ends]

    # -- the GraphSource the resolvers read (schema.context.GraphSource) --

    async def entity(self, entity_id: str) -> Entity | None:
        self._refuse()
        return await self._by_id.load(entity_id)

    async def entity_of(self, kind: str, key: str) -> Entity | None:
        """The entity of a stored record, when that record itself is readable (a hidden
        record is never tied to a visible entity)."""
        self._refuse()
        return await self._by_record.load((kind, key))

    async def members(self, entity_id: str) -> list[Member]:
        if await self.entity(entity_id) is None:
            return []
        return list(self._members[entity_id])

    async def relations(self, entity_id: str) -> list[Relation]:
        if await self.entity(entity_id) is None:
            return []
        return await self.shown(await self.inner.relations_of([entity_id]))

    async def neighbourhood(self, entity_id: str, hops: int, limit: int) -> Subgraph:
        """The graph's neighbourhood cut to what this request may see: shown relations, and
        the entities reached from the centre through them within ``hops``."""
        if await self.entity(entity_id) is None:
            return Subgraph()
        sub = await self.inner.neighbourhood(entity_id, hops, limit)
        await self.visible(sub.entities, sub.entities)
        rels = await self.shown(sub.relations)
        came_from: dict[str, Relation | None] = {entity_id: None}
        frontier = {entity_id}
        for _ in range(hops):  # hop by hop: an entity is as far as its nearest shown chain
            step = [r for r in rels if r.src in frontier or r.dst in frontier]
            frontier = set(expand(came_from, step))
            if not frontier:
                break
        return Subgraph(
            entities={i: e for i in came_from if (e := self._entities.get(i)) is not None},
            relations=[r for r in rels if r.src in came_from and r.dst in came_from],
        )

    async def path(self, a: str, b: str, max_hops: int) -> list[Relation] | None:
        """A shortest chain of relations this request may see, or None (also when either
        end is hidden). The graph's own shortest chain is kept when every hop is shown;
        otherwise the search runs again over shown relations only. Not simply None on a
        hidden hop: that None would tell that a shorter chain exists which the caller may
        not see, whenever it can find a longer one hop by hop through ``neighbourhood``;
        searching the shown relations answers exactly what those walks would."""
        self._refuse()
        ends = await self.visible([a, b])
        if a not in ends or b not in ends:
            return None
        chain = await self.inner.path(a, b, max_hops)
        if chain is None or len(await self.shown(chain)) == len(chain):
            return chain  # no chain at all (so no visible one), or every hop visible
        came_from: dict[str, Relation | None] = {a: None}
        frontier = [a]
        for _ in range(max_hops):
            reached = expand(came_from, await self.shown(await self.inner.relations_of(frontier)))
            if b in came_from:
                return unwind(came_from, b)
            frontier = reached[:FRONTIER_CAP]
            if not frontier:
                break
        return None
