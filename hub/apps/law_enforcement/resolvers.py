"""Law-enforcement supervision resolvers: cases with deadlines and anomaly flags, figures by
department. Rows come through the request's policy; a counts-only principal gets counts and
figures over the rows its row filter lets through, never a row."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

import strawberry

from hub.apps import kit
from hub.apps.kit import off_loop
from hub.apps.law_enforcement.figures import published
from hub.apps.law_enforcement.services import (
    CASE_KIND,
    REPEAT_THRESHOLD,
    REPEAT_WINDOW_DAYS,
    CaseReview,
    LawEnforcementServices,
    today,
)
from hub.apps.law_enforcement.types import (
    EnforcementAnomaly,
    EnforcementCase,
    EnforcementDepartmentStats,
    EnforcementStats,
)
from schema.connection import CountedConnection, from_rows
from schema.context import records
from schema.reads import scan_servable

APP_NAME = "law_enforcement"
T = TypeVar("T")


def supervision(info: strawberry.Info) -> LawEnforcementServices:
    return kit.service(info, LawEnforcementServices)


async def _reviews(
    info: strawberry.Info, as_of: date | None, threshold: int, window_days: int
) -> tuple[list[CaseReview], bool]:
    rows, servable = await scan_servable(info, CASE_KIND)
    service = supervision(info)
    return await off_loop(lambda: service.review(rows, as_of, threshold, window_days)), servable


def _case(info: strawberry.Info, r: CaseReview) -> EnforcementCase:
    a = r.record.attrs
    return EnforcementCase.of(r, supervision(info).links.of(r.firm, a.get("party_uscc")))


@strawberry.type
class LawEnforcementQueries:
    @strawberry.field(
        description="Enforcement cases (执法案件) with deadline, overdue state and anomaly "
        "flags, filtered, in key order; `asOf` is the day overdue is judged on (default today)"
    )
    async def enforcement_cases(
        self,
        info: strawberry.Info,
        department: str | None = None,
        firm: str | None = None,
        overdue: bool | None = None,
        anomaly: EnforcementAnomaly | None = None,
        anomalous: bool | None = None,
        as_of: date | None = None,
        threshold: int = REPEAT_THRESHOLD,
        window_days: int = REPEAT_WINDOW_DAYS,
        first: int | None = None,
        after: str | None = None,
    ) -> CountedConnection[EnforcementCase]:
        reviews, servable = await _reviews(info, as_of, threshold, window_days)
        found = [
            r
            for r in reviews
            if (department is None or r.record.attrs.get("enforcing_department") == department)
            and (firm is None or r.firm == firm)
            and (overdue is None or r.overdue == overdue)
            and (anomaly is None or anomaly.value in r.anomalies)
            and (anomalous is None or bool(r.anomalies) == anomalous)
        ]
        (await kit.figure_rule(info, CASE_KIND)).require(len(found), "cases")
        return from_rows(
            found,
            lambda r: r.record.key,
            lambda r: _case(info, r),
            first=first,
            after=after,
            servable=servable,
        )

    @strawberry.field(description="One enforcement case by its hub key (LE-…)")
    async def enforcement_case(
        self,
        info: strawberry.Info,
        key: str,
        as_of: date | None = None,
        threshold: int = REPEAT_THRESHOLD,
        window_days: int = REPEAT_WINDOW_DAYS,
    ) -> EnforcementCase | None:
        if await records(info).load(CASE_KIND, key) is None:
            return None
        # the repeat rule needs the firm's other cases, so the whole visible set is reviewed
        reviews, _ = await _reviews(info, as_of, threshold, window_days)
        found = next((r for r in reviews if r.record.key == key), None)
        return _case(info, found) if found else None

    @strawberry.field(
        description="Enforcement figures by enforcing department: cases, open, closed, "
        "overdue, closed late, anomalies, fines; the totals are the departments' sums"
    )
    async def enforcement_stats(
        self,
        info: strawberry.Info,
        as_of: date | None = None,
        threshold: int = REPEAT_THRESHOLD,
        window_days: int = REPEAT_WINDOW_DAYS,
    ) -> EnforcementStats:
        reviews, _ = await _reviews(info, as_of, threshold, window_days)
        rule = await kit.figure_rule(info, CASE_KIND)
        totals, lines, withheld = published(*LawEnforcementServices.by_department(reviews), rule)
        return EnforcementStats(
            as_of=as_of or today(),
            totals=EnforcementDepartmentStats.of(totals),
            by_department=[EnforcementDepartmentStats.of(g) for g in lines],
            suppressed_groups=withheld,
        )
