"""Build the knowledge graph from the store: resolve entities, read off relations, swap in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from hub.graph.interface import GraphStore
from hub.graph.relations import relations
from hub.graph.resolution import FIRM_KINDS, VEHICLE_KINDS, resolve
from hub.store import RecordStore
from schema.record import Record


@dataclass(frozen=True)
class BuildReport:
    records: int
    entities: int
    relations: int
    merged: int  # records that joined an entity described by another record


def all_records(store: RecordStore, page: int = 5000) -> Iterator[Record]:
    for kind in sorted(store.counts()):
        after = None
        while rows := store.page(kind, after=after, limit=page):
            yield from rows
            after = rows[-1].key


def build_graph(
    store: RecordStore,
    graph: GraphStore,
    *,
    secret: str,
    progress: Callable[[str], None] | None = None,
    position: int = 0,
) -> BuildReport:
    """The graph of every stored record; ``position``: the change feed's head read before
    the records, from where the feed's followers carry the graph on."""
    say = progress or (lambda _step: None)
    say("reading records")
    records = list(all_records(store))
    say("resolving entities")
    resolution = resolve(records, secret=secret)
    # A relation may point at an entity only known by code (a case about an unregistered
    # firm): it waits, pending, until that entity arrives through the feed.
    known = {e.id for e in resolution.entities}
    say("reading relations")
    stated = relations(
        records,
        resolution.entity_of,
        FIRM_KINDS,
        VEHICLE_KINDS,
        resolution.firm_named,
        unresolved=True,
    )
    edges = [r for r in stated if r.src in known and r.dst in known]
    pending = [r for r in stated if r.src not in known or r.dst not in known]
    say("writing graph")
    graph.replace(resolution.entities, resolution.members, edges, pending, position=position)
    return BuildReport(
        records=len(records),
        entities=len(resolution.entities),
        relations=len(edges),
        merged=len(records) - len(resolution.entities),
    )
