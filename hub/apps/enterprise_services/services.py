"""Enterprise services "双万双服" (double ten thousand, double service): firms' requests to
government, assigned to departments, followed to resolution and rated.

A request is a ``ServiceCase`` of the citizen-service centre on its ``enterprise`` request
channel (双万双服企业服务平台): the centre's closed loop — filed → dispatched → handling →
resolved → visited → rated → closed, transfers, deadlines, history — carries it, reached at
run time through the hub's service registry (no second copy of the state machine). What is
this app's own: the firm (an ``Enterprise`` of the market registry, placed at its registered
point), the request types with their department and time limit, and the figures.

Time limits (hours) are the platform's service promise, an assumption of the demo city: three
working days for consultation and coordination, five for finance, staffing and talent, ten for
land.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.apps.kit import BadInput, NotFound
from hub.cases import CASE, DONE, OPEN, Caller, CaseDesk, CaseIntake, case_desk
from hub.workflow import Guard
from schema.record import Record

if TYPE_CHECKING:
    from hub.services import HubServices

CHANNEL = "enterprise"
CHANNEL_NAME = "双万双服企业服务平台"
CASE_KIND = CASE.kind
FIRM_KIND = "Enterprise"

# request type -> (department it is assigned to, time limit in hours)
REQUEST_TYPES: dict[str, tuple[str, float]] = {
    "政策咨询": ("区工业和信息化局", 72),
    "审批协调": ("区行政审批局", 72),
    "融资需求": ("区金融工作局", 120),
    "用工需求": ("区人社局", 120),
    "人才落户": ("区人社局", 120),
    "用地需求": ("区规划和自然资源局", 240),
}
# A request's workflow is the case loop (hub.cases.CASE) without the site visit: its steps,
# by the names the platform uses for them
STEPS = {
    "assign": "dispatch",
    "transfer": "transfer",
    "start": "start_handling",
    "resolve": "resolve",
    "return_visit": "return_visit",
    "rate": "rate",
    "close": "close",
}


class RequestError(BadInput):
    """Bad input to a request; the message says which."""


class RequestNotFound(NotFound):
    pass


def status_of(record: Record) -> str:
    return CASE.state_of(record.attrs)


def is_request(record: Record) -> bool:
    return record.kind == CASE_KIND and record.attrs.get("channel") == CHANNEL_NAME


@dataclass
class DepartmentLine:
    department: str
    total: int = 0
    open: int = 0
    resolved: int = 0
    overdue: int = 0
    rated: int = 0
    rating_sum: int = 0

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rated, 2) if self.rated else None


class EnterpriseServices:
    def __init__(self, hub: HubServices) -> None:
        self.hub = hub

    @property
    def centre(self) -> CaseDesk:
        # the city's case desk: its closed loop carries every request
        return case_desk(self.hub)

    def firm(self, key: str) -> Record:
        record = self.hub.store.get(FIRM_KIND, key)
        if record is None:
            raise RequestNotFound(f"no firm {key!r} in the market registry")
        return record

    def file(
        self,
        firm_key: str,
        request_type: str,
        description: str,
        actor: str,
        roles: Sequence[str],
        *,
        title: str | None = None,
        contact_name: str | None = None,
        contact_phone: str | None = None,
        guard: Guard | None = None,
    ) -> tuple[Record, list[dict[str, Any]]]:
        if request_type not in REQUEST_TYPES:
            raise RequestError(f"request type {request_type!r}: one of {', '.join(REQUEST_TYPES)}")
        firm = self.firm(firm_key)
        g = firm.geometry or {}
        if g.get("type") != "Point":
            raise RequestError(f"firm {firm_key} has no registered point")
        lon, lat = (float(x) for x in g["coordinates"][:2])
        department, hours = REQUEST_TYPES[request_type]
        a = firm.attrs
        intake = CaseIntake(
            channel=CHANNEL,
            description=description,
            lon=lon,
            lat=lat,
            address=a.get("address"),
            title=title or f"{a.get('name')}{request_type}",
            reporter_name=contact_name,
            reporter_phone=contact_phone,
            department=department,
            time_limit_hours=hours,
            topic=request_type,
            extra={
                "firm": firm.key,
                "firm_name": a.get("name"),
                "uscc": a.get("uscc"),
                "industry": a.get("industry"),
                "request_type": request_type,
            },
        )
        filed = self.centre.file(intake, Caller(actor, tuple(roles), guard))
        return filed.record, list(filed.updates)

    def request(self, key: str) -> Record:
        record = self.hub.store.get(CASE_KIND, key)
        if record is None or not is_request(record):
            raise RequestNotFound(f"no enterprise request {key!r}")
        return record

    def step(
        self, key: str, step: str, actor: str, roles: Sequence[str], **options: Any
    ) -> tuple[Record, list[dict[str, Any]]]:
        self.request(key)  # an enterprise request, not any service case
        return self.centre.transition(key, STEPS[step], actor, roles, **options)

    def overdue(self, record: Record) -> bool:
        return self.centre.overdue(record)

    def stats(
        self, requests: Iterable[Record]
    ) -> tuple[DepartmentLine, list[DepartmentLine], Counter[str]]:
        totals = DepartmentLine("合计")
        lines: dict[str, DepartmentLine] = defaultdict(lambda: DepartmentLine(""))
        by_type: Counter[str] = Counter()
        for r in requests:
            dept = str(r.attrs.get("handling_department") or "未分派")
            line = lines[dept]
            line.department = dept
            by_type[str(r.attrs.get("request_type") or "")] += 1
            status = status_of(r)
            rating = r.attrs.get("rating")
            late = self.overdue(r)
            for x in (line, totals):
                x.total += 1
                x.open += status in OPEN
                x.resolved += status in DONE
                x.overdue += late
                if isinstance(rating, int) and not isinstance(rating, bool):
                    x.rated += 1
                    x.rating_sum += rating
        return totals, sorted(lines.values(), key=lambda x: (-x.total, x.department)), by_type


def services(hub: HubServices) -> EnterpriseServices:
    return EnterpriseServices(hub)
