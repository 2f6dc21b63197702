"""Search under the policy: which hits a request is shown, how their titles and snippets
read, how many there are, and what a counts-only principal may count.

* Hits: only of types the principal reads as rows (the index is asked for those types only,
  so its total counts no other), past the type's gate (a missing purpose leaves the type out
  unless it was asked for by name; a rate limit is a refusal), and only rows it may see.
* Text: a title and snippet show only the fields of the hit's type the policy serves
  (``hub.search.documents.Part``: which field each piece of a document is), masked as the
  field is; a hit whose match lay only in text the caller may not see is no hit. Free text
  is indexed scrubbed, and titles and snippets are scrubbed again for every principal
  without the personal clearance.
* ``totalCount``: exact. When every type searched is served whole and without a row filter
  the index's total is the answer; else every match is read through the policy, in chunks —
  a row filter that reads only the places and owners the index keeps beside each document
  (``FACETS``) is checked on them, and only the page's rows are read from the store (the row
  as it is now has the last word on what is served); any other is checked on each row.
* Counts per type (``counts``): for a type read as rows, the hits above; for a counts-only
  type, the matches of the rows it may count, each a figure under the policy's k
  (``FigureRule.enough``: fewer than k but some is withheld).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

from hub.policy.engine import Decision, FieldView, PolicyDenied, PolicyRateLimited
from hub.policy.fields import served_value, view_of
from hub.policy.free_text import scrub, scrubs
from hub.search.documents import (
    BODIES,
    FACETS,
    SEARCHABLE_KINDS,
    TITLES,
    Part,
    SearchHit,
    SearchPage,
    title_part,
)
from hub.search.segment import tokens
from hub.search.snippet import snippet
from schema.record import Record

if TYPE_CHECKING:  # enforce.py builds this source: imported there, not here
    from hub.policy.enforce import PolicedRecordSource, RequestPolicy

SCAN_CHUNK = 2000  # matches read through the policy at a time (fewer: the index re-ranks)


class SearchBackend(Protocol):
    async def search(
        self,
        query: str,
        *,
        kinds: Sequence[str] | None,
        limit: int,
        offset: int,
        any_word: bool = False,
    ) -> SearchPage: ...


@dataclass(frozen=True)
class TypeCount:
    """Matches of one type a request may count; ``count`` None when withheld (fewer than
    the policy's minimum group, but some)."""

    type: str
    count: int | None
    suppressed: bool


@dataclass(frozen=True)
class _Plan:
    """How one type's hits are shown to this request."""

    decision: Decision
    views: dict[str, FieldView]  # the document's fields as served
    filtered: bool  # a row filter: each hit's row is checked
    facetted: bool  # ... and it reads only the index's facets of a hit

    @property
    def whole(self) -> bool:
        return all(v.allowed and v.mask is None for v in self.views.values())

    @property
    def direct(self) -> bool:
        """The index's hits stand as they are (only scrubbed)."""
        return self.whole and not self.filtered

    def by_facets(self, hit: SearchHit) -> bool:
        """Whether the hit's row check can be made on the facets the index keeps of it."""
        return self.whole and self.facetted and hit.facets is not None

    def text(self, parts: Iterable[Part], record: Record) -> str:
        shown = []
        for part in parts:
            view = self.views[part.field]
            value = part.text(record.attrs) if view.allowed else ""
            if value:
                shown.append(str(served_value(self.decision, view, part.field, value, False)))
        return " ".join(shown)

    def title(self, record: Record) -> str:
        part = title_part(record.attrs)
        return (self.text([part], record) if part else "") or record.key


class PolicedSearchSource:
    """Search hits of types the principal may read as rows, only rows it may see, their text
    as the policy shows it (see the module's docstring)."""

    def __init__(
        self, inner: SearchBackend, records: PolicedRecordSource, policy: RequestPolicy
    ) -> None:
        self.inner = inner
        self.records = records
        self.policy = policy

    async def _gated(self, kind: str, named: bool) -> bool:
        """Whether ``kind`` is searched: its gate passed; a missing purpose leaves it out
        unless the caller named it (then, as a rate limit, the refusal is the answer)."""
        try:
            await self.policy.gate(kind)
        except PolicyRateLimited:
            raise
        except PolicyDenied:
            if named:
                raise
            return False
        return True

    def _wanted(self, kinds: Sequence[str] | None) -> list[str]:
        return sorted(SEARCHABLE_KINDS.intersection(kinds) if kinds else SEARCHABLE_KINDS)

    def _plan(self, decision: Decision) -> _Plan:
        fields = self.policy.classified.get(decision.type_name, {})
        parts = (*BODIES[decision.type_name], *TITLES)
        views = {p.field: view_of(decision, fields, p.field) for p in parts}
        row_filter = decision.row_filter
        facetted = row_filter is not None and _reads(row_filter.text) <= _FACETTED
        return _Plan(decision, views, row_filter is not None, facetted)

    async def search(
        self, query: str, *, kinds: Sequence[str] | None, limit: int, offset: int
    ) -> SearchPage:
        plans: dict[str, _Plan] = {}
        for kind in self._wanted(kinds):
            decision = self.policy.decide(kind)
            if decision.reads_rows and await self._gated(kind, bool(kinds)):
                plans[kind] = self._plan(decision)
        if not plans:
            return SearchPage(hits=[], total=0)
        names = sorted(plans)
        if all(plan.direct for plan in plans.values()):
            page = await self.inner.search(query, kinds=names, limit=limit, offset=offset)
            hits = [self._shown(h, plans[h.kind], None, []) for h in page.hits]
            return SearchPage(hits=hits, total=page.total, every_word=page.every_word)
        words = list(dict.fromkeys(tokens(query)))
        page = await self._scan(query, names, plans, words, limit, offset, any_word=False)
        if page.total == 0 and page.every_word and len(words) > 1:
            # no hit it may see has every word: any word, as the index does when none has
            # (whether hidden rows had every word is not the caller's to learn)
            page = await self._scan(query, names, plans, words, limit, offset, any_word=True)
        return page

    async def _scan(
        self,
        query: str,
        names: list[str],
        plans: dict[str, _Plan],
        words: list[str],
        limit: int,
        offset: int,
        *,
        any_word: bool,
    ) -> SearchPage:
        """Every match read through the policy, in chunks: the page asked for, and the
        exact number of hits this request may see."""
        window: list[tuple[SearchHit, Record | None]] = []
        total, at, every_word = 0, 0, not any_word
        while True:
            chunk = await self.inner.search(
                query, kinds=names, limit=SCAN_CHUNK, offset=at, any_word=any_word
            )
            every_word = chunk.every_word
            for hit, record in await self._visible(chunk, plans, words):
                if offset <= total < offset + limit:
                    window.append((hit, record))
                total += 1
            if len(chunk.hits) < SCAN_CHUNK:
                break
            at += SCAN_CHUNK
        shown = [
            self._shown(hit, plans[hit.kind], record, words)
            for hit, record in await self._confirmed(window, plans)
        ]
        return SearchPage(hits=shown, total=total, every_word=every_word)

    async def _confirmed(
        self, window: list[tuple[SearchHit, Record | None]], plans: dict[str, _Plan]
    ) -> list[tuple[SearchHit, Record | None]]:
        """The page's hits, those the index's facets let through read from the store: the
        index follows writes a moment behind, and the row as it is now decides what is
        served (a row that has just left the caller's view is left out of the page)."""
        vouched: dict[str, list[str]] = {}
        for hit, record in window:
            if record is None and plans[hit.kind].filtered:
                vouched.setdefault(hit.kind, []).append(hit.key)
        if not vouched:
            return window
        seen: set[tuple[str, str]] = set()
        for kind, keys in vouched.items():
            seen.update((kind, r.key) for r in await self.records.load_many(kind, keys) if r)
        return [
            (hit, record)
            for hit, record in window
            if record is not None or not plans[hit.kind].filtered or (hit.kind, hit.key) in seen
        ]

    async def _visible(
        self, chunk: SearchPage, plans: dict[str, _Plan], words: list[str]
    ) -> list[tuple[SearchHit, Record | None]]:
        """The hits of a chunk this request may see, in order, with their rows when read."""
        wanted: dict[str, list[str]] = {}
        for hit in chunk.hits:
            plan = plans[hit.kind]
            if not plan.direct and not plan.by_facets(hit):
                wanted.setdefault(hit.kind, []).append(hit.key)
        rows: dict[tuple[str, str], Record] = {}
        for kind, keys in wanted.items():
            for record in await self.records.load_many(kind, keys):  # the row policy's
                if record is not None:
                    rows[(kind, record.key)] = record
        out: list[tuple[SearchHit, Record | None]] = []
        for hit in chunk.hits:
            plan = plans[hit.kind]
            if plan.direct:
                out.append((hit, None))
                continue
            if plan.by_facets(hit):
                assert hit.facets is not None
                if plan.decision.row_visible(hit.key, hit.kind, hit.facets):
                    out.append((hit, None))
                continue
            record = rows.get((hit.kind, hit.key))
            if record is None:
                continue
            if not plan.whole and not _matches(plan, record, words, chunk.every_word):
                continue  # it matched only in text this caller may not see
            out.append((hit, record))
        return out

    def _shown(
        self, hit: SearchHit, plan: _Plan, record: Record | None, words: list[str]
    ) -> SearchHit:
        title, text = hit.title, hit.snippet
        if record is not None and not plan.whole:
            title = plan.title(record)
            text = snippet(plan.text(BODIES[hit.kind], record), words)
        if scrubs(plan.decision, "snippet"):
            title, text = scrub(title), scrub(text)
        return SearchHit(kind=hit.kind, key=hit.key, title=title, snippet=text, score=hit.score)

    async def counts(self, query: str, *, kinds: Sequence[str] | None) -> list[TypeCount]:
        """Matches per type this request may count (see the module's docstring)."""
        out: list[TypeCount] = []
        for kind in self._wanted(kinds):
            if not self.policy.decide(kind).allowed or not await self._gated(kind, bool(kinds)):
                continue
            countable = await self.policy.countable(kind)
            if countable.readable:
                total = (await self.search(query, kinds=[kind], limit=0, offset=0)).total
            else:
                total = await self._countable_matches(query, kind, countable.check)
            shown = countable.figures.enough(total)
            out.append(TypeCount(kind, total if shown else None, not shown))
        return out

    async def _countable_matches(
        self, query: str, kind: str, check: Callable[[Record], bool]
    ) -> int:
        """Matches of a counts-only type among the rows the request may count (a row filter:
        checked on each match's facets when it reads only those, else on its row; never
        served)."""
        first = await self.inner.search(query, kinds=[kind], limit=0, offset=0)
        decision = self.policy.decide(kind)
        if decision.row_filter is None:
            return first.total
        facetted = _reads(decision.row_filter.text) <= _FACETTED
        total, at = 0, 0
        while at < first.total:
            chunk = await self.inner.search(query, kinds=[kind], limit=SCAN_CHUNK, offset=at)
            rows: list[str] = []
            for hit in chunk.hits:
                if facetted and hit.facets is not None:
                    total += decision.row_visible(hit.key, hit.kind, hit.facets)
                else:
                    rows.append(hit.key)
            found = await self.records.inner.load_many(kind, rows) if rows else []
            total += sum(1 for r in found if r is not None and check(r))
            if len(chunk.hits) < SCAN_CHUNK:
                break
            at += SCAN_CHUNK
        return total


def _matches(plan: _Plan, record: Record, words: list[str], every_word: bool) -> bool:
    """Whether the text of a hit the caller may see still holds the query's words (as text:
    the index's words are cut in context, so the shown text may be cut otherwise)."""
    seen = f"{plan.title(record)} {plan.text(BODIES[record.kind], record)}".lower()
    found = [w in seen for w in words]
    return all(found) if every_word else any(found)


_FACETTED = frozenset({*FACETS, "key", "kind"})


@cache
def _reads(row_filter: str) -> frozenset[str]:
    """The record attributes a row filter reads (``record.<attr>``)."""
    tree = ast.parse(row_filter.strip(), mode="eval")
    return frozenset(
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "record"
    )
