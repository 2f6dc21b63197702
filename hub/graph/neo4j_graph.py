"""The distributed knowledge graph: Neo4j over Bolt, through the official ``neo4j`` driver.

URL: ``neo4j://[user:password@]host:port[/database][?graph=NAME]`` (also ``bolt://``,
``neo4j+s://``, ``bolt+s://``). ``database`` is the Neo4j database (the server's default if
left out); ``graph`` names this hub's graph inside it (default ``city``), so several graphs —
a staging copy, a test's own — can share one database without seeing each other.

Model: ``(:Entity {g, id, type, label, resolved_by, confidence})`` nodes, joined by
relationships whose type is the relation's name (``LOCATED_IN``, ``OWNS_VEHICLE``, ...) with the
provenance as properties, and ``(:Member {g, kind, key, entity_id, ...})`` nodes for the records
behind each entity (not linked by relationships, so walks only cross relations).

Every statement is a constant with parameters. The one thing Cypher's grammar will not take as
a parameter is a variable-length pattern's upper bound: the shortest-path statements for each
bound are fixed here at import, from integers, never from input.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, LiteralString
from urllib.parse import parse_qs, unquote, urlsplit

from neo4j import Driver, GraphDatabase, RoutingControl

from hub.graph.model import Entity, GraphChange, Member, Relation, Subgraph
from hub.graph.relations import record_ref
from hub.graph.walk import neighbourhood

_BATCH = 2000
_HEAD_TTL_S = 1.0
MAX_HOPS = 8

_SCHEMA: tuple[LiteralString, ...] = (
    "CREATE CONSTRAINT cityhub_entity_id IF NOT EXISTS "
    "FOR (e:Entity) REQUIRE (e.g, e.id) IS UNIQUE",
    "CREATE CONSTRAINT cityhub_member_key IF NOT EXISTS "
    "FOR (m:Member) REQUIRE (m.g, m.kind, m.key) IS UNIQUE",
    "CREATE INDEX cityhub_member_entity IF NOT EXISTS FOR (m:Member) ON (m.g, m.entity_id)",
    "CREATE INDEX cityhub_entity_graph IF NOT EXISTS FOR (e:Entity) ON (e.g)",
    "CREATE INDEX cityhub_member_graph IF NOT EXISTS FOR (m:Member) ON (m.g)",
    "CREATE INDEX cityhub_pending_src IF NOT EXISTS FOR (p:PendingRelation) ON (p.g, p.src)",
    "CREATE INDEX cityhub_pending_dst IF NOT EXISTS FOR (p:PendingRelation) ON (p.g, p.dst)",
    "CREATE INDEX cityhub_pending_source IF NOT EXISTS "
    "FOR (p:PendingRelation) ON (p.g, p.source_kind, p.source_key)",
    "CREATE CONSTRAINT cityhub_graph_head IF NOT EXISTS FOR (h:GraphHead) REQUIRE h.name IS UNIQUE",
)
# The head names the generation a graph's readers use; a rebuild writes a new one beside it.
_HEAD: LiteralString = "MATCH (h:GraphHead {name: $name}) RETURN h.active AS active"
_FLIP: LiteralString = (
    "MERGE (h:GraphHead {name: $name}) WITH h, h.active AS old "
    "SET h.active = $new, h.position = $position RETURN old"
)
# the change feed's sequence up to which the graph holds every write, kept on its head
_POSITION: LiteralString = "MATCH (h:GraphHead {name: $name}) RETURN h.position AS position"
_ADVANCE: LiteralString = (
    "MERGE (h:GraphHead {name: $name}) ON CREATE SET h.active = $name "
    "SET h.position = CASE WHEN coalesce(h.position, 0) < $position THEN $position "
    "ELSE h.position END"
)
_DROP_HEAD: LiteralString = "MATCH (h:GraphHead {name: $name}) DELETE h"

_REL_FIELDS: LiteralString = (
    "startNode(r).id AS src, type(r) AS rel, endNode(r).id AS dst, "
    "r.source_system AS source_system, r.source_kind AS source_kind, "
    "r.source_key AS source_key, r.confidence AS confidence, r.seq AS seq"
)

_DELETE: tuple[LiteralString, ...] = (
    "MATCH (n:Member {g: $g}) WITH n LIMIT $n DELETE n RETURN count(*) AS gone",
    "MATCH (n:PendingRelation {g: $g}) WITH n LIMIT $n DELETE n RETURN count(*) AS gone",
    "MATCH (n:Entity {g: $g}) WITH n LIMIT $n DETACH DELETE n RETURN count(*) AS gone",
)
_CREATE_ENTITIES: LiteralString = (
    "UNWIND $rows AS r CREATE (:Entity {g: $g, id: r.id, type: r.type, label: r.label, "
    "resolved_by: r.resolved_by, confidence: r.confidence})"
)
_CREATE_MEMBERS: LiteralString = (
    "UNWIND $rows AS r CREATE (:Member {g: $g, entity_id: r.entity_id, kind: r.kind, "
    "key: r.key, source_system: r.source_system, method: r.method, confidence: r.confidence})"
)
# A relation's name becomes the relationship type (Cypher 5.26 dynamic types, parameterised).
_CREATE_RELATIONS: LiteralString = (
    "UNWIND $rows AS r "
    "MATCH (a:Entity {g: $g, id: r.src}) MATCH (b:Entity {g: $g, id: r.dst}) "
    "CREATE (a)-[:$(r.rel) {source_system: r.source_system, source_kind: r.source_kind, "
    "source_key: r.source_key, confidence: r.confidence, seq: r.seq}]->(b)"
)
# Incremental changes (the feed follower's), into the active generation.
_DROP_STATED: LiteralString = (
    "UNWIND $rows AS s MATCH (:Entity {g: $g, id: s.entity_id})-[r]-() "
    "WHERE r.source_kind = s.kind AND r.source_key = s.key WITH DISTINCT r DELETE r"
)
_DROP_MEMBERS: LiteralString = (
    "UNWIND $rows AS s MATCH (m:Member {g: $g, kind: s.kind, key: s.key}) WITH DISTINCT m DELETE m"
)
_DROP_ENTITIES: LiteralString = "UNWIND $ids AS id MATCH (e:Entity {g: $g, id: id}) DETACH DELETE e"
_MERGE_ENTITIES: LiteralString = (
    "UNWIND $rows AS r MERGE (e:Entity {g: $g, id: r.id}) SET e.type = r.type, "
    "e.label = r.label, e.resolved_by = r.resolved_by, e.confidence = r.confidence"
)
_MERGE_MEMBERS: LiteralString = (
    "UNWIND $rows AS r MERGE (m:Member {g: $g, kind: r.kind, key: r.key}) "
    "SET m.entity_id = r.entity_id, m.source_system = r.source_system, m.method = r.method, "
    "m.confidence = r.confidence"
)
_MERGE_RELATIONS: LiteralString = (
    "UNWIND $rows AS r "
    "MATCH (a:Entity {g: $g, id: r.src}) MATCH (b:Entity {g: $g, id: r.dst}) "
    "MERGE (a)-[x:$(r.rel) {source_kind: r.source_kind, source_key: r.source_key}]->(b) "
    "ON CREATE SET x.source_system = r.source_system, x.confidence = r.confidence, x.seq = r.seq"
)
_MEMBERS_OF_ENTITIES: LiteralString = (
    "UNWIND $ids AS id MATCH (m:Member {g: $g, entity_id: id}) RETURN m"
)
_MEMBERS_OF: LiteralString = (
    "UNWIND $rows AS s MATCH (m:Member {g: $g, kind: s.kind, key: s.key}) "
    "RETURN m.kind AS kind, m.key AS key, m.entity_id AS entity_id"
)
# Relations stated about an entity not held yet: (:PendingRelation) nodes, made relationships
# when the entity arrives (a case about a firm registered later).
_CREATE_PENDING: LiteralString = (
    "UNWIND $rows AS r CREATE (:PendingRelation {g: $g, src: r.src, rel: r.rel, dst: r.dst, "
    "source_system: r.source_system, source_kind: r.source_kind, source_key: r.source_key, "
    "confidence: r.confidence})"
)
_DROP_PENDING: LiteralString = (
    "UNWIND $rows AS s MATCH (p:PendingRelation {g: $g, source_kind: s.kind, source_key: s.key}) "
    "WITH DISTINCT p REMOVE p:PendingRelation SET p:RetiredRelation"
)
_PARK_PENDING: LiteralString = (
    "UNWIND $rows AS r WITH r WHERE NOT EXISTS { MATCH (:Entity {g: $g, id: r.src}) } "
    "OR NOT EXISTS { MATCH (:Entity {g: $g, id: r.dst}) } "
    "CREATE (:PendingRelation {g: $g, src: r.src, rel: r.rel, dst: r.dst, "
    "source_system: r.source_system, source_kind: r.source_kind, source_key: r.source_key, "
    "confidence: r.confidence})"
)
_REBIND: tuple[LiteralString, ...] = (
    "UNWIND $rows AS m MATCH (p:PendingRelation {g: $g, src: m.ref}) SET p.src = m.id",
    "UNWIND $rows AS m MATCH (p:PendingRelation {g: $g, dst: m.ref}) SET p.dst = m.id",
)
# A node deleted by one statement of a transaction can still be found through an index by a
# later one (which then fails on it): pending relations done with are relabelled, not deleted,
# and deleted by label in the transaction's last statement.
_RETIRE: LiteralString = "MATCH (p:RetiredRelation {g: $g}) DELETE p"
_PROMOTE: LiteralString = (
    "UNWIND $ids AS id CALL (id) { MATCH (p:PendingRelation {g: $g, src: id}) RETURN p "
    "UNION MATCH (p:PendingRelation {g: $g, dst: id}) RETURN p } WITH DISTINCT p "
    "MATCH (a:Entity {g: $g, id: p.src}) MATCH (b:Entity {g: $g, id: p.dst}) "
    "WITH p, a, b, p.rel AS rel, p.source_kind AS kind, p.source_key AS key, "
    "p.source_system AS system, p.confidence AS confidence "
    "MERGE (a)-[x:$(rel) {source_kind: kind, source_key: key}]->(b) "
    "ON CREATE SET x.source_system = system, x.confidence = confidence, x.seq = $seq "
    "WITH DISTINCT p REMOVE p:PendingRelation SET p:RetiredRelation"
)
_ENTITY: LiteralString = "MATCH (e:Entity {g: $g, id: $id}) RETURN e"
_ENTITIES: LiteralString = "UNWIND $ids AS id MATCH (e:Entity {g: $g, id: id}) RETURN e"
_ENTITY_OF: LiteralString = (
    "MATCH (m:Member {g: $g, kind: $kind, key: $key}) "
    "MATCH (e:Entity {g: $g, id: m.entity_id}) RETURN e"
)
_MEMBERS: LiteralString = (
    "MATCH (m:Member {g: $g, entity_id: $id}) RETURN m ORDER BY m.source_system, m.kind, m.key"
)
_RELATIONS: LiteralString = (
    "UNWIND $ids AS id MATCH (:Entity {g: $g, id: id})-[r]-() WITH DISTINCT r RETURN "
    + _REL_FIELDS
    + " ORDER BY seq"
)
_COUNTS: LiteralString = (
    "CALL () { MATCH (e:Entity {g: $g}) RETURN count(e) AS entities } "
    "CALL () { MATCH (m:Member {g: $g}) RETURN count(m) AS members } "
    "CALL () { MATCH (:Entity {g: $g})-[r]->() RETURN count(r) AS relations } "
    "RETURN entities, members, relations"
)


_DUMP_ENTITIES: LiteralString = "MATCH (e:Entity {g: $g}) RETURN e ORDER BY e.id"
_DUMP_MEMBERS: LiteralString = "MATCH (m:Member {g: $g}) RETURN m ORDER BY m.kind, m.key"
_DUMP_RELATIONS: LiteralString = (
    "MATCH (:Entity {g: $g})-[r]->() RETURN " + _REL_FIELDS + " ORDER BY seq"
)


def _path_query(hops: int) -> LiteralString:
    # Built once per bound from an int: Cypher takes no parameter for a pattern's length.
    bound: LiteralString = str(hops)  # an int's digits (mypy checks LiteralString as str)
    return (
        "MATCH (a:Entity {g: $g, id: $a}), (b:Entity {g: $g, id: $b}) "
        "MATCH p = shortestPath((a)-[*.." + bound + "]-(b)) "
        "UNWIND relationships(p) AS r RETURN " + _REL_FIELDS
    )


_PATHS: dict[int, LiteralString] = {h: _path_query(h) for h in range(1, MAX_HOPS + 1)}


def _chunks(items: Iterable[dict[str, Any]], size: int = _BATCH) -> Iterator[list[dict[str, Any]]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _entity(node: Any) -> Entity:
    return Entity(
        node["id"], node["type"], node["label"], node["resolved_by"], float(node["confidence"])
    )


def _member(m: Any) -> Member:
    return Member(
        m["entity_id"], m["kind"], m["key"], m["source_system"], m["method"], float(m["confidence"])
    )


def _relation(row: Any) -> Relation:
    return Relation(
        row["src"],
        row["rel"],
        row["dst"],
        row["source_system"],
        row["source_kind"],
        row["source_key"],
        float(row["confidence"]),
    )


def parse_url(url: str) -> tuple[str, tuple[str, str] | None, str | None, str]:
    """(driver URI, auth, database, graph name) of a ``neo4j://`` / ``bolt://`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in {"neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"}:
        raise ValueError(f"not a Neo4j URL: {parts.scheme}://")
    host = parts.hostname or "127.0.0.1"
    uri = f"{parts.scheme}://{host}:{parts.port or 7687}"
    auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
    database = parts.path.strip("/") or None
    graph = parse_qs(parts.query).get("graph", ["city"])[0]
    return uri, auth, database, graph


class Neo4jGraph:
    def __init__(self, url: str) -> None:
        uri, auth, self.database, self.graph = parse_url(url)
        self.driver: Driver = GraphDatabase.driver(uri, auth=auth)
        self._active: tuple[str, float] = (self.graph, float("-inf"))
        self.driver.verify_connectivity()
        for statement in _SCHEMA:
            self._write(statement)

    # -- plumbing --------------------------------------------------------------------------

    def _read(self, query: LiteralString, **params: Any) -> list[Any]:
        records, _, _ = self.driver.execute_query(
            query,
            parameters_={"g": self._generation(), **params},
            database_=self.database,
            routing_=RoutingControl.READ,
        )
        return records

    def _write(self, query: LiteralString, **params: Any) -> None:
        self.driver.execute_query(
            query, parameters_={"g": self.graph, **params}, database_=self.database
        )

    # -- the GraphStore interface ----------------------------------------------------------

    def replace(
        self,
        new_entities: Iterable[Entity],
        new_members: Iterable[Member],
        new_relations: Iterable[Relation],
        new_pending: Iterable[Relation] = (),
        *,
        position: int = 0,
    ) -> None:
        # The new graph goes into a fresh generation in batches of small transactions (one
        # giant transaction outgrows the heap and the transaction timeout at city size), then
        # the head flips to it in one small transaction: readers see the old graph or the new.
        new = f"{self.graph}#{uuid.uuid4().hex[:12]}"
        try:
            for statement, rows in (
                (_CREATE_ENTITIES, (e.__dict__ for e in new_entities)),
                (_CREATE_MEMBERS, (m.__dict__ for m in new_members)),
                (
                    _CREATE_RELATIONS,
                    ({**r.__dict__, "seq": i} for i, r in enumerate(new_relations)),
                ),
                (_CREATE_PENDING, (r.__dict__ for r in new_pending)),
            ):
                for chunk in _chunks(rows):
                    self.driver.execute_query(statement, rows=chunk, g=new, database_=self.database)
        except Exception:
            self._delete_generation(new)
            raise
        records, _, _ = self.driver.execute_query(
            _FLIP, name=self.graph, new=new, position=position, database_=self.database
        )
        old = records[0]["old"] if records else None
        self._active = (new, time.monotonic())
        self._delete_generation(old or self.graph)

    def update(self, change: GraphChange) -> None:
        # the head read afresh: a rebuild in another worker may have flipped it a moment ago
        records, _, _ = self.driver.execute_query(
            _HEAD, name=self.graph, database_=self.database, routing_=RoutingControl.READ
        )
        g = records[0]["active"] if records else self.graph
        # after every edge a rebuild wrote (those are numbered from 0), in the order written
        seq = time.time_ns()
        steps: list[tuple[LiteralString, dict[str, Any]]] = [
            (_DROP_STATED, {"rows": [{"entity_id": e, "kind": k, "key": key}
                                     for e, k, key in dict.fromkeys(change.sources)]}),
            (_DROP_MEMBERS, {"rows": [{"kind": k, "key": key} for k, key in change.gone_members]}),
            (_DROP_ENTITIES, {"ids": list(change.gone_entities)}),
            (_MERGE_ENTITIES, {"rows": [e.__dict__ for e in change.entities]}),
            (_MERGE_MEMBERS, {"rows": [m.__dict__ for m in change.members]}),
            (_DROP_PENDING, {"rows": [{"kind": k, "key": key}
                                      for k, key in {(k, key) for _e, k, key in change.sources}]}),
            (_MERGE_RELATIONS, {"rows": [{**r.__dict__, "seq": seq + i}
                                         for i, r in enumerate(change.relations)]}),
            *((rebind, {"rows": [{"ref": record_ref(m.kind, m.key), "id": m.entity_id}
                                 for m in change.members]})
              for rebind in _REBIND),
            (_PROMOTE, {"ids": list({*(e.id for e in change.entities),
                                     *(m.entity_id for m in change.members)}),
                        "seq": seq - 1}),
            (_PARK_PENDING, {"rows": [r.__dict__ for r in dict.fromkeys(change.relations)]}),
        ]  # fmt: skip

        def work(tx: Any) -> None:
            for statement, params in steps:
                if next(iter(params.values())):
                    tx.run(statement, g=g, **params).consume()
            tx.run(_RETIRE, g=g).consume()
            if change.position is not None:
                tx.run(_ADVANCE, name=self.graph, position=change.position).consume()

        with self.driver.session(database=self.database) as session:
            session.execute_write(work)

    def position(self) -> int:
        records, _, _ = self.driver.execute_query(
            _POSITION, name=self.graph, database_=self.database, routing_=RoutingControl.READ
        )
        return int(records[0]["position"] or 0) if records else 0

    def entity_ids_of(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        rows = [{"kind": k, "key": key} for k, key in dict.fromkeys(refs)]
        if not rows:
            return {}
        found = self._read(_MEMBERS_OF, rows=rows)
        return {(r["kind"], r["key"]): r["entity_id"] for r in found}

    def _delete_generation(self, generation: str) -> None:
        with self.driver.session(database=self.database) as session:
            for statement in _DELETE:
                while session.run(statement, g=generation, n=10_000).single(strict=True)[0]:
                    pass

    def _generation(self) -> str:
        """The graph generation readers use now (re-read from the head every second)."""
        active, read_at = self._active
        if time.monotonic() - read_at > _HEAD_TTL_S:
            records, _, _ = self.driver.execute_query(
                _HEAD, name=self.graph, database_=self.database, routing_=RoutingControl.READ
            )
            active = records[0]["active"] if records else self.graph
            self._active = (active, time.monotonic())
        return active

    def entity(self, entity_id: str) -> Entity | None:
        rows = self._read(_ENTITY, id=entity_id)
        return _entity(rows[0]["e"]) if rows else None

    def entities(self, ids: Sequence[str]) -> dict[str, Entity]:
        if not ids:
            return {}
        return {(e := _entity(row["e"])).id: e for row in self._read(_ENTITIES, ids=list(ids))}

    def entity_of(self, kind: str, key: str) -> Entity | None:
        rows = self._read(_ENTITY_OF, kind=kind, key=key)
        return _entity(rows[0]["e"]) if rows else None

    def members(self, entity_id: str) -> list[Member]:
        return [_member(row["m"]) for row in self._read(_MEMBERS, id=entity_id)]

    def members_of(self, entity_ids: Sequence[str]) -> list[Member]:
        if not entity_ids:
            return []
        rows = self._read(_MEMBERS_OF_ENTITIES, ids=list(dict.fromkeys(entity_ids)))
        return [_member(row["m"]) for row in rows]

    def relations(self, entity_ids: Sequence[str]) -> list[Relation]:
        if not entity_ids:
            return []
        rows = self._read(_RELATIONS, ids=list(dict.fromkeys(entity_ids)))
        return list(dict.fromkeys(_relation(r) for r in rows))

    def neighbourhood(self, entity_id: str, hops: int, limit: int = 500) -> Subgraph:
        return neighbourhood(self, entity_id, hops, limit)

    def path(self, a: str, b: str, max_hops: int = 4) -> list[Relation] | None:
        if self.entity(a) is None or self.entity(b) is None:
            return None
        if a == b:
            return []
        if max_hops < 1:
            return None
        rows = self._read(_PATHS[min(max_hops, MAX_HOPS)], a=a, b=b)
        return [_relation(r) for r in rows] if rows else None

    def counts(self) -> dict[str, int]:
        row = self._read(_COUNTS)[0]
        return {k: int(row[k]) for k in ("entities", "members", "relations")}

    def dump(self) -> tuple[list[Entity], list[Member], list[Relation]]:
        """The whole graph, for moving it to another backend."""
        ents = [_entity(row["e"]) for row in self._read(_DUMP_ENTITIES)]
        mems = [_member(row["m"]) for row in self._read(_DUMP_MEMBERS)]
        rels = [_relation(row) for row in self._read(_DUMP_RELATIONS)]
        return ents, mems, rels

    def drop(self) -> None:
        """Delete this graph (its namespace and every generation of it) from the database."""
        self._delete_generation(self._generation())
        self.driver.execute_query(_DROP_HEAD, name=self.graph, database_=self.database)
        self._active = (self.graph, time.monotonic())

    def close(self) -> None:
        self.driver.close()
