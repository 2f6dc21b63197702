"""Smart finance (智慧金融): the smoke index (冒烟指数, "see smoke before fire") of the district's
2,701 quasi-financial firms, its watch list with history, explanations, trends and jump alarms.

The seed document: a financial-risk model over the firms' operating data, **5 dimensions**,
maximum **100**, higher is riskier, **above 40** the firm is put under supervision
automatically; public descriptions name the dimensions compliance deviation, social
propagation, inducement (promised-return lure), complaint rate and risk-keyword hit rate.
The score itself is computed by the compiled core (:func:`core_ext.risk.smoke_index`: each raw
value transformed into [0, 1], weighted, scaled to 0-100; the per-dimension contributions sum
to the score). This module derives each firm's five **raw** values from the connectors' data:

* the firm's own ``FinanceFirm`` record (the finance office's registry: operating figures,
  compliance facts, social facts, marketing);
* ``FinanceReport`` rows (quarterly operating reports), joined by the ``finance_firm`` key or the
  credit code (``uscc``) — a firm facet, as the knowledge graph joins it;
* ``Complaint`` rows (the complaints system) naming the firm as respondent, ``OpinionItem`` rows
  (public-opinion monitor, ``mentioned_firms``) and ``NewsItem`` rows (``mentions``). These carry
  no credit code, so they are joined as the knowledge graph joins them (:mod:`hub.graph.linking`):
  by the normalised name, else the trade name, and only when exactly one firm matches.

Derivations (the core's default transforms in brackets):

1. **compliance deviation** [linear 0..1] — the share of the eight compliance checks the firm
   fails: missed a regulatory report in 12 months (or this period's report is neither
   submitted nor on file); an administrative penalty in 12 months; listed for abnormal
   operation; registered address unreachable; operating outside its registered area; charging
   above its type's legal rate cap (registry flag, or the rate in its latest report above the
   cap); two or more executive changes in 12 months; a shell (空壳: no business, fewer than three
   staff).
2. **social propagation** [log, 10,000 saturates] — how far talk of the firm spreads: its
   online mentions in 30 days, plus each linked opinion item (1) and its reposts, plus
   ``NEWS_REACH`` per negative news report (a media report reaches far more readers than a post).
3. **inducement** [linear 6 %..30 %] — the promised annual return the firm advertises
   (``advertised_return_rate_pct``; 0 when it does not market to the public): the
   "high return" lure of illegal fund-raising.
4. **complaint rate** [linear 0..10 per 1,000 clients] — complaints in 12 months (the larger of
   the registry's count and the linked complaint rows, which describe the same complaints) per
   1,000 clients, with at least ``MIN_CLIENTS`` (500) clients in the denominator so that one
   complaint against a tiny client base does not by itself saturate the dimension: one
   complaint is at most 2 per 1,000 (a fifth of the dimension), five saturate it.
5. **risk-keyword hits** [log, 100 saturates] — hits of the risk words (保本保息, 稳赚不赔,
   高额回报, ...) in the firm's marketing in 30 days, plus each risk word in linked opinion
   items, plus linked complaints whose text or category carries one.

Each scoring pass (a *run*) is persisted: one ``SmokeIndexRun`` record (time, actor, counts),
one ``SmokeIndex`` per firm (latest score, level, raw values, contributions, and the
history of scores over the runs: the trend), one ``WatchListEntry`` per firm that was ever
watched (periods on the list: when it entered and left, with its scores then). A firm whose
score rises by at least the jump threshold between two runs raises an ``Alarm`` of kind
``smoke.jump``.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from core_ext.risk import SMOKE_DIMENSIONS, SmokeIndexConfig, smoke_index
from hub.apps.kit import BadInput, Forbidden
from hub.graph.linking import FirmLinker
from hub.live import Alarm
from hub.store import RecordStore
from schema.record import Record

FIRM_KIND = "FinanceFirm"
REPORT_KIND = "FinanceReport"
COMPLAINT_KIND = "Complaint"
OPINION_KIND = "OpinionItem"
NEWS_KIND = "NewsItem"
# The score records' kind is the GraphQL type's name, as for every policed type: a policy's
# [types.SmokeIndex] (row filter, counts only, ...) then governs the rows as well as the fields.
SCORE_KIND = "SmokeIndex"
WATCH_KIND = "WatchListEntry"
RUN_KIND = "SmokeIndexRun"
SOURCE = "cityhub-smoke-index"

LEVEL_NAMES = ("normal", "watched", "warning", "alert")  # 正常 / 关注 / 预警 / 警报
WATCH_LEVEL = 1  # above the first band (40): supervised automatically
RISK_WORDS = (
    "保本保息",
    "稳赚不赔",
    "高额回报",
    "年化收益",
    "零风险",
    "随借随还",
    "刚性兑付",
    "保本高收益",
)
COMPLIANCE_CHECKS = 8
NEWS_REACH = 100.0
# With 100, one complaint against any firm of at most 100 clients (most leasing and factoring
# firms) was 10 per 1,000: the dimension saturated on a single complaint, for half the firms.
MIN_CLIENTS = 500
EXEC_CHANGES_FLAG = 2
HISTORY_MAX = 200  # runs kept in each firm's trend
DEFAULT_JUMP = 15.0  # points between two runs that make a jump
_PAGE = 5000


class FinanceError(BadInput):
    """Bad input to a finance rule (unknown firm, bad threshold); nothing was changed."""


class NotPermitted(Forbidden):
    pass


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise FinanceError(f"{name} must be a number, got {raw!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise FinanceError(f"{name} must be a positive number, got {raw!r}")
    return value


def _env_bands(name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        bands = tuple(float(x) for x in raw.split(","))
    except ValueError:
        raise FinanceError(f"{name}: comma-separated numbers, got {raw!r}") from None
    if len(bands) != 3 or list(bands) != sorted(bands) or not 0 < bands[0] < bands[2] < 100:
        raise FinanceError(f"{name}: three increasing bands within 0..100, got {raw!r}")
    return bands


def all_of(store: RecordStore, kind: str) -> Iterator[Record]:
    after: str | None = None
    while True:
        chunk = store.page(kind, after=after, limit=_PAGE)
        yield from chunk
        if len(chunk) < _PAGE:
            return
        after = chunk[-1].key


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None


# ----------------------------------------------------------------------------------------------
# Linking other systems' rows to firms


@dataclass
class Evidence:
    """What other systems say about one firm."""

    reports: list[Record] = field(default_factory=list)
    complaints: list[Record] = field(default_factory=list)
    opinions: list[Record] = field(default_factory=list)
    news: list[Record] = field(default_factory=list)


def gather_evidence(store: RecordStore, linker: FirmLinker) -> dict[str, Evidence]:
    def firm(key: Any = None, uscc: Any = None, name: Any = None) -> str | None:
        link = linker.link(kind=FIRM_KIND, key=key, uscc=uscc, name=name)
        return link.key if link else None

    out: dict[str, Evidence] = defaultdict(Evidence)
    for r in all_of(store, REPORT_KIND):
        a = r.attrs
        if found := firm(a.get("finance_firm"), a.get("uscc"), a.get("firm_name")):
            out[found].reports.append(r)
    for r in all_of(store, COMPLAINT_KIND):
        if found := firm(None, r.attrs.get("respondent_uscc"), r.attrs.get("respondent_name")):
            out[found].complaints.append(r)
    for kind, attr in ((OPINION_KIND, "mentioned_firms"), (NEWS_KIND, "mentions")):
        for r in all_of(store, kind):
            names = r.attrs.get(attr)
            named = {firm(name=n) for n in names if n} if isinstance(names, list) else set()
            for found in named - {None}:
                assert found is not None
                bucket = out[found]
                (bucket.opinions if kind == OPINION_KIND else bucket.news).append(r)
    return dict(out)


# ----------------------------------------------------------------------------------------------
# The five raw dimensions


def _words_in(text: str) -> int:
    return sum(1 for w in RISK_WORDS if w in text)


def _latest_report(reports: Sequence[Record]) -> Record | None:
    if not reports:
        return None
    return max(reports, key=lambda r: (str(r.attrs.get("report_period") or ""), r.fetched_at))


def raw_dimensions(firm: Record, evidence: Evidence | None = None) -> tuple[float, ...]:
    """The firm's five raw values, in :data:`SMOKE_DIMENSIONS` order (see the module doc)."""
    ev = evidence or Evidence()
    a = firm.attrs
    op = a.get("operating") or {}
    comp = a.get("compliance") or {}
    social = a.get("social") or {}
    marketing = a.get("marketing") or {}
    report = _latest_report(ev.reports)

    cap = _num(op.get("rate_cap_pct"))
    reported_rate = _num(report.attrs.get("annualized_rate_pct")) if report else None
    above_cap = bool(op.get("above_rate_cap")) or (
        cap is not None and reported_rate is not None and reported_rate > cap
    )
    period = a.get("report_period")
    on_file = any(r.attrs.get("report_period") == period for r in ev.reports)
    missed = _int(comp.get("missed_reports_12m")) > 0 or not (
        bool(op.get("report_submitted")) or on_file
    )
    balance = _num(op.get("outstanding_balance_10k_cny")) or 0.0
    shell = balance <= 0 and _int(a.get("employees")) < 3
    checks = (
        missed,
        _int(comp.get("regulatory_penalties_12m")) > 0,
        bool(comp.get("abnormal_operation_listed")),
        bool(comp.get("address_unreachable")),
        bool(comp.get("operating_outside_registered_area")),
        above_cap,
        _int(comp.get("executive_changes_12m")) >= EXEC_CHANGES_FLAG,
        shell,
    )
    compliance_deviation = sum(checks) / COMPLIANCE_CHECKS

    reposts = sum(_int(o.attrs.get("reposts")) for o in ev.opinions)
    social_propagation = (
        _int(social.get("online_mentions_30d"))
        + len(ev.opinions)
        + reposts
        + NEWS_REACH * _int(social.get("negative_news_12m"))
    )

    advertised = _num(op.get("advertised_return_rate_pct"))
    inducement = max(advertised, 0.0) if advertised is not None else 0.0

    complaints = max(_int(social.get("complaints_12m")), len(ev.complaints))
    clients = max(_int(op.get("customers")), MIN_CLIENTS)
    complaint_rate = 1000.0 * complaints / clients

    opinion_words = sum(
        len(o.attrs.get("risk_keywords") or [])
        if isinstance(o.attrs.get("risk_keywords"), list)
        else 0
        for o in ev.opinions
    )
    complaint_words = sum(
        1
        for c in ev.complaints
        if _words_in(str(c.attrs.get("content") or "") + str(c.attrs.get("category") or ""))
    )
    risk_keyword_hits = (
        _int(marketing.get("risk_keyword_hits_30d")) + opinion_words + complaint_words
    )
    return (
        float(compliance_deviation),
        float(social_propagation),
        float(inducement),
        float(complaint_rate),
        float(risk_keyword_hits),
    )


# ----------------------------------------------------------------------------------------------
# Scoring runs


@dataclass(frozen=True)
class Jump:
    firm: str
    name: str
    previous: float
    score: float


@dataclass(frozen=True)
class RunResult:
    run: Record
    jumps: list[Jump]
    alarms: list[Alarm]


@dataclass(frozen=True)
class Stats:
    run: str | None
    scored_at: datetime | None
    total: int
    by_level: list[tuple[int, int]]
    by_type: list[tuple[str, str | None, int, int]]  # (firm type, its name, firms, watched)
    by_street: list[tuple[str, int, int]]  # (street, firms, watched)
    by_park: list[tuple[str, int, int]]


def level_name(level: int) -> str:
    return LEVEL_NAMES[max(0, min(level, len(LEVEL_NAMES) - 1))]


class SmokeIndexService:
    """Scores the firms, keeps the runs, the watch list and its history; raises jump alarms."""

    def __init__(
        self,
        store: RecordStore,
        config: SmokeIndexConfig | None = None,
        jump_points: float = DEFAULT_JUMP,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.config = config or SmokeIndexConfig()
        if not jump_points > 0:
            raise FinanceError("the jump threshold must be a positive number of points")
        self.jump_points = float(jump_points)
        self.clock = clock
        self._lock = threading.Lock()
        self._cache_run: str | None = None
        self._cache: dict[str, Record] = {}

    @classmethod
    def from_environment(cls, store: RecordStore) -> SmokeIndexService:
        """Bands from ``CITYHUB_SMOKE_BANDS`` ("40,60,80"), the jump from
        ``CITYHUB_SMOKE_JUMP`` (points, default 15)."""
        bands = _env_bands("CITYHUB_SMOKE_BANDS", SmokeIndexConfig().bands)
        return cls(
            store,
            SmokeIndexConfig(bands=bands),
            jump_points=_env_float("CITYHUB_SMOKE_JUMP", DEFAULT_JUMP),
        )

    # -- reading --------------------------------------------------------------------------------

    def latest_run(self) -> Record | None:
        found = self.store.page(RUN_KIND, limit=1, from_end=True)
        return found[0] if found else None

    def runs(self, last: int) -> list[Record]:
        if not 0 <= last <= 1000:
            raise FinanceError("last must be between 0 and 1000")
        return list(reversed(self.store.page(RUN_KIND, limit=last, from_end=True)))

    def ensure_scored(self) -> Record:
        """The latest run; the first read of a fresh hub scores the firms once."""
        run = self.latest_run()
        if run is not None:
            return run
        with self._lock:
            run = self.latest_run()
            return run if run is not None else self._rescore("cityhub", self.jump_points).run

    def scores(self) -> dict[str, Record]:
        """Every firm's latest score record (cached per run)."""
        run = self.ensure_scored()
        if run.key != self._cache_run:
            self._cache = {r.key: r for r in all_of(self.store, SCORE_KIND)}
            self._cache_run = run.key
        return self._cache

    def known(self, firm: str) -> bool:
        """Whether the latest run scored this firm (whoever may see it)."""
        return firm in self.scores()

    def watch_list(
        self,
        level: int | None,
        visible: Callable[[Record], bool],
        firm_type: str | None = None,
    ) -> list[Record]:
        """Firms on the watch list (above the first band) the caller may see, riskiest first
        (then by key), optionally only one level or one firm type."""
        if level is not None and not WATCH_LEVEL <= level < len(LEVEL_NAMES):
            raise FinanceError(f"a watch-list level is {WATCH_LEVEL}..{len(LEVEL_NAMES) - 1}")
        return self.ranked(level, visible, firm_type, watched_only=True)

    def ranked(
        self,
        level: int | None,
        visible: Callable[[Record], bool],
        firm_type: str | None = None,
        *,
        watched_only: bool = False,
    ) -> list[Record]:
        """Every scored firm the caller may see (or only the watched ones), riskiest first,
        then by key; optionally one level or one firm type."""
        if level is not None and not 0 <= level < len(LEVEL_NAMES):
            raise FinanceError(f"a smoke-index level is 0..{len(LEVEL_NAMES) - 1}")
        scores = self.scores()
        if firm_type is not None and not any(
            r.attrs.get("firm_type") == firm_type for r in scores.values()
        ):
            kinds = sorted({str(r.attrs.get("firm_type")) for r in scores.values()})
            raise FinanceError(f"unknown firm type {firm_type!r}: one of {', '.join(kinds)}")
        rows = [
            r
            for r in scores.values()
            if (not watched_only or r.attrs.get("watched"))
            and (level is None or r.attrs.get("level") == level)
            and (firm_type is None or r.attrs.get("firm_type") == firm_type)
            and visible(r)
        ]
        rows.sort(key=lambda r: (-float(r.attrs["score"]), r.key))
        return rows

    def stats(self, visible: Callable[[Record], bool]) -> Stats:
        rows = [r for r in self.scores().values() if visible(r)]
        levels = Counter(int(r.attrs["level"]) for r in rows)
        streets: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        parks: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        types: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        type_names: dict[str, str | None] = {}
        for r in rows:
            watched = int(bool(r.attrs.get("watched")))
            firm_type = str(r.attrs.get("firm_type") or "unknown")
            type_names.setdefault(firm_type, r.attrs.get("firm_type_name"))
            types[firm_type][0] += 1
            types[firm_type][1] += watched
            for table, name in ((streets, r.attrs.get("street")), (parks, r.attrs.get("park"))):
                if name:
                    table[str(name)][0] += 1
                    table[str(name)][1] += watched
        run = self.latest_run()
        return Stats(
            run=run.key if run else None,
            scored_at=run.fetched_at if run else None,
            total=len(rows),
            by_level=[(lv, levels.get(lv, 0)) for lv in range(len(LEVEL_NAMES))],
            by_type=sorted(
                ((k, type_names.get(k), v[0], v[1]) for k, v in types.items()),
                key=lambda t: (-t[2], t[0]),
            ),
            by_street=sorted(((k, v[0], v[1]) for k, v in streets.items()), key=lambda t: t[0]),
            by_park=sorted(((k, v[0], v[1]) for k, v in parks.items()), key=lambda t: t[0]),
        )

    # -- scoring --------------------------------------------------------------------------------

    def rescore(
        self, actor: str, roles: Iterable[str], jump_points: float | None = None
    ) -> RunResult:
        """One scoring pass over every firm (operators only): persists the run, the scores, the
        watch-list changes; returns the jump alarms (the caller publishes them)."""
        if "operator" not in set(roles):
            raise NotPermitted("rescoring the smoke index is for operators")
        jump = self.jump_points if jump_points is None else float(jump_points)
        if not (np.isfinite(jump) and jump > 0):
            raise FinanceError("jumpPoints must be a positive number of points")
        with self._lock:
            return self._rescore(actor, jump)

    def rescore_as(self, actor: str) -> RunResult:
        """A scoring pass the hub runs itself (after a sync changed the inputs: not a
        request, so no role to check), with the configured jump threshold."""
        with self._lock:
            return self._rescore(actor, self.jump_points)

    def _rescore(self, actor: str, jump: float) -> RunResult:
        firms = list(all_of(self.store, FIRM_KIND))
        if not firms:
            raise FinanceError("no FinanceFirm records in the store: nothing to score")
        evidence = gather_evidence(self.store, FirmLinker(firms))
        features = np.array(
            [raw_dimensions(f, evidence.get(f.key)) for f in firms], dtype=np.float64
        )
        result = smoke_index(features, self.config)
        now = self.clock()
        previous_run = self.latest_run()
        stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
        run_key = f"SIR-{stamp}"
        if previous_run is not None and previous_run.key >= run_key:
            run_key = f"{previous_run.key}+"  # a clock that did not move: keep keys ordered
        keys = [f.key for f in firms]
        old_scores = self.store.get_many(SCORE_KIND, keys)
        old_watch = self.store.get_many(WATCH_KIND, keys)
        weights = np.asarray(self.config.weights, dtype=np.float64)
        weights = weights / weights.sum()

        score_records: list[Record] = []
        watch_records: list[Record] = []
        jumps: list[Jump] = []
        alarms: list[Alarm] = []
        entered = left = 0
        at = now.isoformat()
        for i, firm in enumerate(firms):
            a = firm.attrs
            score = round(float(result.scores[i]), 6)
            level = int(result.levels[i])
            watched = level >= WATCH_LEVEL
            old = old_scores.get(firm.key)
            history = list(old.attrs.get("history") or []) if old else []
            history.append({"run": run_key, "at": at, "score": score, "level": level})
            history = history[-HISTORY_MAX:]
            contributions = result.contributions[i].tolist()
            score_records.append(
                Record(
                    kind=SCORE_KIND,
                    key=firm.key,
                    source_system=SOURCE,
                    source_id=firm.key,
                    fetched_at=now,
                    attrs={
                        "firm": firm.key,
                        "name": a.get("name"),
                        "firm_type": a.get("firm_type"),
                        "firm_type_name": a.get("firm_type_name"),
                        "street": a.get("street"),
                        "park": a.get("park"),
                        "grid_cell": a.get("grid_cell"),
                        "score": score,
                        "level": level,
                        "level_name": level_name(level),
                        "watched": watched,
                        "run": run_key,
                        "raw": dict(zip(SMOKE_DIMENSIONS, features[i].tolist(), strict=True)),
                        "contributions": dict(zip(SMOKE_DIMENSIONS, contributions, strict=True)),
                        "weights": dict(zip(SMOKE_DIMENSIONS, weights.tolist(), strict=True)),
                        "history": history,
                    },
                    geometry=firm.geometry,
                    datum=firm.datum,
                )
            )
            watch = self._watch_change(firm, old_watch.get(firm.key), watched, score, run_key, at)
            if watch is not None:
                record, change = watch
                watch_records.append(record)
                entered += change == "entered"
                left += change == "left"
            prev_score = _num(old.attrs.get("score")) if old else None
            if prev_score is not None and score - prev_score >= jump:
                jumps.append(Jump(firm.key, str(a.get("name") or firm.key), prev_score, score))
                alarms.append(self._jump_alarm(firm, prev_score, score, level, run_key, now))
        levels = Counter(int(x) for x in result.levels.tolist())
        run = Record(
            kind=RUN_KIND,
            key=run_key,
            source_system=SOURCE,
            source_id=run_key,
            fetched_at=now,
            attrs={
                "at": at,
                "actor": actor,
                "firms": len(firms),
                "watched": int(sum(levels[lv] for lv in levels if lv >= WATCH_LEVEL)),
                "by_level": {level_name(lv): levels.get(lv, 0) for lv in range(len(LEVEL_NAMES))},
                "entered": entered,
                "left": left,
                "jumps": len(jumps),
                "jump_points": jump,
                "bands": list(self.config.bands),
                "previous_run": previous_run.key if previous_run else None,
            },
        )
        # scores and watch entries first, the run last: a reader who sees the run sees its rows
        self.store.upsert(score_records + watch_records)
        self.store.upsert([run])
        self._cache_run = None
        return RunResult(run, jumps, alarms)

    def _watch_change(
        self,
        firm: Record,
        old: Record | None,
        watched: bool,
        score: float,
        run_key: str,
        at: str,
    ) -> tuple[Record, str] | None:
        periods = [dict(p) for p in (old.attrs.get("periods") or [])] if old else []
        on_list = bool(periods) and periods[-1].get("left_at") is None
        if watched and not on_list:
            periods.append(
                {"entered_at": at, "entered_run": run_key, "entered_score": score,
                 "left_at": None, "left_run": None, "left_score": None}
            )  # fmt: skip
            change = "entered"
        elif on_list and not watched:
            periods[-1].update({"left_at": at, "left_run": run_key, "left_score": score})
            change = "left"
        else:
            return None
        a = firm.attrs
        record = Record(
            kind=WATCH_KIND,
            key=firm.key,
            source_system=SOURCE,
            source_id=firm.key,
            fetched_at=datetime.fromisoformat(at),
            attrs={
                "firm": firm.key,
                "name": a.get("name"),
                "street": a.get("street"),
                "park": a.get("park"),
                "on_list": watched,
                "periods": periods,
            },
            geometry=firm.geometry,
            datum=firm.datum,
        )
        return record, change

    def _jump_alarm(
        self, firm: Record, previous: float, score: float, level: int, run: str, now: datetime
    ) -> Alarm:
        lon = lat = None
        geometry = firm.geometry or {}
        if geometry.get("type") == "Point":
            lon, lat = (float(c) for c in geometry["coordinates"][:2])
        name = firm.attrs.get("name") or firm.key
        return Alarm(
            id=f"smoke-{run}-{firm.key}",
            kind="smoke.jump",
            severity="critical" if level >= 3 else "alarm" if level >= 2 else "warning",
            subject_type=FIRM_KIND,
            subject_key=firm.key,
            message=f"{name} 冒烟指数 {previous:.1f} → {score:.1f} ({level_name(level)})",
            at=now,
            value=score,
            lon=lon,
            lat=lat,
            grid_cell=firm.attrs.get("grid_cell"),
            source="smoke-index",
        )
