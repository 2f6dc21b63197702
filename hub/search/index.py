"""The search interface every backend implements (SQLite FTS5 now; Elasticsearch later)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from hub.search.documents import SearchDoc, SearchPage


class SearchIndex(Protocol):
    def index(self, docs: Iterable[SearchDoc]) -> int:
        """Add or replace documents by (kind, key); returns how many were written."""
        ...

    def remove(self, kind: str, keys: Sequence[str]) -> int: ...

    def search(
        self,
        query: str,
        *,
        kinds: Sequence[str] | None = None,
        limit: int = 20,
        offset: int = 0,
        any_word: bool = False,
    ) -> SearchPage:
        """Best matches first. Every query word must match; if none does (or ``any_word``),
        any may."""
        ...

    def count(self) -> int: ...

    def close(self) -> None: ...
