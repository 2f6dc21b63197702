"""The search conformance suite: every backend must pass it (SQLite FTS5, and a real
Elasticsearch started by scripts/test.sh)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.search import SearchDoc, SearchIndex, open_search
from hub.search.segment import tokens

DOCS = [
    SearchDoc(
        "FinanceFirm",
        "F1",
        "天津银昊融资租赁有限公司",
        "91120116MA05BBJ537 天津市滨海新区新港街道亚洲路310号 融资租赁",
    ),
    SearchDoc("FinanceFirm", "F2", "天津远融融资担保有限公司", "中塘镇中塘大街5号 融资担保"),
    SearchDoc(
        "NewsItem", "N1", "新河街道举办社区文化节", "新河街道社区文化节开幕，居民参与文艺汇演。"
    ),
    SearchDoc("ServiceItem", "S1", "不动产首次登记", "区规划和自然资源局 行政确认 不动产权证书"),
    SearchDoc("HazchemFirm", "H1", "天津远天石油化工有限公司", "硫酸 丙酮 临港经济区"),
]


ELASTICSEARCH_URL = os.environ.get("CITYHUB_TEST_ELASTICSEARCH_URL", "")


def elastic_index_url() -> str:
    """A fresh index on the test Elasticsearch (skips locally, fails under CI, if unset)."""
    if not ELASTICSEARCH_URL:
        if os.environ.get("CI"):
            pytest.fail(
                "CITYHUB_TEST_ELASTICSEARCH_URL is unset: run the suite with scripts/test.sh"
            )
        pytest.skip("CITYHUB_TEST_ELASTICSEARCH_URL is unset (scripts/test.sh starts it)")
    return f"{ELASTICSEARCH_URL.rstrip('/')}/t-{uuid.uuid4().hex[:12]}?replicas=0"


@pytest.fixture(params=["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    if request.param == "sqlite":
        idx = open_search(f"sqlite:///{tmp_path / 'search.db'}")
        idx.index(DOCS)
        yield idx
        idx.close()
        return
    from hub.search.elastic import ElasticSearchIndex

    es = ElasticSearchIndex(elastic_index_url())
    es.index(DOCS)
    yield es
    es.drop()
    es.close()


def keys(index: SearchIndex, query: str, **kw: object) -> list[str]:
    return [h.key for h in index.search(query, **kw).hits]  # type: ignore[arg-type]


def test_chinese_words_not_whitespace(index: SearchIndex) -> None:
    assert tokens("融资租赁有限公司") == ["融资", "租赁", "有限", "公司", "有限公司"]
    assert keys(index, "融资租赁") == ["F1"]  # both words must match
    assert set(keys(index, "融资")) == {"F1", "F2"}
    assert keys(index, "文化节") == ["N1"]
    assert keys(index, "有限") and "F1" in keys(index, "有限")  # a word inside 有限公司
    assert keys(index, "硫酸") == ["H1"]


def test_codes_and_case(index: SearchIndex) -> None:
    assert keys(index, "91120116MA05BBJ537") == ["F1"]
    assert keys(index, "91120116ma05bbj537") == ["F1"]


def test_ranking_title_beats_body(index: SearchIndex) -> None:
    index.index([SearchDoc("NewsItem", "N2", "远融公司动态", "一则与担保无关的消息")])
    hits = index.search("远融").hits
    assert [h.key for h in hits][:2] == ["F2", "N2"] or [h.key for h in hits][:2] == ["N2", "F2"]
    assert hits[0].score >= hits[1].score


def test_all_words_then_any(index: SearchIndex) -> None:
    assert keys(index, "融资 xyzzy") != []  # no doc has both: falls back to any word
    assert keys(index, "xyzzy") == []
    assert keys(index, "  ，。 ") == []


def test_any_word_when_asked(index: SearchIndex) -> None:
    every = index.search("融资 担保")
    either = index.search("融资 担保", any_word=True)
    assert every.every_word and not either.every_word
    assert {h.key for h in every.hits} < {h.key for h in either.hits}


def test_kinds_filter_and_paging(index: SearchIndex) -> None:
    assert keys(index, "融资", kinds=["NewsItem"]) == []
    first = index.search("天津", limit=1)
    second = index.search("天津", limit=1, offset=1)
    assert first.total == second.total >= 2
    assert first.hits[0].key != second.hits[0].key


def test_replace_and_remove(index: SearchIndex) -> None:
    index.index([SearchDoc("FinanceFirm", "F1", "天津新名称有限公司", "改名")])
    assert keys(index, "银昊") == []
    assert keys(index, "新名称") == ["F1"]
    assert index.count() == len(DOCS)
    assert index.remove("FinanceFirm", ["F1", "nope"]) == 1
    assert keys(index, "新名称") == [] and index.count() == len(DOCS) - 1


def test_snippets_mark_matches_without_segmentation_spaces(index: SearchIndex) -> None:
    hit = index.search("亚洲路").hits[0]
    assert "[亚洲]" in hit.snippet and "新港街道" in hit.snippet


def test_the_embedded_index_reopens_after_close(tmp_path: Path) -> None:
    # a hub app restarted in one process closes its stores at shutdown and searches again
    idx = open_search(f"sqlite:///{tmp_path / 'search.db'}")
    idx.index(DOCS)
    idx.close()
    idx.close()  # twice is harmless
    assert sorted(keys(idx, "融资")) == ["F1", "F2"]
    assert idx.count() == len(DOCS)
    idx.close()


def test_two_workers_indexing_the_same_new_documents_at_once(tmp_path: Path) -> None:
    """Every worker applies the feed to the one embedded index: two processes indexing the same
    new keys at the same moment both succeed, and each key is held once."""
    import threading

    from hub.search.sqlite_fts import SqliteSearchIndex

    path = tmp_path / "search.db"
    workers = [SqliteSearchIndex(path), SqliteSearchIndex(path)]  # a connection each
    docs = [
        SearchDoc(kind="Enterprise", key=f"E-{i}", title=f"滨海化工{i}", body="")
        for i in range(200)
    ]
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run(worker: SqliteSearchIndex) -> None:
        start.wait()
        try:
            for doc in docs:
                worker.index([doc])
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert workers[0].count() == 200
    assert workers[1].search("滨海化工7").total >= 1
    for w in workers:
        w.close()
