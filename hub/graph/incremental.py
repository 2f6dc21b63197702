"""Keep the knowledge graph current record by record, as the change feed reports writes.

The same rules as a full build (:mod:`hub.graph.build`): a changed record joins the entity its
strong identity, its registry reference or its firm's name gives it; the entities it left
and joined are redone from their member records; the relations it states are read again. Firm
grouping depends on every firm, so the firms are held as a read model (:class:`FirmLinker`
over the store's firm records), refreshed from the store whenever a firm record changes.

Every update is computed from the store's current rows, never from the feed entry, so
applying the same records twice, or two workers applying them at once, ends in the same graph.
Relations from older records to an entity that did not exist yet (a case filed about a firm
registered later) wait in the graph as pending, and become relations when it arrives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from hub.graph.interface import GraphStore
from hub.graph.linking import FirmLinker
from hub.graph.model import Entity, GraphChange, Member
from hub.graph.names import brand_key, name_key
from hub.graph.relations import relations, targets
from hub.graph.resolution import (
    CONFIDENCE,
    FIRM_KINDS,
    VEHICLE_KINDS,
    _strong_identity,
    entity_label,
    entity_type,
    resolve,
)
from hub.store import RecordStore
from schema.record import Record

Ref = tuple[str, str]


@dataclass(frozen=True)
class GraphUpdate:
    records: int  # changed records applied
    entities: int  # entities written (new or redone)
    gone: int  # entities removed (merged into another, or their records gone)
    relations: int  # relations read off the changed records


class _EntityOf(dict[Ref, str]):
    """(kind, key) → entity id: this change's new memberships, else what the graph holds
    (looked up on first use)."""

    def __init__(self, graph: GraphStore, known: dict[Ref, str]) -> None:
        super().__init__(known)
        self.graph = graph
        self.missing: set[Ref] = set()  # looked up, and not in the graph

    def prefetch(self, refs: Iterable[Ref]) -> None:
        """Look up many at once (the records' relation targets) before they are asked for."""
        wanted = [ref for ref in dict.fromkeys(refs) if ref not in self]
        self.missing |= set(wanted)
        for ref, entity_id in self.graph.entity_ids_of(wanted).items():
            self[ref] = entity_id
            self.missing.discard(ref)

    # dict.get is overloaded on the default; this one answers str | None for both
    def get(self, ref: Ref, default: str | None = None) -> str | None:  # type: ignore[override]
        if ref in self.missing:
            return default
        if ref not in self:
            found = self.graph.entity_ids_of([ref]).get(ref)
            if found is None:
                return default
            self[ref] = found
        return self[ref]


class GraphUpdater:
    def __init__(self, store: RecordStore, graph: GraphStore, *, secret: str) -> None:
        self.store = store
        self.graph = graph
        self.secret = secret
        self._firms: FirmLinker | None = None

    def firms(self) -> FirmLinker:
        """The firm read model, read from the store on first use."""
        if self._firms is None:
            self._firms = FirmLinker(r for kind in FIRM_KINDS for r in self.store.scan(kind))
        return self._firms

    def apply(self, refs: Iterable[Ref], *, position: int | None = None) -> GraphUpdate:
        """Bring the graph up to the store for these records (written, or gone); ``position``:
        the feed's sequence of the last of them, kept with the graph."""
        wanted = list(dict.fromkeys(refs))
        current = _read(self.store, wanted)
        firms = self.firms()
        touched_firms = [ref for ref in wanted if ref[0] in FIRM_KINDS]
        if touched_firms:
            old_keys = _name_keys(firms.records[r] for r in touched_firms if r in firms.records)
            records = dict(firms.records)
            for ref in touched_firms:
                records.pop(ref, None)
                if ref in current:
                    records[ref] = current[ref]
            firms = self._firms = FirmLinker(records.values())
            # a firm's arrival can settle which firm a loose record of its name belongs to
            keys = old_keys | _name_keys(current[r] for r in touched_firms if r in current)
            wanted += [
                ref
                for ref, r in firms.records.items()
                if ref not in set(wanted) and _name_keys([r]) & keys
            ]
            current.update({ref: firms.records[ref] for ref in wanted if ref in firms.records})

        before = self.graph.entity_ids_of(wanted)
        after: dict[Ref, tuple[str, str]] = {}  # ref → (entity id, method)
        for ref in wanted:
            if ref in current:
                after[ref] = self._identity(current[ref], firms)
        moved = [ref for ref in wanted if before.get(ref) != after.get(ref, (None,))[0]]

        # every entity a record left or joined is redone from its members
        affected = {before[r] for r in moved if r in before} | {after[r][0] for r in moved}
        affected |= {after[r][0] for r in wanted if r in after}
        members_now: dict[str, dict[Ref, Member]] = defaultdict(dict)
        for m in self.graph.members_of(sorted(affected)):
            members_now[m.entity_id][(m.kind, m.key)] = m
        for ref in wanted:
            if ref in before:
                members_now[before[ref]].pop(ref, None)
        change = GraphChange(position=position)
        for ref, (entity_id, how) in after.items():
            member = Member(
                entity_id, ref[0], ref[1], current[ref].source_system, how, CONFIDENCE[how]
            )
            members_now[entity_id][ref] = member
            change.members.append(member)
        change.gone_members = [ref for ref in wanted if ref in before and ref not in after]
        change.gone_entities = sorted(e for e in affected if not members_now.get(e))
        # relations other records stated about a vanished entity are read again below
        restated = {
            (r.source_kind, r.source_key) for r in self.graph.relations(change.gone_entities)
        }
        held = {ref for e in affected for ref in members_now.get(e, {})}
        current.update(_read(self.store, [r for r in held if r not in current]))
        for entity_id in sorted(affected - set(change.gone_entities)):
            change.entities.append(self._entity(entity_id, members_now[entity_id], current))

        sources = [r for r in wanted if r in current] + sorted(restated - set(wanted))
        current.update(_read(self.store, [r for r in sources if r not in current]))
        known = {ref: entity_id for ref, (entity_id, _how) in after.items()}
        entity_of = _EntityOf(self.graph, known)
        stated_by = [current[r] for r in sources if r in current]
        entity_of.prefetch(targets(stated_by))
        previous = self.graph.entity_ids_of([r for r in sources if r not in before])
        change.sources = [
            (owner, kind, key)
            for (kind, key) in sources
            if (owner := before.get((kind, key)) or previous.get((kind, key)))
        ]
        # a relation is stated by a record at either end; the new entity's end is redone too
        change.sources += [(known[r], *r) for r in sources if r in known]
        change.sources += [(before[r], *r) for r in change.gone_members]
        change.relations = relations(
            stated_by,
            entity_of,
            FIRM_KINDS,
            VEHICLE_KINDS,
            firms.resolution.firm_named,
            unresolved=True,
        )
        self.graph.update(change)
        return GraphUpdate(
            records=len(wanted),
            entities=len(change.entities),
            gone=len(change.gone_entities),
            relations=len(change.relations),
        )

    def _identity(self, record: Record, firms: FirmLinker) -> tuple[str, str]:
        ref = (record.kind, record.key)
        if record.kind in FIRM_KINDS:
            entity_id = firms.entity_of(*ref)
            if entity_id:
                return entity_id, firms.methods.get(ref, "record")
        found = _strong_identity(record, self.secret)
        if found:
            return found
        return f"{entity_type(record.kind)}:{record.key}", "record"

    def _entity(
        self, entity_id: str, members: dict[Ref, Member], records: dict[Ref, Record]
    ) -> Entity:
        group = [records[ref] for ref in sorted(members) if ref in records]
        local = resolve(group, secret=self.secret).entities
        mine = next((e for e in local if e.id == entity_id), None)
        kind_type = entity_id.split(":", 1)[0]
        return Entity(
            entity_id,
            kind_type,
            entity_label(kind_type, [r.attrs for r in group], group[0].key) if group else entity_id,
            mine.resolved_by if mine else "record",
            min(m.confidence for m in members.values()),
        )


def _read(store: RecordStore, refs: Iterable[Ref]) -> dict[Ref, Record]:
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, key in refs:
        by_kind[kind].append(key)
    found: dict[Ref, Record] = {}
    for kind, keys in by_kind.items():
        for key, record in store.get_many(kind, keys).items():
            found[(kind, key)] = record
    return found


def _name_keys(records: Iterable[Record]) -> set[str]:
    keys: set[str] = set()
    for r in records:
        if r.kind in FIRM_KINDS and r.attrs.get("name"):
            name = str(r.attrs["name"])
            keys |= {f"n:{name_key(name)}", f"b:{brand_key(name)}"}
    return keys
