"""Full-text search over the city's records (Chinese text segmented with jieba)."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from hub.search.documents import SEARCHABLE_KINDS, SearchDoc, SearchHit, SearchPage, document
from hub.search.index import SearchIndex
from hub.search.sqlite_fts import SqliteSearchIndex


def open_search(url: str) -> SearchIndex:
    """The search backend a URL names: ``sqlite:///path`` (embedded), or Elasticsearch by
    ``elasticsearch://host:port[/index]`` (``elasticsearch+https://`` for TLS) or
    ``http(s)://host:port[/index]``."""
    from hub.search.elastic import SCHEMES

    if url.split("://", 1)[0] in SCHEMES:
        from hub.search.elastic import ElasticSearchIndex

        return ElasticSearchIndex(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return SqliteSearchIndex(parsed.database or ":memory:")
    raise ValueError(f"CITYHUB_SEARCH_URL: unsupported search backend {parsed.drivername!r}")


__all__ = [
    "SEARCHABLE_KINDS",
    "SearchDoc",
    "SearchHit",
    "SearchIndex",
    "SearchPage",
    "SqliteSearchIndex",
    "document",
    "open_search",
]
