"""The distributed search backend: Elasticsearch 9, through the official ``elasticsearch``
client.

URL: ``elasticsearch://[user:password@]host:port[/index][?shards=N&replicas=N]`` (plain HTTP;
``elasticsearch+https://`` for TLS), or directly ``http(s)://host:port[/index]``. The index is
``cityhub`` unless the path names another.

Chinese text: Elastic's distribution on Maven Central carries a minimal module set — no
``analysis-common``, no ``smartcn``/``ik`` — and its ``standard`` analyzer splits Chinese into
single characters. So the hub segments text itself with jieba (``hub.search.segment``, the
same as the embedded index) and the index splits the segmented text on whitespace. The index
template (mappings, analyzers, shard counts) is the backend's own, put on every open.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from elasticsearch import Elasticsearch, helpers

from hub.search.documents import SearchDoc, SearchHit, SearchPage
from hub.search.segment import segmented, tokens, unsegment

SCHEMES = {"elasticsearch", "elasticsearch+http", "elasticsearch+https", "http", "https"}
# Title words weigh ten times body words; words found inside longer words weigh less (as in
# the embedded index's BM25 weights).
_FIELDS = ["title_words^10", "body_words", "inner^0.5"]
_WORDS = {"type": "text", "analyzer": "whitespace", "norms": True}
_STORED = {"type": "keyword", "index": False, "doc_values": False}  # kept, not searched
_PROPERTIES: dict[str, dict[str, object]] = {
    "kind": {"type": "keyword"},
    "key": {"type": "keyword"},
    "title": _STORED,
    "body": _STORED,
    "title_words": _WORDS,
    "body_words": _WORDS,
    "inner": _WORDS,
    "facets": {"type": "object", "enabled": False},  # kept, not searched (row filters)
}


def parse_url(url: str) -> tuple[str, tuple[str, str] | None, str, int, int]:
    """(HTTP endpoint, basic auth, index, shards, replicas) of a search URL."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"not an Elasticsearch URL: {parts.scheme}://")
    scheme = "https" if parts.scheme.endswith("https") else "http"
    endpoint = f"{scheme}://{parts.hostname or '127.0.0.1'}:{parts.port or 9200}"
    auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
    index = parts.path.strip("/") or "cityhub"
    query = parse_qs(parts.query)
    shards = int(query.get("shards", ["1"])[0])
    replicas = int(query.get("replicas", ["1"])[0])
    return endpoint, auth, index, shards, replicas


def _doc_id(kind: str, key: str) -> str:
    return f"{kind}/{key}"


class ElasticSearchIndex:
    def __init__(self, url: str) -> None:
        endpoint, auth, self.index_name, shards, replicas = parse_url(url)
        self.client = Elasticsearch(endpoint, basic_auth=auth, request_timeout=60)
        self._ensure_index(shards, replicas)

    def _ensure_index(self, shards: int, replicas: int) -> None:
        self.client.indices.put_index_template(
            name=f"cityhub-search-{self.index_name}",
            index_patterns=[self.index_name],
            priority=500,
            template={
                "settings": {"number_of_shards": shards, "number_of_replicas": replicas},
                "mappings": {"dynamic": "strict", "properties": _PROPERTIES},
            },
            meta={"owner": "cityhub", "about": "jieba-segmented records, whitespace-split"},
        )
        if self.client.indices.exists(index=self.index_name):
            # an index made by an older hub gets the fields added since
            self.client.indices.put_mapping(index=self.index_name, properties=_PROPERTIES)
        else:
            self.client.options(ignore_status=400).indices.create(index=self.index_name)
        self.client.cluster.health(index=self.index_name, wait_for_status="yellow", timeout="30s")

    # -- writing -------------------------------------------------------------------------

    def _actions(self, docs: Iterable[SearchDoc]) -> Iterator[dict[str, Any]]:
        for doc in docs:
            title, title_inner = segmented(doc.title)
            body, body_inner = segmented(doc.body)
            yield {
                "_op_type": "index",
                "_index": self.index_name,
                "_id": _doc_id(doc.kind, doc.key),
                "_source": {
                    "kind": doc.kind,
                    "key": doc.key,
                    "title": doc.title,
                    "body": doc.body,
                    "title_words": title,
                    "body_words": body,
                    "inner": f"{title_inner} {body_inner}".strip(),
                    "facets": None if doc.facets is None else dict(doc.facets),
                },
            }

    def index(self, docs: Iterable[SearchDoc]) -> int:
        written = 0
        for ok, _item in helpers.streaming_bulk(
            self.client, self._actions(docs), chunk_size=1000, raise_on_error=True
        ):
            written += bool(ok)
        self.client.indices.refresh(index=self.index_name)
        return written

    def remove(self, kind: str, keys: Sequence[str]) -> int:
        actions = (
            {"_op_type": "delete", "_index": self.index_name, "_id": _doc_id(kind, key)}
            for key in keys
        )
        removed = 0
        for ok, item in helpers.streaming_bulk(
            self.client, actions, raise_on_error=False, raise_on_exception=True
        ):
            removed += ok and item["delete"].get("result") == "deleted"
        self.client.indices.refresh(index=self.index_name)
        return removed

    # -- reading -------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        kinds: Sequence[str] | None = None,
        limit: int = 20,
        offset: int = 0,
        any_word: bool = False,
    ) -> SearchPage:
        words = list(dict.fromkeys(tokens(query)))
        if not words:
            return SearchPage(hits=[], total=0)
        page = SearchPage(hits=[], total=0)
        if not any_word or len(words) == 1:
            page = self._run(words, "must", kinds, limit, offset)
        if page.total == 0 and len(words) > 1:
            page = replace(self._run(words, "should", kinds, limit, offset), every_word=False)
        return page

    def _run(
        self, words: list[str], occur: str, kinds: Sequence[str] | None, limit: int, offset: int
    ) -> SearchPage:
        clauses = [
            {"multi_match": {"query": w, "fields": _FIELDS, "type": "most_fields"}} for w in words
        ]
        boolean: dict[str, Any] = {occur: clauses}
        if occur == "should":
            boolean["minimum_should_match"] = 1
        if kinds:
            boolean["filter"] = [{"terms": {"kind": list(kinds)}}]
        result = self.client.search(
            index=self.index_name,
            query={"bool": boolean},
            from_=offset,
            size=limit,
            sort=[{"_score": "desc"}, {"kind": "asc"}, {"key": "asc"}],
            track_scores=True,
            track_total_hits=True,
            source_includes=["kind", "key", "title", "facets"],
            highlight={
                "fields": {
                    "body_words": {
                        "pre_tags": ["["],
                        "post_tags": ["]"],
                        "fragment_size": 60,
                        "number_of_fragments": 1,
                        "no_match_size": 60,
                    }
                }
            },
        )
        hits = []
        for hit in result["hits"]["hits"]:
            src = hit["_source"]
            fragments = hit.get("highlight", {}).get("body_words") or [""]
            hits.append(
                SearchHit(
                    kind=src["kind"],
                    key=src["key"],
                    title=src["title"],
                    snippet=unsegment(fragments[0]),
                    score=float(hit["_score"] or 0.0),
                    facets=src.get("facets"),
                )
            )
        return SearchPage(hits=hits, total=int(result["hits"]["total"]["value"]))

    def count(self) -> int:
        return int(self.client.count(index=self.index_name)["count"])

    def dump(self) -> Iterator[tuple[str, str, str, str]]:
        """(kind, key, title, body) of every document, for moving them to another backend."""
        for hit in helpers.scan(
            self.client,
            index=self.index_name,
            query={"query": {"match_all": {}}},
            _source_includes=["kind", "key", "title", "body"],
            size=2000,
        ):
            src = hit["_source"]
            yield src["kind"], src["key"], src["title"], src.get("body", "")

    def drop(self) -> None:
        """Delete the index and its template."""
        self.client.options(ignore_status=404).indices.delete(index=self.index_name)
        self.client.options(ignore_status=404).indices.delete_index_template(
            name=f"cityhub-search-{self.index_name}"
        )

    def close(self) -> None:
        self.client.close()
