"""Counts-only figures that cannot be differenced (step 11, item 7), end to end over HTTP with
real tokens: a one-second ``serviceCaseStats`` window gives the day's figures, a filter that
isolates fewer than k cases is refused, groups of 1–4 cases or firms are withheld with their
complements (``economyAggregates``: the lonely firm's revenue and tax appear nowhere, not even
as the total minus the shown groups), k per policy (``min_group = 3``), a department's
counts-only view of its own street obeys its policy, and full readers (operator, steward,
partner viewer, a department reading its street's rows) still get exact figures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.policy.aggregates import CITY_TZ, FigureRule
from schema.record import Record
from tests.auth_helpers import fetch_token, register_client
from tests.policy.conftest import EAST, Hub, hub_over, person_token, two_streets

WEST = "测试街道"
DAY = datetime(2026, 3, 2, tzinfo=CITY_TZ)  # the city's day the cases were reported
LONELY_CASE_AT = DAY + timedelta(hours=10)  # alone in its second, its cell, its category
LONELY_CELL, LONELY_CATEGORY, LONELY_CHANNEL = "BH-T-002", "C09", "区长信箱"  # the mailbox
# cases of the day per grid cell (the lonely case's cell holds it alone)
CASES = {"BH-T-000": 7, "BH-T-001": 6, LONELY_CELL: 1, "BH-T-003": 3, "BH-E-000": 5}
DAY_TOTAL = sum(CASES.values())
# firms per grid cell; the lonely firm is alone in its cell and its industry
FIRMS = {"BH-T-000": 8, "BH-T-001": 6, "BH-T-002": 1, "BH-T-003": 3, "BH-T-004": 5}
LONELY_FIRM = {"revenue_10k_cny": 4321.7, "tax_paid_10k_cny": 271.3, "output_10k_cny": 3456.7}
LONELY_FIRM_NAME, LONELY_INDUSTRY = "孤星航天科技有限公司", "航天制造"
PLAIN_FIRM = {"revenue_10k_cny": 100.0, "tax_paid_10k_cny": 5.0, "output_10k_cny": 80.0}
CELL_ORIGIN = {f"BH-T-{i:03d}": (117.7 + i * 0.01, 39.0) for i in range(5)}

STATS = """query($f: CaseFilterInput) { serviceCaseStats(filter: $f) { total merged
  suppressedGroups sla { resolvedOnTime resolvedLate openOnTime openOverdue onTimeRate }
  byGridCell { key label total open overdue } byCategory { key label total }
  byDepartment { key label total } byChannel { key label total } } }"""
FIGS = "key name firms output10kCny revenue10kCny taxPaid10kCny employees"
AGG = f"""query($by: EconomyGrouping!) {{ economyAggregates(groupBy: $by) {{ period
  suppressedGroups total {{ {FIGS} }} groups {{ {FIGS} }} }} }}"""
FIRMS_IN = "query($cell: String) { economyFirms(gridCell: $cell) { totalCount } }"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _window(start: datetime, end: datetime) -> dict[str, str]:
    return {"reportedAfter": _utc(start), "reportedBefore": _utc(end)}


ONE_SECOND = _window(LONELY_CASE_AT, LONELY_CASE_AT + timedelta(seconds=1))


def _row(kind: str, key: str, source: str, attrs: dict[str, Any], **more: Any) -> Record:
    """A record as its source system gave it on the day (its key is its source id)."""
    return Record(
        kind=kind, key=key, source_system=source, source_id=key, fetched_at=DAY, attrs=attrs, **more
    )


def _case(key: str, cell: str, at: datetime, **attrs: Any) -> Record:
    return _row(
        "ServiceCase",
        key,
        "cityhub",
        {
            "title": "路灯不亮",
            "content": "路灯坏了",
            "channel": "12345便民服务热线",
            "category": "C01",
            "street": EAST if cell.startswith("BH-E") else WEST,
            "grid_cell": cell,
            "reported_at": at.isoformat(),
        }
        | attrs,
    )


def catalog() -> list[Record]:
    """The duty catalog the case desk reads (categories, their departments and deadlines)."""
    out = []
    for code, name, department in (
        ("C01", "市政设施", "区城市管理委员会"),
        (LONELY_CATEGORY, "信访事项", "区信访办"),
    ):
        out.append(
            _row("DutyCategory", code, "duty-catalog", {"name": name, "department": department})
        )
        sub = {"name": name, "category": code, "time_limit_hours": 72}
        out.append(_row("DutySubCategory", f"{code}-01", "duty-catalog", sub))
    return out


def cases() -> list[Record]:
    """The day's cases (hours 7–20 in the city's time; the lonely one at 10:00:00.5), and
    cases just outside the day (23:30 the day before, 00:10 the day after)."""
    out = [
        _case(
            "CASE-LONELY",
            LONELY_CELL,
            LONELY_CASE_AT + timedelta(milliseconds=500),
            category=LONELY_CATEGORY,
            channel=LONELY_CHANNEL,
        )
    ]
    for cell, n in CASES.items():
        for i in range(n if cell != LONELY_CELL else 0):
            # 07:00 local is still the day before in UTC: a UTC day would miss it
            out.append(_case(f"CASE-{cell}-{i}", cell, DAY + timedelta(hours=7 + 2 * i)))
    out += [
        _case("CASE-EVE-0", LONELY_CELL, DAY - timedelta(minutes=30)),
        _case("CASE-EVE-1", LONELY_CELL, DAY - timedelta(minutes=31)),
        _case("CASE-MORROW", "BH-T-003", DAY + timedelta(days=1, minutes=10)),
    ]
    return out


def firms() -> list[Record]:
    """Firms in the five west cells with their 2025 figures; one alone in its cell and in its
    industry, with figures no sum of the others can produce."""
    out: list[Record] = []
    n = 0
    for cell, count in FIRMS.items():
        lon, lat = CELL_ORIGIN[cell]
        for i in range(count):
            lonely = cell == LONELY_CELL
            key = f"ENT-{n:03d}"
            uscc = f"91120116MA{n:07d}X"
            name = LONELY_FIRM_NAME if lonely else f"测试企业{n:03d}有限公司"
            industry = LONELY_INDUSTRY if lonely else ("制造业" if n % 2 else "批发零售")
            point = {"type": "Point", "coordinates": [lon + 0.001 + 0.0005 * i, lat + 0.005]}
            firm = {"name": name, "uscc": uscc, "industry": industry}
            out.append(
                _row("Enterprise", key, "market-regulation", firm, geometry=point, datum="GCJ-02")
            )
            figures = LONELY_FIRM if lonely else PLAIN_FIRM
            indicator = {
                "subject_type": "firm",
                "subject_name": name,
                "uscc": uscc,
                "industry": industry,
                "park": None,
                "period": "2025",
                "employees": 77 if lonely else 10,
            }
            out.append(
                _row("EconomicIndicator", f"ECO-2025-{key}", "economic-stats", indicator | figures)
            )
            n += 1
    return out


@dataclass
class City:
    hub: Hub
    counts: str  # a partner with counts only, k = 5 (the default)
    counts_k3: str  # counts only, min_group = 3
    east_counts: str  # a department of the east street, its cases as counts only
    east_rows: str  # a department of the east street reading its cases' rows
    operator: str
    steward: str
    viewer: str  # a partner agency's person: rows, personal data masked


def _client(hub: Hub, name: str, policy: str) -> str:
    """A client governed by a policy of its own (``{id}`` stands for its client id)."""
    client_id, secret = register_client(hub.app, name)
    hub.publish(policy.replace("{id}", client_id), reason=f"test policy for {name}")
    return fetch_token(hub.http, client_id, secret)


COUNTS_ONLY = """name = "counts-{id}"
subject = "client:{id}"
clearance = "internal"
[types."*"]
aggregate_only = true
"""
EAST_DEPARTMENT = """name = "east-{id}"
subject = "client:{id}"
clearance = "internal"
principals = {{ "client:{id}" = {{ street = "{east}" }} }}
[types.ServiceCase]
row_filter = "record.street == principal.street"
{case}
[types."*"]
{other}
"""


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    folder: Path = tmp_path_factory.mktemp("aggregates-k")
    for hub in hub_over(folder, two_streets() + catalog() + cases() + firms()):
        yield City(
            hub=hub,
            counts=_client(hub, "k-counts", COUNTS_ONLY),
            counts_k3=_client(hub, "k-counts-3", COUNTS_ONLY + "min_group = 3\n"),
            east_counts=_client(
                hub,
                "k-east-counts",
                EAST_DEPARTMENT.format(
                    id="{id}",
                    east=EAST,
                    case="aggregate_only = true\nmin_group = 5",
                    other="aggregate_only = true",
                ),
            ),
            east_rows=_client(
                hub,
                "k-east-rows",
                EAST_DEPARTMENT.format(id="{id}", east=EAST, case="", other='fields = ["*"]'),
            ),
            operator=person_token(hub, "k-operator", "operator", "graph:read"),
            steward=person_token(hub, "k-steward", "steward", "graph:read"),
            viewer=person_token(hub, "k-viewer", "partner-viewer", "graph:read"),
        )


def ask(city: City, token: str, query: str, **variables: Any) -> tuple[dict[str, Any], str]:
    """The answer's JSON and its text to scan for hidden values: the raw body, and the body
    with its escaped characters read (a Chinese value is ``\\u…`` in the raw body)."""
    response = city.hub.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return dict(body), response.text + json.dumps(body, ensure_ascii=False)


def figures(city: City, token: str, query: str, **variables: Any) -> tuple[dict[str, Any], str]:
    body, text = ask(city, token, query, **variables)
    assert "errors" not in body, body
    return dict(body["data"]), text


def refused(city: City, token: str, query: str, **variables: Any) -> str:
    """The refusal's message; the answer carries no figure."""
    body, _ = ask(city, token, query, **variables)
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    return str(error["message"])


def _keys(buckets: list[dict[str, Any]]) -> set[str]:
    return {b["key"] for b in buckets}


def _no_trace_of_the_lonely_case(text: str) -> None:
    for hidden in (LONELY_CELL, LONELY_CATEGORY, LONELY_CHANNEL):
        assert hidden not in text, hidden


def _breakdowns_cannot_be_differenced(stats: dict[str, Any], k: int) -> None:
    """In every breakdown each shown group holds at least k cases, and the total minus the
    shown groups is either nothing or at least k cases."""
    for name in ("byGridCell", "byCategory", "byDepartment", "byChannel"):
        shown = [b["total"] for b in stats[name]]
        assert all(n >= k for n in shown), (name, shown)
        rest = stats["total"] - sum(shown)
        assert rest == 0 or rest >= k, (name, rest)
    sla = [v for n, v in stats["sla"].items() if n != "onTimeRate" and v is not None]
    assert all(v == 0 or v >= k for v in sla)
    rest = stats["total"] - sum(sla)
    assert rest == 0 or rest >= k


def test_a_one_second_window_gives_the_days_figures(city: City) -> None:
    stats, text = figures(city, city.counts, STATS, f=ONE_SECOND)
    day = _window(DAY, DAY + timedelta(days=1))
    whole_day, _ = figures(city, city.counts, STATS, f=day)
    assert stats == whole_day
    assert stats["serviceCaseStats"]["total"] == DAY_TOTAL  # not 1: the window is the day
    _no_trace_of_the_lonely_case(text)
    # a window within the day, or ending at its midnight exactly, is the same day
    later = _window(DAY + timedelta(hours=19), DAY + timedelta(days=1))
    assert figures(city, city.counts, STATS, f=later)[0] == whole_day
    # the operator reads the rows: the one second, exactly
    exact, text = figures(city, city.operator, STATS, f=ONE_SECOND)
    assert exact["serviceCaseStats"]["total"] == 1
    assert _keys(exact["serviceCaseStats"]["byGridCell"]) == {LONELY_CELL}
    assert LONELY_CHANNEL in text


def test_groups_below_k_are_withheld_with_their_complements(city: City) -> None:
    data, text = figures(city, city.counts, STATS, f=ONE_SECOND)
    stats = data["serviceCaseStats"]
    # cells of 1 and 3 cases withheld, and the 5-case cell that would give them away
    assert {b["key"]: b["total"] for b in stats["byGridCell"]} == {"BH-T-000": 7, "BH-T-001": 6}
    assert stats["byChannel"] == [] and stats["byCategory"] == []  # 21 + 1: both withheld
    assert stats["suppressedGroups"] >= 3 + 2 + 2
    _breakdowns_cannot_be_differenced(stats, 5)
    _no_trace_of_the_lonely_case(text)
    # the steward and a partner viewer read rows: every group, exactly
    for token in (city.steward, city.viewer):
        full = figures(city, token, STATS, f=ONE_SECOND)[0]["serviceCaseStats"]
        assert full["total"] == 1 and full["suppressedGroups"] == 0
        assert _keys(full["byChannel"]) == {LONELY_CHANNEL}


def test_a_filter_isolating_fewer_than_k_cases_is_refused(city: City) -> None:
    for wanted in (
        {"category": LONELY_CATEGORY},
        {"gridCell": LONELY_CELL} | ONE_SECOND,
        {"gridCell": "BH-T-003"} | ONE_SECOND,  # three cases that day
        {"channel": "MAILBOX", "street": WEST},
    ):
        message = refused(city, city.counts, STATS, f=wanted)
        assert "at least 5 cases" in message, message
    # a filter that keeps k or more is answered; one that keeps none says none
    seven = figures(city, city.counts, STATS, f={"gridCell": "BH-T-000"} | ONE_SECOND)[0]
    assert seven["serviceCaseStats"]["total"] == 7
    none = figures(city, city.counts, STATS, f={"gridCell": "BH-T-004"})[0]
    assert none["serviceCaseStats"]["total"] == 0
    # the operator gets the exact count of the same filter
    one = figures(city, city.operator, STATS, f={"category": LONELY_CATEGORY})[0]
    assert one["serviceCaseStats"]["total"] == 1


def test_k_is_the_policys(city: City) -> None:
    stats = figures(city, city.counts_k3, STATS, f=ONE_SECOND)[0]["serviceCaseStats"]
    # k = 3: the lonely cell withheld, and the 3-case cell as its complement; 5 cases shown
    assert {b["key"] for b in stats["byGridCell"]} == {"BH-T-000", "BH-T-001", "BH-E-000"}
    _breakdowns_cannot_be_differenced(stats, 3)
    three = figures(city, city.counts_k3, STATS, f={"gridCell": "BH-T-003"} | ONE_SECOND)[0]
    assert three["serviceCaseStats"]["total"] == 3  # refused under k = 5, served under 3
    lonely = {"gridCell": LONELY_CELL} | ONE_SECOND  # the day: one case in that cell
    assert "at least 3 cases" in refused(city, city.counts_k3, STATS, f=lonely)
    cells = figures(city, city.counts_k3, AGG, by="CELL")[0]["economyAggregates"]
    assert {g["key"] for g in cells["groups"]} == {"BH-T-000", "BH-T-001", "BH-T-004"}


def test_a_departments_view_of_its_street_obeys_its_policy(city: City) -> None:
    stats, text = figures(city, city.east_counts, STATS, f=ONE_SECOND)
    east = stats["serviceCaseStats"]
    assert east["total"] == CASES["BH-E-000"]  # its street's day, counts only
    assert {b["key"] for b in east["byGridCell"]} == {"BH-E-000"}
    assert "BH-T-" not in text and WEST not in text
    # the west's lonely case is outside its view: zero, not refused, not one
    none = figures(city, city.east_counts, STATS, f={"category": LONELY_CATEGORY})[0]
    assert none["serviceCaseStats"]["total"] == 0
    # reading its street's rows: exact figures of its street only
    exact = figures(city, city.east_rows, STATS, f=ONE_SECOND)[0]["serviceCaseStats"]
    assert exact["total"] == 0  # no east case in that second
    day = figures(city, city.east_rows, STATS)[0]["serviceCaseStats"]
    assert day["total"] == CASES["BH-E-000"] and day["suppressedGroups"] == 0


def _lonely_values() -> list[str]:
    return [LONELY_FIRM_NAME, LONELY_INDUSTRY, *(str(v) for v in LONELY_FIRM.values())]


def test_firms_alone_in_their_group_are_withheld_with_their_revenue_and_tax(city: City) -> None:
    total_firms = sum(FIRMS.values())
    for by in ("CELL", "INDUSTRY", "PARK"):
        data, text = figures(city, city.counts, AGG, by=by)
        agg = data["economyAggregates"]
        for value in _lonely_values():
            assert value not in text, (by, value)
        assert agg["total"]["firms"] == total_firms
        shown = agg["groups"]
        assert all(g["firms"] >= 5 for g in shown), (by, shown)
        # the total minus the shown groups: k firms or more, never the lonely one's figures
        rest_firms = total_firms - sum(g["firms"] for g in shown)
        assert rest_firms == 0 or rest_firms >= 5
        for name, field in (
            ("revenue_10k_cny", "revenue10kCny"),
            ("tax_paid_10k_cny", "taxPaid10kCny"),
        ):
            rest = agg["total"][field] - sum(g[field] for g in shown)
            assert abs(rest - LONELY_FIRM[name]) > 1.0, (by, name, rest)
    cells = figures(city, city.counts, AGG, by="CELL")[0]["economyAggregates"]
    # cells of 1 and 3 firms withheld, and the 5-firm cell that would give them away
    assert [g["key"] for g in cells["groups"]] == ["BH-T-000", "BH-T-001"]
    assert cells["suppressedGroups"] == 3
    # the counts of a filter isolating fewer than k firms are refused too
    assert "at least 5 firms" in refused(city, city.counts, FIRMS_IN, cell=LONELY_CELL)
    assert figures(city, city.counts, FIRMS_IN, cell="BH-T-000")[0] == {
        "economyFirms": {"totalCount": 8}
    }


def test_full_readers_get_exact_economy_figures(city: City) -> None:
    for token in (city.operator, city.steward, city.viewer):
        data, text = figures(city, token, AGG, by="CELL")
        agg = data["economyAggregates"]
        lonely = next(g for g in agg["groups"] if g["key"] == LONELY_CELL)
        assert lonely["firms"] == 1 and agg["suppressedGroups"] == 0
        assert lonely["revenue10kCny"] == LONELY_FIRM["revenue_10k_cny"]
        assert lonely["taxPaid10kCny"] == LONELY_FIRM["tax_paid_10k_cny"]
        assert {g["key"]: g["firms"] for g in agg["groups"]} == FIRMS
        assert str(LONELY_FIRM["revenue_10k_cny"]) in text


def test_counts_of_too_few_rows_are_refused(city: City) -> None:
    """``count(type:)`` and a record connection's ``totalCount`` for a counts-only caller:
    two duty categories are too few to count, 23 firms are not; the operator counts both."""
    few = '{ count(type: "DutyCategory") }'
    assert "at least 5 DutyCategory rows" in refused(city, city.counts, few)
    firms = '{ count(type: "Enterprise") }'
    assert figures(city, city.counts, firms)[0] == {"count": sum(FIRMS.values())}
    assert figures(city, city.operator, few)[0] == {"count": 2}


def test_a_lower_min_group_widens() -> None:
    from hub.policy.model import parse_document
    from hub.policy.widening import widening

    before = parse_document(COUNTS_ONLY.replace("{id}", "x") + "min_group = 5\n")
    lower = parse_document(COUNTS_ONLY.replace("{id}", "x") + "min_group = 3\n")
    higher = parse_document(COUNTS_ONLY.replace("{id}", "x") + "min_group = 8\n")
    assert any("min_group" in reason for reason in widening(before, lower))
    assert widening(before, higher) == []
    assert widening(lower, before) == []


@given(
    st.lists(st.integers(min_value=0, max_value=40), max_size=30),
    st.integers(min_value=2, max_value=12),
)
def test_published_groups_cannot_be_differenced(sizes: list[int], k: int) -> None:
    """For any breakdown: shown groups hold k rows or none, and the withheld ones together
    hold none or at least k (or the whole total is below k, and refused)."""
    show = FigureRule(k).shown(sizes)
    assert all(n >= k or n == 0 for n, s in zip(sizes, show, strict=True) if s)
    hidden = sum(n for n, s in zip(sizes, show, strict=True) if not s)
    assert hidden == 0 or hidden >= k or sum(sizes) < k
    assert FigureRule().shown(sizes) == [True] * len(sizes)


def test_day_windows_are_the_citys_days() -> None:
    rule = FigureRule(5)
    start, end = rule.window(
        datetime(2026, 3, 1, 23, 30, tzinfo=UTC), datetime(2026, 3, 1, 23, 30, 1, tzinfo=UTC)
    )
    # 23:30 UTC is 07:30 in the city, the 2nd of March
    assert start == datetime(2026, 3, 2, tzinfo=CITY_TZ)
    assert end == datetime(2026, 3, 3, tzinfo=CITY_TZ)
    midnight = datetime(2026, 3, 3, tzinfo=CITY_TZ)
    assert rule.window(None, midnight) == (None, midnight)
    assert FigureRule().window(start, start) == (start, start)
