"""Derived views of the store: the knowledge graph and the search index, rebuilt from it in
full (``cityhub index``) and kept current between rebuilds by following the change feed.

The follower applies every "record" entry of the feed in each worker, computing each update
from the store's current rows (never the entry), so the updates are idempotent: N workers on
shared backends (one SQLite graph file, one Neo4j, one Elasticsearch) each write the same
graph and documents, and whichever writes last writes the store's latest state. That needs no
lease and no hand-over; the price is N times the (small, per-change) work. The graph keeps
the feed's sequence it holds every write up to (set by a rebuild, advanced by followers), so
a worker starting later takes up what was written while none ran (a `cityhub sync` with the
hub down).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from starlette.concurrency import run_in_threadpool

from hub import feed
from hub.feed import FeedEntry, FeedFollower
from hub.graph import BuildReport, GraphStore, build_graph
from hub.graph.build import all_records
from hub.graph.incremental import GraphUpdate, GraphUpdater
from hub.search import SEARCHABLE_KINDS, SearchIndex, document
from hub.store import RecordStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexReport:
    graph: BuildReport
    documents: int


def reindex_search(store: RecordStore, index: SearchIndex) -> int:
    docs = (
        doc
        for record in all_records(store)
        if record.kind in SEARCHABLE_KINDS and (doc := document(record)) is not None
    )
    return index.index(docs)


def rebuild(
    store: RecordStore,
    graph: GraphStore,
    index: SearchIndex,
    *,
    secret: str,
    progress: Callable[[str], None] | None = None,
) -> IndexReport:
    # the feed's head before the records are read: what is written meanwhile, the followers
    # apply on top (idempotently)
    position = feed.head(store.engine)
    report = build_graph(store, graph, secret=secret, progress=progress, position=position)
    if progress:
        progress("indexing search")
    return IndexReport(graph=report, documents=reindex_search(store, index))


def update_search(store: RecordStore, index: SearchIndex, refs: Iterable[tuple[str, str]]) -> int:
    """Write the documents of these records as the store holds them now (remove the ones
    gone); returns how many were written or removed."""
    by_kind: dict[str, list[str]] = {}
    for kind, key in refs:
        if kind in SEARCHABLE_KINDS:
            by_kind.setdefault(kind, []).append(key)
    changed = 0
    for kind, keys in by_kind.items():
        found = store.get_many(kind, keys)
        docs = [doc for record in found.values() if (doc := document(record)) is not None]
        changed += index.index(docs) if docs else 0
        gone = [key for key in dict.fromkeys(keys) if key not in found]
        changed += index.remove(kind, gone) if gone else 0
    return changed


@dataclass(frozen=True)
class IndexUpdate:
    graph: GraphUpdate
    documents: int
    seconds: float


class IndexFollower:
    """Keeps the graph and the search index current from the feed's "record" entries."""

    def __init__(
        self, store: RecordStore, graph: GraphStore, index: SearchIndex, *, secret: str
    ) -> None:
        self.store = store
        self.index = index
        self.graph = GraphUpdater(store, graph, secret=secret)

    def apply(self, refs: Iterable[tuple[str, str]], *, position: int | None = None) -> IndexUpdate:
        """Bring the graph and the search index up to the store for these records;
        ``position``: the feed's sequence of the last, kept with the graph (search first, so
        a position kept is never ahead of either)."""
        started = time.perf_counter()
        wanted = list(dict.fromkeys(refs))
        documents = update_search(self.store, self.index, wanted)
        graph = self.graph.apply(wanted, position=position)
        return IndexUpdate(graph, documents, time.perf_counter() - started)

    async def take(self, entries: list[FeedEntry]) -> None:
        """The feed handler: a batch of "record" entries, applied off the event loop."""
        refs = [(e.kind, e.key) for e in entries if e.kind and e.key]
        if refs:
            done = await run_in_threadpool(partial(self.apply, refs, position=entries[-1].seq))
            log.debug(
                "index follower: %d records, %d entities, %d documents in %.3f s",
                done.graph.records,
                done.graph.entities,
                done.documents,
                done.seconds,
            )

    def follow(self, follower: FeedFollower) -> None:
        """Take the feed's "record" entries from where the graph was left (by a rebuild or a
        follower in any worker, before this one started), else from the follower's start."""
        held = self.graph.graph.position()
        follower.on("record", self.take, start=held or None)
