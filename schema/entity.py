"""Entity 360°: one firm, vehicle, person or place as every system knows it, with sources."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from schema.context import graph, records
from schema.scalars import GeoJSON, geojson

MAX_HOPS = 4
MAX_NEIGHBOURS = 1000


@strawberry.type(description="A record one source system holds about the entity.")
class SourceFact:
    system: str = strawberry.field(description="Source system id")
    kind: str = strawberry.field(description="Record type in the hub, e.g. FinanceFirm")
    key: str = strawberry.field(description="Record key in the hub")
    source_id: str | None = strawberry.field(description="The record's id in its system")
    fetched_at: datetime | None
    method: str = strawberry.field(
        description="How it was matched: uscc, plate, name, brand, ...; mentions: a record "
        "of another thing that concerns this one"
    )
    confidence: float = strawberry.field(description="Confidence of the match, 0–1")
    attrs: JSON = strawberry.field(
        description="What the system says (as the access policy shows it: personal data masked)"
    )
    geometry: GeoJSON | None
    datum: str | None


@strawberry.type(description="Where a relation comes from: the record that states it.")
class RelationSource:
    system: str
    kind: str
    key: str


@strawberry.enum
class Direction(Enum):
    OUT = "out"
    IN = "in"


@strawberry.type(description="A typed edge between two entities.")
class GraphEdge:
    source_entity: str = strawberry.field(name="from", description="Entity id the edge leaves")
    rel: str = strawberry.field(description="LOCATED_IN, OPERATES, OWNS_VEHICLE, ...")
    target_entity: str = strawberry.field(name="to", description="Entity id the edge enters")
    confidence: float
    source: RelationSource

    @classmethod
    def of(cls, rel: Any) -> GraphEdge:
        return cls(
            source_entity=rel.src,
            rel=rel.rel,
            target_entity=rel.dst,
            confidence=rel.confidence,
            source=RelationSource(
                system=rel.source_system, kind=rel.source_kind, key=rel.source_key
            ),
        )


@strawberry.type(description="A relation seen from one entity.")
class EntityRelation:
    rel: str
    direction: Direction
    other_id: strawberry.Private[str]
    source: RelationSource

    @strawberry.field(description="The entity at the other end")
    async def other(self, info: strawberry.Info) -> Entity | None:
        found = await graph(info).entity(self.other_id)
        return Entity.of(found) if found else None


@strawberry.type(description="Entities around one entity, and the edges between them.")
class Neighbourhood:
    entities: list[Entity]
    edges: list[GraphEdge]


@strawberry.type(description="One real-world firm, vehicle, person or place, across systems.")
class Entity(relay.Node):
    id: relay.NodeID[str]
    type: str = strawberry.field(description="Firm, Vehicle, Person, GridCell, ...")
    label: str = strawberry.field(description="Display name (people's names masked)")
    resolved_by: str = strawberry.field(description="uscc, plate, id_hash, name, brand, record")
    confidence: float = strawberry.field(description="Lowest confidence among its matches")

    @classmethod
    def of(cls, entity: Any) -> Entity:
        return cls(
            id=entity.id,
            type=entity.type,
            label=entity.label,
            resolved_by=entity.resolved_by,
            confidence=entity.confidence,
        )

    @classmethod
    # relay.Node's is overloaded on `required`; one signature serves both here
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Entity | None]:
        ids = list(node_ids)
        # asked together, so the graph source can answer them in one batch
        found = await asyncio.gather(*(graph(info).entity(i) for i in ids))
        missing = next((i for i, e in zip(ids, found, strict=True) if e is None), None)
        if missing is not None and required:
            raise LookupError(f"no entity with id {missing!r}")
        return [cls.of(e) if e else None for e in found]

    @strawberry.field(description="Every record every system holds about it")
    async def sources(self, info: strawberry.Info) -> list[SourceFact]:
        # The records that describe it, then the records of other systems that concern it
        # (a complaint naming the firm, an enforcement case against it): method "mentions".
        members = await graph(info).members(self.id)
        refs = [(m.kind, m.key, m.source_system, m.method, m.confidence) for m in members]
        refs += [
            (r.source_kind, r.source_key, r.source_system, "mentions", r.confidence)
            for r in await graph(info).relations(self.id)
            if r.rel == "CONCERNS" and r.dst == self.id
        ]
        facts: list[SourceFact] = []
        for kind, key, system, method, confidence in refs:
            record = await records(info).load(kind, key)
            if record is None:  # not stored, or not visible under the caller's policy
                continue
            facts.append(
                SourceFact(
                    system=system,
                    kind=kind,
                    key=key,
                    source_id=record.source_id,
                    fetched_at=record.fetched_at,
                    method=method,
                    confidence=confidence,
                    attrs=JSON(record.attrs),  # filtered and masked by policy when served
                    geometry=geojson(record.geometry),
                    datum=record.datum,
                )
            )
        return facts

    @strawberry.field(description="Its relations, with the record stating each")
    async def relations(self, info: strawberry.Info, first: int = 100) -> list[EntityRelation]:
        rels = await graph(info).relations(self.id)
        return [
            EntityRelation(
                rel=r.rel,
                direction=Direction.OUT if r.src == self.id else Direction.IN,
                other_id=r.dst if r.src == self.id else r.src,
                source=RelationSource(system=r.source_system, kind=r.source_kind, key=r.source_key),
            )
            for r in rels[: max(0, min(first, MAX_NEIGHBOURS))]
        ]

    @strawberry.field(description="Entities up to `hops` relations away (hops 1–4)")
    async def neighbourhood(
        self, info: strawberry.Info, hops: int = 1, limit: int = 200
    ) -> Neighbourhood:
        if not 1 <= hops <= MAX_HOPS:
            raise ValueError(f"hops must be between 1 and {MAX_HOPS}, got {hops}")
        if not 1 <= limit <= MAX_NEIGHBOURS:
            raise ValueError(f"limit must be between 1 and {MAX_NEIGHBOURS}, got {limit}")
        sub = await graph(info).neighbourhood(self.id, hops, limit)
        return Neighbourhood(
            entities=[Entity.of(e) for e in sub.entities.values()],
            edges=[GraphEdge.of(r) for r in sub.relations],
        )


async def find_entity(info: strawberry.Info, ref: str) -> Entity | None:
    """An entity from its global id, its entity id (Firm:…), or any of its records' ids; the
    context's graph source answers only what the caller may see (``hub.policy.graph``)."""
    source = graph(info)
    try:
        type_name, node_id = relay.from_base64(ref)
    except Exception:
        type_name = node_id = ""
    if type_name == "Entity":
        found = await source.entity(node_id)
        return Entity.of(found) if found else None
    found = await source.entity(ref)
    if found is None and type_name and node_id:  # a record's global id: GridCell:BH-…
        found = await source.entity_of(type_name, node_id)
    if found is None and ":" in ref:  # "<Kind>:<key>" of a record
        kind, _, key = ref.partition(":")
        found = await source.entity_of(kind, key)
    return Entity.of(found) if found else None


@strawberry.type
class EntityQueries:
    @strawberry.field(
        description="Everything every system knows about one firm / vehicle / person / place. "
        "`id`: an Entity's global id, an entity id such as Firm:<credit code>, or a record's id."
    )
    async def entity360(self, info: strawberry.Info, id: str) -> Entity | None:
        found = await find_entity(info, id)
        if found is None:
            raise LookupError(f"no entity for {id!r}")
        return found

    @strawberry.field(description="A shortest chain of relations between two entities")
    async def entity_path(
        self, info: strawberry.Info, source: str, target: str, max_hops: int = 4
    ) -> list[GraphEdge] | None:
        if not 1 <= max_hops <= MAX_HOPS:
            raise ValueError(f"maxHops must be between 1 and {MAX_HOPS}, got {max_hops}")
        a, b = await find_entity(info, source), await find_entity(info, target)
        if a is None or b is None:
            raise LookupError(f"no entity for {source if a is None else target!r}")
        chain = await graph(info).path(a.id, b.id, max_hops)
        return None if chain is None else [GraphEdge.of(r) for r in chain]
