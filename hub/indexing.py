"""Derived views of the store: the knowledge graph and the search index, rebuilt from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hub.graph import BuildReport, GraphStore, build_graph
from hub.graph.build import all_records
from hub.search import SEARCHABLE_KINDS, SearchIndex, document
from hub.store import RecordStore


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
    report = build_graph(store, graph, secret=secret, progress=progress)
    if progress:
        progress("indexing search")
    return IndexReport(graph=report, documents=reindex_search(store, index))
