"""The embedded knowledge graph: adjacency tables in SQLite, walked breadth-first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine, Row
from sqlalchemy.engine.interfaces import DBAPIConnection

from hub.graph.model import Entity, GraphChange, Member, Relation, Subgraph
from hub.graph.relations import record_ref
from hub.graph.walk import FRONTIER_CAP, expand, neighbourhood, unwind

T = TypeVar("T")

metadata = MetaData()
entities = Table(
    "graph_entities",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("type", String(64), nullable=False, index=True),
    Column("label", String(400), nullable=False),
    Column("resolved_by", String(16), nullable=False),
    Column("confidence", Float, nullable=False),
)
members = Table(
    "graph_members",
    metadata,
    Column("kind", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("entity_id", String(200), nullable=False, index=True),
    Column("source_system", String(64), nullable=False),
    Column("method", String(16), nullable=False),
    Column("confidence", Float, nullable=False),
)


def _relation_columns() -> list[Column[Any]]:
    """A relation's columns, for the edges and for the relations waiting for their end."""
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("src", String(200), nullable=False),
        Column("rel", String(64), nullable=False),
        Column("dst", String(200), nullable=False),
        Column("source_system", String(64), nullable=False),
        Column("source_kind", String(64), nullable=False),
        Column("source_key", String(128), nullable=False),
        Column("confidence", Float, nullable=False),
    ]


edges = Table(
    "graph_edges",
    metadata,
    *_relation_columns(),
    Index("ix_graph_edges_src", "src"),
    Index("ix_graph_edges_dst", "dst"),
)

# Relations a record states about an entity the graph does not hold yet (a case about a firm
# not yet registered): kept aside, and made edges when that entity arrives.
pending = Table(
    "graph_pending",
    metadata,
    *_relation_columns(),
    Index("ix_graph_pending_src", "src"),
    Index("ix_graph_pending_dst", "dst"),
    Index("ix_graph_pending_source", "source_kind", "source_key"),
)

# The change feed's sequence up to which the graph holds every write (name "position").
meta = Table(
    "graph_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Integer, nullable=False),
)

_BATCH = 500


def _chunks(items: Iterable[T], size: int = _BATCH) -> Iterable[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _entity(row: Row[Any]) -> Entity:
    return Entity(row.id, row.type, row.label, row.resolved_by, row.confidence)


def _relation(r: Row[Any]) -> Relation:
    return Relation(r.src, r.rel, r.dst, r.source_system, r.source_kind, r.source_key, r.confidence)


class SqliteGraph:
    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        event.listen(self.engine, "connect", _wal)
        metadata.create_all(self.engine)

    def replace(
        self,
        new_entities: Iterable[Entity],
        new_members: Iterable[Member],
        new_relations: Iterable[Relation],
        new_pending: Iterable[Relation] = (),
        *,
        position: int = 0,
    ) -> None:
        with self.engine.begin() as conn:
            for table in (edges, pending, members, entities, meta):
                conn.execute(delete(table))
            conn.execute(meta.insert().values(name="position", value=position))
            for chunk in _chunks(r.__dict__ for r in new_pending):
                conn.execute(pending.insert(), chunk)
            for chunk in _chunks(e.__dict__ for e in new_entities):
                conn.execute(entities.insert(), chunk)
            for chunk in _chunks(m.__dict__ for m in new_members):
                conn.execute(members.insert(), chunk)
            for chunk in _chunks(r.__dict__ for r in new_relations):
                conn.execute(edges.insert(), chunk)

    def update(self, change: GraphChange) -> None:
        # each step one executemany (a statement per row cost ~2 ms of SQLAlchemy each)
        sources = [
            {"entity_id": e, "kind": k, "key": key} for e, k, key in dict.fromkeys(change.sources)
        ]
        with self.engine.begin() as conn:

            def many(statement: Any, rows: list[dict[str, Any]]) -> None:
                if rows:
                    conn.execute(statement, rows)

            many(
                delete(edges).where(
                    or_(
                        edges.c.src == bindparam("entity_id"), edges.c.dst == bindparam("entity_id")
                    ),
                    edges.c.source_kind == bindparam("kind"),
                    edges.c.source_key == bindparam("key"),
                ),
                sources,
            )
            many(
                delete(pending).where(
                    pending.c.source_kind == bindparam("kind"),
                    pending.c.source_key == bindparam("key"),
                ),
                sources,
            )
            by_ref = delete(members).where(
                members.c.kind == bindparam("k"), members.c.key == bindparam("ref_key")
            )
            many(by_ref, [{"k": k, "ref_key": key} for k, key in change.gone_members])
            for chunk in _chunks(change.gone_entities):
                conn.execute(
                    delete(edges).where(or_(edges.c.src.in_(chunk), edges.c.dst.in_(chunk)))
                )
                conn.execute(delete(entities).where(entities.c.id.in_(chunk)))
            many(
                delete(entities).where(entities.c.id == bindparam("entity_id")),
                [{"entity_id": e.id} for e in change.entities],
            )
            many(entities.insert(), [e.__dict__ for e in change.entities])
            many(by_ref, [{"k": m.kind, "ref_key": m.key} for m in change.members])
            many(members.insert(), [m.__dict__ for m in change.members])
            # relations waiting for a record that has now arrived take its entity as their end
            arrivals = [
                {"ref": record_ref(m.kind, m.key), "to": m.entity_id} for m in change.members
            ]
            for end in ("src", "dst"):
                many(
                    update(pending)
                    .where(pending.c[end] == bindparam("ref"))
                    .values({end: bindparam("to")}),
                    arrivals,
                )
            # relations waiting for an entity that has now arrived
            arrived = list(
                {*(e.id for e in change.entities), *(m.entity_id for m in change.members)}
            )
            waiting: list[Relation] = []
            for chunk in _chunks(arrived):
                rows = conn.execute(
                    select(pending).where(or_(pending.c.src.in_(chunk), pending.c.dst.in_(chunk)))
                ).all()
                waiting.extend(_relation(r) for r in rows)
                conn.execute(delete(pending).where(pending.c.id.in_([r.id for r in rows])))
            stated = [*dict.fromkeys([*change.relations, *waiting])]
            ends = list({e for r in stated for e in (r.src, r.dst)})
            present: set[str] = set()
            for chunk in _chunks(ends):
                present.update(conn.scalars(select(entities.c.id).where(entities.c.id.in_(chunk))))
            # the same relation stated by the same record once, as a rebuild writes it
            new = {
                (r.src, r.rel, r.dst, r.source_kind, r.source_key): r
                for r in stated
                if r.src in present and r.dst in present
            }
            for chunk in _chunks(list({key[0] for key in new})):
                held = conn.execute(
                    select(
                        edges.c.src,
                        edges.c.rel,
                        edges.c.dst,
                        edges.c.source_kind,
                        edges.c.source_key,
                    ).where(edges.c.src.in_(chunk))
                )
                for row in held:
                    new.pop(tuple(row), None)
            many(edges.insert(), [r.__dict__ for r in new.values()])
            later = [r for r in stated if r.src not in present or r.dst not in present]
            many(pending.insert(), [r.__dict__ for r in dict.fromkeys(later)])
            if change.position is not None:
                kept = conn.scalar(select(meta.c.value).where(meta.c.name == "position"))
                if kept is None:
                    conn.execute(meta.insert().values(name="position", value=change.position))
                elif kept < change.position:
                    conn.execute(
                        update(meta).where(meta.c.name == "position").values(value=change.position)
                    )

    def position(self) -> int:
        with self.engine.connect() as conn:
            found = conn.scalar(select(meta.c.value).where(meta.c.name == "position"))
        return int(found or 0)

    def entity_ids_of(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        found: dict[tuple[str, str], str] = {}
        by_kind: dict[str, list[str]] = {}
        for kind, key in refs:
            by_kind.setdefault(kind, []).append(key)
        with self.engine.connect() as conn:
            for kind, keys in by_kind.items():
                for chunk in _chunks(dict.fromkeys(keys)):
                    query = select(members.c.key, members.c.entity_id).where(
                        members.c.kind == kind, members.c.key.in_(chunk)
                    )
                    for key, entity_id in conn.execute(query):
                        found[(kind, key)] = entity_id
        return found

    def entity(self, entity_id: str) -> Entity | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(entities).where(entities.c.id == entity_id)).first()
        return _entity(row) if row else None

    def entities(self, ids: Sequence[str]) -> dict[str, Entity]:
        found: dict[str, Entity] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(ids):
                for row in conn.execute(select(entities).where(entities.c.id.in_(chunk))):
                    found[row.id] = _entity(row)
        return found

    def entity_of(self, kind: str, key: str) -> Entity | None:
        query = (
            select(entities)
            .join(members, members.c.entity_id == entities.c.id)
            .where(members.c.kind == kind, members.c.key == key)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _entity(row) if row else None

    def members(self, entity_id: str) -> list[Member]:
        query = (
            select(members)
            .where(members.c.entity_id == entity_id)
            .order_by(members.c.source_system, members.c.kind, members.c.key)
        )
        with self.engine.connect() as conn:
            return [
                Member(r.entity_id, r.kind, r.key, r.source_system, r.method, r.confidence)
                for r in conn.execute(query)
            ]

    def members_of(self, entity_ids: Sequence[str]) -> list[Member]:
        out: list[Member] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(dict.fromkeys(entity_ids)):
                for r in conn.execute(select(members).where(members.c.entity_id.in_(chunk))):
                    out.append(
                        Member(r.entity_id, r.kind, r.key, r.source_system, r.method, r.confidence)
                    )
        return out

    def relations(self, entity_ids: Sequence[str]) -> list[Relation]:
        out: list[Relation] = []
        with self.engine.connect() as conn:
            for chunk in _chunks(entity_ids):
                query = (
                    select(edges)
                    .where(or_(edges.c.src.in_(chunk), edges.c.dst.in_(chunk)))
                    .order_by(edges.c.id)
                )
                out.extend(_relation(r) for r in conn.execute(query))
        # an edge between two chunk members would come twice
        return list(dict.fromkeys(out))

    def neighbourhood(self, entity_id: str, hops: int, limit: int = 500) -> Subgraph:
        return neighbourhood(self, entity_id, hops, limit)

    def path(self, a: str, b: str, max_hops: int = 4) -> list[Relation] | None:
        if self.entity(a) is None or self.entity(b) is None:
            return None
        if a == b:
            return []
        came_from: dict[str, Relation | None] = {a: None}
        frontier = [a]
        for _ in range(max_hops):
            reached = expand(came_from, self.relations(frontier))
            if b in came_from:
                return unwind(came_from, b)
            frontier = reached[:FRONTIER_CAP]
            if not frontier:
                break
        return None

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                "entities": conn.execute(select(func.count()).select_from(entities)).scalar_one(),
                "members": conn.execute(select(func.count()).select_from(members)).scalar_one(),
                "relations": conn.execute(select(func.count()).select_from(edges)).scalar_one(),
            }

    def close(self) -> None:
        self.engine.dispose()


def _wal(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
