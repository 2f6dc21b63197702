"""What the knowledge graph holds: entities, the records that make them up, typed relations."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entity:
    """One real-world thing (a firm, a vehicle, a person, a place) across all systems."""

    id: str  # "<Type>:<identity>", e.g. Firm:91120116MA05BBJ537
    type: str
    label: str
    resolved_by: str  # uscc | plate | id_hash | name | brand | record
    confidence: float


@dataclass(frozen=True)
class Member:
    """A stored record that describes an entity, and how it was matched to it."""

    entity_id: str
    kind: str
    key: str
    source_system: str
    method: str
    confidence: float


@dataclass(frozen=True)
class Relation:
    """A typed edge between entities, with the record that states it (its provenance)."""

    src: str
    rel: str
    dst: str
    source_system: str
    source_kind: str
    source_key: str
    confidence: float = 1.0


@dataclass
class Subgraph:
    entities: dict[str, Entity] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    # the feed's sequence this change brings the graph up to (kept if higher than the last)
    position: int | None = None


@dataclass
class GraphChange:
    """An incremental change, applied atomically in this order: the relations stated by
    ``sources`` are dropped, ``gone_members`` and ``gone_entities`` (with every relation
    touching them) removed, ``entities`` and ``members`` written over those of the same id or
    (kind, key), and ``relations`` added where both ends exist afterwards (kept pending until
    the missing end arrives otherwise; pending ones stated by ``sources`` are dropped)."""

    # (entity id the record belonged to, kind, key): a record whose stated relations are redone
    sources: list[tuple[str, str, str]] = field(default_factory=list)
    gone_members: list[tuple[str, str]] = field(default_factory=list)
    gone_entities: list[str] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    # the feed's sequence this change brings the graph up to (kept if higher than the last)
    position: int | None = None
