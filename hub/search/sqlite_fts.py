"""The embedded search backend: SQLite FTS5 over jieba-segmented text, ranked by BM25."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hub.search.documents import SearchDoc, SearchHit, SearchPage
from hub.search.segment import segmented, tokens, unsegment

_SCHEMA = """
CREATE TABLE IF NOT EXISTS search_keys (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    title TEXT NOT NULL,
    facets TEXT,
    UNIQUE (kind, key)
);
CREATE VIRTUAL TABLE IF NOT EXISTS search_text USING fts5(
    title, body, inner, tokenize = 'unicode61 remove_diacritics 0'
);
"""
# Title words weigh ten times body words; words found inside longer words weigh less.
_RANK = "bm25(search_text, 10.0, 1.0, 0.5)"


def _json(facets: Mapping[str, Any] | None) -> str | None:
    return None if facets is None else json.dumps(dict(facets), ensure_ascii=False)


class SqliteSearchIndex:
    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one connection shared by the hub's threads
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(search_keys)")}
            if "facets" not in columns:  # an index made before facets were kept
                self._db.execute("ALTER TABLE search_keys ADD COLUMN facets TEXT")

    @property
    def _db(self) -> sqlite3.Connection:
        # Opened on first use, and again after close(), as the SQLAlchemy-backed stores do: an
        # app restarted in the same process (its lifespan closes the stores) keeps searching.
        # Callers hold the lock.
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, check_same_thread=False, timeout=10)
        return self._conn

    def index(self, docs: Iterable[SearchDoc]) -> int:
        written = 0
        with self._lock, self._db:
            for doc in docs:
                # one statement, the first write of the transaction: from here the file's
                # write lock is held, so two workers indexing one new key cannot both insert it
                (rowid,) = self._db.execute(
                    "INSERT INTO search_keys (kind, key, title, facets) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (kind, key) DO UPDATE SET title = excluded.title, "
                    "facets = excluded.facets RETURNING id",
                    (doc.kind, doc.key, doc.title, _json(doc.facets)),
                ).fetchone()
                self._db.execute("DELETE FROM search_text WHERE rowid = ?", (rowid,))
                title, title_inner = segmented(doc.title)
                body, body_inner = segmented(doc.body)
                self._db.execute(
                    "INSERT INTO search_text (rowid, title, body, inner) VALUES (?, ?, ?, ?)",
                    (rowid, title, body, f"{title_inner} {body_inner}"),
                )
                written += 1
        return written

    def remove(self, kind: str, keys: Sequence[str]) -> int:
        removed = 0
        with self._lock, self._db:
            for key in keys:
                row = self._db.execute(
                    "SELECT id FROM search_keys WHERE kind = ? AND key = ?", (kind, key)
                ).fetchone()
                if row:
                    self._db.execute("DELETE FROM search_text WHERE rowid = ?", row)
                    self._db.execute("DELETE FROM search_keys WHERE id = ?", row)
                    removed += 1
        return removed

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
        quoted = ['"' + w.replace('"', '""') + '"' for w in words]
        page = SearchPage(hits=[], total=0)
        if not any_word or len(quoted) == 1:
            page = self._run(" ".join(quoted), kinds, limit, offset)
        if page.total == 0 and len(quoted) > 1:
            page = replace(self._run(" OR ".join(quoted), kinds, limit, offset), every_word=False)
        return page

    def _run(self, match: str, kinds: Sequence[str] | None, limit: int, offset: int) -> SearchPage:
        where = "search_text MATCH ?"
        params: list[object] = [match]
        if kinds:
            where += f" AND k.kind IN ({','.join('?' * len(kinds))})"
            params.extend(kinds)
        # CROSS JOIN: the full-text match drives the loop (a plain JOIN let SQLite walk every
        # key of the kinds and test each against the match: ~70 ms to count 1,000 matches)
        base = (
            f"FROM search_text CROSS JOIN search_keys k ON k.id = search_text.rowid WHERE {where}"
        )
        with self._lock:
            total = self._db.execute(f"SELECT count(*) {base}", params).fetchone()[0]
            rows = self._db.execute(
                f"SELECT k.kind, k.key, k.title, k.facets, "
                f"snippet(search_text, 1, '[', ']', '…', 12), {_RANK} AS score "
                f"{base} ORDER BY score, k.kind, k.key LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
        hits = [
            SearchHit(
                kind=kind,
                key=key,
                title=title,
                snippet=unsegment(snip),
                score=-score,
                facets=json.loads(facets) if facets is not None else None,
            )
            for kind, key, title, facets, snip, score in rows
        ]
        return SearchPage(hits=hits, total=total)

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM search_keys").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
