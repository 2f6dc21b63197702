"""Law-enforcement supervision (执法监督): the rules behind the resolvers.

Cases are the ``EnforcementCase`` records of the law-enforcement system (执法监督系统). Each is
linked to its firm (``Enterprise``) by unified social credit code, else by the normalised
name, as the knowledge graph links it (``hub.graph.linking.FirmLinker``), to its place
(grid cell, street, point) and to the service cases filed about the same firm.

* **Deadline** — the source's ``due_on`` when it sends one, else filing date + the legal time
  limit of the case type: 行政处罚 90 days (《行政处罚法》第六十条), 行政检查 and 行政强制 30
  days (the district's supervision rule). A case is *overdue* when still open after its
  deadline, *closed late* when closed after it.
* **Anomalies** — ``repeated_inspection_no_finding``: a firm inspected (行政检查) at least
  ``threshold`` times within ``window_days`` with no finding each time (every such inspection
  carries the flag); ``closed_without_evidence``: a closed case whose evidence list the source
  reports, and it is empty. A source that does not export evidence leaves the flag unknown
  (never raised) — absence of a column is not absence of evidence.

Everything is computed per request over the rows the request's policy lets it count, so a
partner's figures are over its own rows and no cache needs invalidating.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from hub.apps.kit import BadInput
from hub.graph.linking import FirmLinker
from hub.graph.names import name_key
from hub.read_model import Changes, RecordModel
from schema.record import Record

if TYPE_CHECKING:
    from hub.feed import FeedFollower
    from hub.services import HubServices
    from hub.store import RecordStore

CASE_KIND = "EnforcementCase"
FIRM_KIND = "Enterprise"
SERVICE_CASE_KIND = "ServiceCase"
CST = timezone(timedelta(hours=8))
INSPECTION = "行政检查"
TIME_LIMIT_DAYS = {"行政处罚": 90, INSPECTION: 30, "行政强制": 30}
DEFAULT_LIMIT_DAYS = 90
REPEAT_THRESHOLD = 3
REPEAT_WINDOW_DAYS = 365
CLOSED = frozenset({"已结案", "结案", "已办结", "办结"})
NO_FINDING = frozenset({"", "无", "未发现问题", "未发现违法行为", "无违法行为", "合格"})
REPEATED = "repeated_inspection_no_finding"
NO_EVIDENCE = "closed_without_evidence"
ANOMALIES = (REPEATED, NO_EVIDENCE)
NATURAL_PERSON = "自然人"


class EnforcementError(BadInput):
    """Bad input to a supervision query; the message says which."""


def today() -> date:
    return datetime.now(CST).date()


def _day(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def is_closed(a: dict[str, Any]) -> bool:
    return str(a.get("status") or "") in CLOSED or _day(a.get("closed_on")) is not None


def has_finding(a: dict[str, Any]) -> bool:
    """Whether the case found anything: the source's finding when it sends one, else a
    violation named (an inspection with no violation found nothing)."""
    if "finding" in a:
        return str(a.get("finding") or "").strip() not in NO_FINDING
    return bool(str(a.get("violation") or "").strip())


def evidence_count(a: dict[str, Any]) -> int | None:
    """How many pieces of evidence the source lists; None when it does not say."""
    ev = a.get("evidence")
    if isinstance(ev, list):
        return len(ev)
    n = a.get("evidence_count")
    if isinstance(n, int) and not isinstance(n, bool):
        return n
    return None


class FirmDirectory:
    """Enterprise keys by credit code, else by normalised name (a name two firms share links
    to neither), linked as the knowledge graph links them (:mod:`hub.graph.linking`) over the
    market registry as the store holds it (a read model: built again after a firm's write)."""

    def __init__(self, store: RecordStore, feed: FeedFollower) -> None:
        self.linkers = RecordModel(store, feed, [FIRM_KIND], FirmLinker)

    def resolve(self, uscc: Any, name: Any) -> tuple[str | None, str | None]:
        """(Enterprise key, how: "uscc" | "name") or (None, None)."""
        link = self.linkers.get().link(kind=FIRM_KIND, uscc=uscc, name=name, by_brand=False)
        return (link.key, link.how) if link else (None, None)


class CasesByFirm:
    """Service-case keys by what names their firm (its ``firm`` or ``enterprise`` key, its
    ``uscc``; upper-cased). Kept current case by case: a value is replaced, never changed,
    so a request reading it meanwhile sees the old tuple or the new one."""

    def __init__(self, cases: Iterable[Record]) -> None:
        self.by: dict[str, tuple[str, ...]] = {}
        self._names: dict[str, tuple[str, ...]] = {}  # a case's key -> what it is filed under
        for r in cases:
            self.put(r.key, r)

    @staticmethod
    def names(r: Record) -> tuple[str, ...]:
        found = (r.attrs.get(k) for k in ("firm", "enterprise", "uscc"))
        return tuple(dict.fromkeys(v.upper() for v in found if isinstance(v, str) and v))

    def put(self, key: str, r: Record | None) -> None:
        for name in self._names.pop(key, ()):
            left = tuple(k for k in self.by.get(name, ()) if k != key)
            if left:
                self.by[name] = left
            else:
                self.by.pop(name, None)
        if r is not None and (names := self.names(r)):
            self._names[key] = names
            for name in names:
                self.by[name] = (*self.by.get(name, ()), key)

    def update(self, changes: Changes) -> None:
        for (_, key), r in changes.items():
            self.put(key, r)


class ServiceCaseLinks:
    """Service cases by the firm they concern (``firm`` key or ``uscc`` attribute, as the
    enterprise-service loop files them), a read model of the store's service cases."""

    def __init__(self, store: RecordStore, feed: FeedFollower) -> None:
        self.cases = RecordModel(store, feed, [SERVICE_CASE_KIND], CasesByFirm, CasesByFirm.update)

    def of(self, firm: str | None, uscc: str | None) -> list[str]:
        by = self.cases.get().by
        return sorted(
            {k for v in (firm, uscc) if isinstance(v, str) and v for k in by.get(v.upper(), ())}
        )


@dataclass
class CaseReview:
    """One case as supervision sees it."""

    record: Record
    firm: str | None
    firm_match: str | None
    firm_identity: str  # who "the same firm" is for the repeat rule
    filed_on: date | None
    due_on: date | None
    closed_on: date | None
    closed: bool
    overdue: bool
    closed_late: bool
    days_overdue: int
    finding: bool
    evidence: int | None
    anomalies: list[str] = field(default_factory=list)


@dataclass
class DepartmentFigures:
    department: str
    cases: int = 0
    open: int = 0
    closed: int = 0
    overdue: int = 0
    closed_late: int = 0
    anomalous: int = 0
    repeated_inspection_no_finding: int = 0
    closed_without_evidence: int = 0
    fines_cny: float = 0.0
    fined: int = 0  # cases whose fine is in fines_cny (a sum of how many)

    def add(self, r: CaseReview) -> None:
        self.cases += 1
        self.open += not r.closed
        self.closed += r.closed
        self.overdue += r.overdue
        self.closed_late += r.closed_late
        self.anomalous += bool(r.anomalies)
        self.repeated_inspection_no_finding += REPEATED in r.anomalies
        self.closed_without_evidence += NO_EVIDENCE in r.anomalies
        fine = r.record.attrs.get("fine_cny")
        if isinstance(fine, int | float) and not isinstance(fine, bool):
            self.fines_cny += float(fine)
            self.fined += 1


class LawEnforcementServices:
    def __init__(self, store: RecordStore, feed: FeedFollower) -> None:
        self.store = store
        self.firms = FirmDirectory(store, feed)
        self.links = ServiceCaseLinks(store, feed)

    def due_on(self, a: dict[str, Any]) -> date | None:
        own = _day(a.get("due_on"))
        if own is not None:
            return own
        filed = _day(a.get("filed_on"))
        if filed is None:
            return None
        days = TIME_LIMIT_DAYS.get(str(a.get("case_type") or ""), DEFAULT_LIMIT_DAYS)
        return filed + timedelta(days=days)

    def review(
        self,
        cases: Iterable[Record],
        as_of: date | None = None,
        threshold: int = REPEAT_THRESHOLD,
        window_days: int = REPEAT_WINDOW_DAYS,
    ) -> list[CaseReview]:
        """Every case with its firm, deadline, overdue state and anomaly flags, key order."""
        if not 2 <= threshold <= 100:
            raise EnforcementError("threshold: between 2 and 100 inspections")
        if not 1 <= window_days <= 3650:
            raise EnforcementError("windowDays: between 1 and 3650")
        now = as_of or today()
        self.links.cases.get()  # built here, off the event loop, before the cases are served
        out: list[CaseReview] = []
        for r in sorted(cases, key=lambda c: c.key):
            a = r.attrs
            firm, how = self.firms.resolve(a.get("party_uscc"), a.get("party_name"))
            code = a.get("party_uscc")
            identity = firm or (
                f"uscc:{code.upper()}"
                if isinstance(code, str) and code
                else f"name:{name_key(str(a.get('party_name') or ''))}"
            )
            due = self.due_on(a)
            closed_on = _day(a.get("closed_on"))
            closed = is_closed(a)
            overdue = not closed and due is not None and now > due
            late = closed and due is not None and closed_on is not None and closed_on > due
            ev = evidence_count(a)
            review = CaseReview(
                record=r,
                firm=firm,
                firm_match=how,
                firm_identity=identity,
                filed_on=_day(a.get("filed_on")),
                due_on=due,
                closed_on=closed_on,
                closed=closed,
                overdue=overdue,
                closed_late=late,
                days_overdue=(now - due).days if overdue and due else 0,
                finding=has_finding(a),
                evidence=ev,
            )
            if closed and ev == 0:
                review.anomalies.append(NO_EVIDENCE)
            out.append(review)
        self._repeats(out, threshold, window_days)
        return out

    @staticmethod
    def _repeats(reviews: list[CaseReview], threshold: int, window_days: int) -> None:
        """Flag the no-finding inspections of a firm that has ``threshold`` of them within
        any ``window_days`` (a sliding window over filing dates)."""
        empty: dict[str, list[CaseReview]] = defaultdict(list)
        for r in reviews:
            if r.record.attrs.get("case_type") == INSPECTION and not r.finding and r.filed_on:
                empty[r.firm_identity].append(r)
        for runs in empty.values():
            if len(runs) < threshold:
                continue
            runs.sort(key=lambda r: (r.filed_on or date.min, r.record.key))
            flagged: set[int] = set()
            lo = 0
            for hi in range(len(runs)):
                while (runs[hi].filed_on - runs[lo].filed_on).days > window_days:  # type: ignore[operator]
                    lo += 1
                if hi - lo + 1 >= threshold:
                    flagged.update(range(lo, hi + 1))
            for i in sorted(flagged):
                runs[i].anomalies.insert(0, REPEATED)

    @staticmethod
    def by_department(
        reviews: Sequence[CaseReview],
    ) -> tuple[DepartmentFigures, list[DepartmentFigures]]:
        """Totals and one line per enforcing department (most cases first)."""
        totals = DepartmentFigures("合计")
        groups: dict[str, DepartmentFigures] = {}
        for r in reviews:
            dept = str(r.record.attrs.get("enforcing_department") or "未知")
            groups.setdefault(dept, DepartmentFigures(dept)).add(r)
            totals.add(r)
        totals.fines_cny = round(totals.fines_cny, 2)
        lines = sorted(groups.values(), key=lambda g: (-g.cases, g.department))
        for g in lines:
            g.fines_cny = round(g.fines_cny, 2)
        return totals, lines

    @staticmethod
    def anomaly_counts(reviews: Sequence[CaseReview]) -> Counter[str]:
        return Counter(flag for r in reviews for flag in r.anomalies)


def services(hub: HubServices) -> LawEnforcementServices:
    return LawEnforcementServices(hub.store, hub.feed)
