"""Moving a hub between backends: copy the store, the knowledge graph and the search index from
one set of URLs to another, and check the counts at the end.

- store: every table of the store's schema (records, rejected input, ingestion state, ...) row
  for row, after bringing the target's schema to the newest migration; the target must be
  empty. Times are carried as UTC; PostgreSQL sequences are moved past the copied ids.
- graph: entities, members and relations, as they are (one atomic replace on the target).
- search: the indexed documents. Their bodies are taken from the source store's records when
  it has them (the indexes keep bodies segmented), else from the index's own text.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, MetaData, Table, func, select
from sqlalchemy.engine import Engine, make_url

from hub.graph import Entity, GraphStore, Member, Relation, open_graph
from hub.graph.sqlite_graph import SqliteGraph, edges, entities, members
from hub.search import SearchDoc, SearchIndex, document, open_search
from hub.search.segment import unsegment
from hub.store import RecordStore

ROLES = ("store", "graph", "search")
_PAGE = 2000


class MigrationError(Exception):
    """The migration cannot go on or did not add up; the message fits on one line."""


@dataclass
class Counted:
    source: dict[str, int] = field(default_factory=dict)
    target: dict[str, int] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return self.source == self.target


@dataclass
class MigrationReport:
    parts: dict[str, Counted] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return all(part.equal for part in self.parts.values())


Say = Callable[[str], None]


def _quiet(_message: str) -> None:
    pass


# -- store ---------------------------------------------------------------------------------


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value


def _tables(engine: Engine) -> dict[str, Table]:
    meta = MetaData()
    meta.reflect(engine)
    return {t.name: t for t in meta.sorted_tables if t.name != "alembic_version"}


def _table_counts(engine: Engine, tables: dict[str, Table]) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for name, t in tables.items()
        }


def copy_store(source_url: str, target_url: str, say: Say = _quiet) -> Counted:
    source = RecordStore.from_url(source_url)
    target = RecordStore.from_url(target_url)
    try:
        source.ping()
        target.ping()
        source.migrate()
        target.migrate()
        src_tables = _tables(source.engine)
        dst_tables = _tables(target.engine)
        missing = sorted(set(src_tables) - set(dst_tables))
        if missing:
            raise MigrationError(f"target store lacks tables {missing}")
        busy = {n: c for n, c in _table_counts(target.engine, dst_tables).items() if c}
        if busy:
            raise MigrationError(f"target store is not empty: {busy}")
        with source.engine.connect() as src, target.engine.begin() as dst:
            for name, table in src_tables.items():
                say(f"store: {name}")
                out = dst_tables[name]
                columns = [c.name for c in table.columns]
                order = list(table.primary_key.columns) or list(table.columns)
                rows = src.execution_options(yield_per=_PAGE).execute(
                    select(table).order_by(*order)
                )
                for chunk in rows.partitions(_PAGE):
                    dst.execute(
                        out.insert(),
                        [{c: _utc(v) for c, v in zip(columns, r, strict=True)} for r in chunk],
                    )
            if target.dialect == "postgresql":
                for name, table in dst_tables.items():
                    pk = list(table.primary_key.columns)
                    if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement:
                        # the next id after the copied ones (no-op without a sequence)
                        following = select(func.coalesce(func.max(pk[0]), 0) + 1)
                        sequence = func.pg_get_serial_sequence(name, pk[0].name)
                        dst.execute(
                            select(func.setval(sequence, following.scalar_subquery(), False))
                        )
        return Counted(
            _table_counts(source.engine, src_tables), _table_counts(target.engine, dst_tables)
        )
    finally:
        source.close()
        target.close()


# -- graph ---------------------------------------------------------------------------------


def _dump_graph(graph: GraphStore) -> tuple[list[Entity], list[Member], list[Relation]]:
    if isinstance(graph, SqliteGraph):
        with graph.engine.connect() as conn:
            ents = [
                Entity(r.id, r.type, r.label, r.resolved_by, r.confidence)
                for r in conn.execute(select(entities).order_by(entities.c.id))
            ]
            mems = [
                Member(r.entity_id, r.kind, r.key, r.source_system, r.method, r.confidence)
                for r in conn.execute(select(members).order_by(members.c.kind, members.c.key))
            ]
            rels = [
                Relation(
                    r.src,
                    r.rel,
                    r.dst,
                    r.source_system,
                    r.source_kind,
                    r.source_key,
                    r.confidence,
                )
                for r in conn.execute(select(edges).order_by(edges.c.id))
            ]
        return ents, mems, rels
    from hub.graph.neo4j_graph import Neo4jGraph  # the driver is loaded only when used

    if isinstance(graph, Neo4jGraph):
        return graph.dump()
    raise MigrationError(f"cannot read the whole of a {type(graph).__name__}")


def copy_graph(source_url: str, target_url: str, say: Say = _quiet) -> Counted:
    source = open_graph(source_url)
    target = open_graph(target_url)
    try:
        say("graph: reading")
        ents, mems, rels = _dump_graph(source)
        say(f"graph: writing {len(ents):,} entities, {len(rels):,} relations")
        target.replace(ents, mems, rels)
        return Counted(source.counts(), target.counts())
    finally:
        source.close()
        target.close()


# -- search --------------------------------------------------------------------------------


def _dump_search(index: SearchIndex, url: str) -> Iterator[tuple[str, str, str, str]]:
    """(kind, key, title, body as the index has it) of every document."""
    dump = getattr(index, "dump", None)
    if dump is not None:
        yield from dump()
        return
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise MigrationError(f"cannot read the whole of a {type(index).__name__}")
    db = sqlite3.connect(parsed.database)
    try:
        rows = db.execute(
            "SELECT k.kind, k.key, k.title, t.body FROM search_keys k "
            "JOIN search_text t ON t.rowid = k.id ORDER BY k.kind, k.key"
        )
        for kind, key, title, body in rows:
            yield kind, key, title, unsegment(body or "")
    finally:
        db.close()


def copy_search(
    source_url: str, target_url: str, store_url: str | None = None, say: Say = _quiet
) -> Counted:
    source = open_search(source_url)
    target = open_search(target_url)
    store = RecordStore.from_url(store_url) if store_url else None
    try:
        say("search: copying documents")

        def docs() -> Iterator[SearchDoc]:
            batch: list[tuple[str, str, str, str]] = []
            for row in _dump_search(source, source_url):
                batch.append(row)
                if len(batch) >= _PAGE:
                    yield from _complete(batch, store)
                    batch = []
            yield from _complete(batch, store)

        target.index(docs())
        return Counted({"documents": source.count()}, {"documents": target.count()})
    finally:
        source.close()
        target.close()
        if store is not None:
            store.close()


def _complete(rows: list[tuple[str, str, str, str]], store: RecordStore | None) -> list[SearchDoc]:
    found: dict[tuple[str, str], SearchDoc] = {}
    if store is not None:
        by_kind: dict[str, list[str]] = {}
        for kind, key, _, _ in rows:
            by_kind.setdefault(kind, []).append(key)
        for kind, keys in by_kind.items():
            for key, record in store.get_many(kind, keys).items():
                if (doc := document(record)) is not None:
                    found[(kind, key)] = doc
    out = []
    for kind, key, title, body in rows:
        doc = found.get((kind, key))
        out.append(SearchDoc(kind, key, title, doc.body if doc else body))
    return out


# -- all -----------------------------------------------------------------------------------


def migrate(
    source: dict[str, str],
    target: dict[str, str],
    what: tuple[str, ...] = ROLES,
    say: Say = _quiet,
) -> MigrationReport:
    """Copy each role in ``what`` from ``source[role]`` to ``target[role]``."""
    report = MigrationReport()
    for role in what:
        if role not in source or role not in target:
            raise MigrationError(f"no {role} URL on both sides")
        if source[role] == target[role]:
            raise MigrationError(f"{role}: source and target are the same ({source[role]})")
    if "store" in what:
        report.parts["store"] = copy_store(source["store"], target["store"], say)
    if "graph" in what:
        report.parts["graph"] = copy_graph(source["graph"], target["graph"], say)
    if "search" in what:
        report.parts["search"] = copy_search(
            source["search"], target["search"], source.get("store"), say
        )
    return report


def report_json(report: MigrationReport) -> str:
    return json.dumps(
        {
            name: {"source": part.source, "target": part.target, "equal": part.equal}
            for name, part in report.parts.items()
        },
        ensure_ascii=False,
    )
