"""The operations centre end to end in headless Chromium: sign-in through the hub's OAuth
(code + PKCE), the map's 743 cells, a live alarm, the stewards' policy workflow changing what
a partner sees, entity 360° and the audit log. Screenshots go to test-artifacts/screens/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx2 as httpx
from playwright.sync_api import expect

from hub.live import Alarm, Reading
from tests.auth_helpers import fetch_token, register_client
from tests.policy_helpers import publish_approved
from tests.web.conftest import WebHub, screenshot, sign_in

PARTNER_REVEALED = """name = "partner-viewer"
subject = "role:partner-viewer"
clearance = "internal"

[types."*"]
fields = ["*"]

[types.Inspector]
fields = ["*"]
reveal = ["phone"]
"""


def test_sign_in_serves_the_ui_with_its_csp(browser: object, web_hub: WebHub) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    expect(page.locator("#who")).to_contain_text("ops-oscar")
    expect(page.locator("header h1")).to_have_text("滨海新区城市运营中心")
    # the token came through PKCE, not in the URL, and the page carries its CSP
    assert "code=" not in page.url
    response = httpx.get(web_hub.base + "/", timeout=30)  # the map is loading meanwhile
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert '<script type="module" src="/assets/' in response.text
    page.click("#lang-toggle")
    expect(page.locator("header h1")).to_have_text("Binhai City Operations Centre")
    page.click("#lang-toggle")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_the_map_shows_743_cells_and_their_details(browser: object, web_hub: WebHub) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    cells = page.locator("path.grid-cell")
    expect(cells).to_have_count(743, timeout=30_000)
    expect(page.locator("path.district-outline")).to_have_count(1)
    page.wait_for_selector(".map-wrap[data-ready='1']", timeout=180_000)
    expect(page.locator("[data-layer=cells]")).to_be_checked()
    # every app's layer loads within the hub's cost budget (the large ones page), whole
    expect(page.locator("#layers .error")).to_have_count(0)
    expect(page.locator("path.feature-vehicles")).to_have_count(2673, timeout=180_000)
    expect(page.locator("path.feature-cameras")).to_have_count(4000, timeout=180_000)
    expect(page.locator("path.feature-rivers, path.feature-stations").first).to_be_attached()
    cells.nth(100).dispatch_event("click")
    expect(page.locator(".cell-details")).to_be_visible()
    # the operator policy serves inspectors' phones whole
    expect(page.locator(".inspector-phone")).to_have_text(re.compile(r"^1\d{10}$"))
    expect(page.locator(".kpi")).to_have_count(5)
    screenshot(page, "map")
    # the layer toggle takes the cells off the map and puts them back
    page.uncheck("[data-layer=cells]")
    expect(cells).to_have_count(0)
    page.check("[data-layer=cells]")
    expect(cells).to_have_count(743)
    page.set_viewport_size({"width": 2560, "height": 1440})
    screenshot(page, "map-wall-display")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_an_alarm_posted_to_telemetry_appears_without_reload(
    browser: object, web_hub: WebHub
) -> None:
    kind = f"ops.test-level-{uuid.uuid4().hex[:6]}"

    def over_the_line(readings: Sequence[Reading]) -> list[Alarm]:
        # A rule of this test's own: a level above 5 m raises an alarm.
        return [
            Alarm(
                id=f"{kind}:{r.id}:{r.at}",
                kind="water.flood",
                severity="alarm",
                subject_type="WaterStation",
                subject_key=r.id,
                message=f"水位 {r.value} m 超警戒",
                at=datetime.fromtimestamp(r.at, UTC),
                value=r.value,
                lon=117.7,
                lat=39.03,
                source="test",
            )
            for r in readings
            if r.value is not None and r.value > 5
        ]

    web_hub.app.state.hub.live.register(kind, over_the_line)
    page = sign_in(browser, web_hub, "ops-oscar")
    expect(page.locator("#feed-state")).to_have_class("live", timeout=15_000)
    before = page.locator("#alarm-feed li.alarm").count()
    with httpx.Client(base_url=web_hub.base) as http:
        client_id, secret = register_client(
            web_hub.app, "web-gauge", scopes=["telemetry:write"], devices=["*"]
        )
        token = fetch_token(http, client_id, secret)
        station = f"WS-{uuid.uuid4().hex[:6]}"
        posted = http.post(
            "/telemetry",
            headers={"Authorization": f"Bearer {token}"},
            json=[{"kind": kind, "id": station, "at": datetime.now(UTC).timestamp(), "value": 6.4}],
        )
    assert posted.status_code == 200, posted.text
    assert posted.json()["alarmCount"] == 1
    item = page.locator("#alarm-feed li.alarm").first
    expect(item).to_contain_text("水位 6.4 m 超警戒", timeout=15_000)
    expect(page.locator("#alarm-feed li.alarm")).to_have_count(before + 1)
    expect(page.locator("#kpi-alarms .value")).not_to_have_text("—")
    expect(page.locator("path.feature-alarm").first).to_be_attached()
    screenshot(page, "alarm-feed")
    page.context.close()


def test_a_steward_publishes_a_policy_and_the_partner_sees_a_phone_masked(
    browser: object, web_hub: WebHub
) -> None:
    workflow = web_hub.app.state.policy_workflow
    draft = workflow.draft(PARTNER_REVEALED, author="user:ops-stella", reason="partners call")
    publish_approved(
        workflow, "partner-viewer", draft.version, author="user:ops-stella", reason="go"
    )

    partner = sign_in(browser, web_hub, "ops-petra")
    cells = partner.locator("path.grid-cell")
    expect(cells).to_have_count(743, timeout=30_000)
    cells.nth(100).dispatch_event("click")
    phone = partner.locator(".inspector-phone")
    expect(phone).to_have_text(re.compile(r"^1\d{10}$"))  # whole, as the policy reveals it
    whole = phone.inner_text()
    # a partner sees neither the policy editor nor the audit log
    expect(partner.locator("nav a[data-view=policies]")).to_have_count(0)

    steward = sign_in(browser, web_hub, "ops-stella")
    steward.click("nav a[data-view=policies]")
    steward.click("li[data-policy=partner-viewer]")
    source = steward.locator("#policy-source")
    expect(source).to_have_value(re.compile('reveal = \\["phone"\\]'))
    source.fill(PARTNER_REVEALED.replace('reveal = ["phone"]\n', ""))
    steward.fill("#policy-reason", "partners: phones masked again")
    steward.click("#policy-dry-run")
    diff = steward.locator("#policy-diff table")
    expect(diff).to_contain_text("Inspector")
    expect(diff).to_contain_text("user:ops-petra")  # the partner who signed in
    expect(diff).to_contain_text("→ name,phone")
    screenshot(steward, "policy-dry-run")
    steward.click("#policy-publish")
    expect(steward.locator("#policy-status")).to_contain_text("已发布")
    expect(steward.locator("#policy-versions")).to_contain_text("partners: phones masked again")

    cells.nth(100).dispatch_event("click")
    expect(phone).to_have_text(re.compile(r"\*"))
    masked = phone.inner_text()
    assert masked != whole and masked[:3] == whole[:3] and masked[-4:] == whole[-4:]
    screenshot(partner, "partner-masked")

    # the change is in the audit log, which the steward browses
    steward.click("nav a[data-view=audit]")
    steward.fill("input[name=action]", "policy.change")
    steward.click(".filters button[type=submit]")
    expect(steward.locator("#audit-entries table").first).to_contain_text("user:ops-stella")
    screenshot(steward, "audit-log")
    # rolled back from the editor: back to the wider version, so it awaits a second
    # steward (four eyes) — its author cannot approve it, another steward can
    steward.click("nav a[data-view=policies]")
    steward.click("li[data-policy=partner-viewer]")
    steward.fill("#policy-reason", "partners need to call")
    steward.click("#policy-rollback")
    expect(steward.locator("#policy-status")).to_contain_text(
        "待另一名数据管理员批准", timeout=15_000
    )
    expect(steward.locator("#policy-status")).to_contain_text("revealed: phone")
    steward.locator("#policy-pending .policy-approve").click()
    expect(steward.locator("#policy-status")).to_contain_text(
        "another steward must approve it", timeout=15_000
    )
    cells.nth(100).dispatch_event("click")
    expect(phone).to_have_text(re.compile(r"\*"))  # not in force

    second = sign_in(browser, web_hub, "ops-sven")
    second.click("nav a[data-view=policies]")
    expect(second.locator("li[data-policy=partner-viewer] .badge.pending")).to_be_visible(
        timeout=15_000
    )
    second.click("li[data-policy=partner-viewer]")
    expect(second.locator("#policy-pending")).to_contain_text("user:ops-stella", timeout=15_000)
    screenshot(second, "policy-pending")
    second.fill("#policy-reason", "agreed: partners call inspectors")
    second.locator("#policy-pending .policy-approve").click()
    expect(second.locator("#policy-status")).to_contain_text("已批准并发布", timeout=15_000)
    cells.nth(100).dispatch_event("click")
    expect(phone).to_have_text(whole)
    for page in (partner, steward, second):
        assert page.errors == []  # type: ignore[attr-defined]
        page.context.close()


def test_entity_360_search_sources_and_neighbourhood(browser: object, web_hub: WebHub) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    page.click("nav a[data-view=entity]")
    page.fill("#entity-search", "化工")
    page.click(".search button")
    hits = page.locator("#search-hits li.hit")
    expect(hits.first).to_be_visible(timeout=15_000)
    hits.first.click()
    detail = page.locator("#entity-detail")
    expect(detail.locator("details.source").first).to_be_attached(timeout=15_000)
    expect(detail.locator("svg.neighbourhood g.node.centre")).to_have_count(1)
    screenshot(page, "entity-360")
    page.click("nav a[data-view=cases]")
    expect(page.locator("#case-board")).to_be_visible()
    screenshot(page, "case-board")
    page.click("nav a[data-view=finance]")
    expect(page.locator("#finance")).to_be_visible()
    screenshot(page, "finance")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


# -- the case board over the citizen-service app --------------------------------------------

OPEN_STATUSES = ["FILED", "VERIFYING", "DISPATCHED", "RETURNED", "HANDLING"]
FILE_CASE = """mutation($input: FileCaseInput!) {
  fileCase(input: $input) { id status gridCell department history { action } } }"""
HISTORY = "query($id: ID!) { serviceCase(id: $id) { status department history { actor action } } }"


def graphql(page: Any, query: str, *, errors: bool = False, **variables: Any) -> dict[str, Any]:
    """GraphQL with the signed-in page's own token: what the UI itself is served (the data;
    with ``errors``, the whole answer, errors expected)."""
    answer: dict[str, Any] = page.evaluate(
        """async ([query, variables]) => {
          const s = JSON.parse(sessionStorage.getItem("ops-session"));
          const r = await fetch("/graphql", { method: "POST",
            body: JSON.stringify({ query, variables }),
            headers: { "Content-Type": "application/json", Authorization: `Bearer ${s.token}`,
                       "Cityhub-Purpose": "operations-centre" } });
          return await r.json();
        }""",
        [query, variables],
    )
    if errors:
        return answer
    assert not answer.get("errors"), answer["errors"]
    return dict(answer["data"])


def cell_point(hub: WebHub, index: int) -> tuple[str, float, float]:
    """A grid cell and a point well inside it (its inspector's home position)."""
    store = hub.app.state.store
    cell = store.page("GridCell", limit=index + 1)[index]
    inspector = store.get("Inspector", cell.attrs["inspector"])
    lon, lat = inspector.geometry["coordinates"]
    return cell.key, float(lon), float(lat)


def test_a_case_is_dispatched_from_the_board_and_its_timeline_updates(
    browser: object, web_hub: WebHub
) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    cell, lon, lat = cell_point(web_hub, 40)
    # a grid inspector's own report: it may go to the department without a site check
    filed = graphql(
        page,
        FILE_CASE,
        input={"channel": "GRID", "description": "井盖缺失，行人易跌落", "lon": lon, "lat": lat},
    )["fileCase"]
    assert filed["status"] == "FILED" and filed["gridCell"] == cell
    assert filed["department"], filed
    case_id = filed["id"]

    page.click("nav a[data-view=cases]")
    board = page.locator("#case-board")
    expect(board.locator("#case-table tbody tr").first).to_be_visible(timeout=15_000)
    expect(board.locator("th").first).to_have_text("案件编号")
    everything = int(page.locator("#case-count").get_attribute("data-total") or 0)
    assert everything > 5000  # the four channels' cases and the one just filed
    department = board.locator("select[name=department]")
    expect(department.locator(f"option[value='{filed['department']}']")).to_be_attached()

    # filter: filed grid reports in this cell for this department
    board.locator("select[name=status]").select_option("FILED")
    board.locator("select[name=channel]").select_option("GRID")
    board.locator("input[name=gridCell]").fill(cell)
    department.select_option(filed["department"])
    board.locator("#case-filters button[type=submit]").click()
    expect(page.locator("#case-count")).to_have_attribute("data-total", "1")
    row = board.locator(f"tr[data-case='{case_id}']")
    expect(row).to_have_attribute("data-status", "FILED")
    screenshot(page, "case-board-filtered")

    # open it: its timeline has the filing; the steps are the ones a filed case can take
    page.evaluate("window.__sameDocument = true")
    row.click()
    timeline = page.locator("#case-timeline li")
    expect(timeline).to_have_count(1)
    expect(timeline.first).to_have_attribute("data-action", "file")
    expect(page.locator("#case-status")).to_have_text("已立案")
    expect(page.locator("#act-dispatch")).to_be_visible()
    expect(page.locator("#act-verify")).to_be_visible()
    for absent in ("transfer", "close", "resolve"):
        expect(page.locator(f"#act-{absent}")).to_have_count(0)

    # dispatch it from the board: the timeline gains the step without a reload
    page.locator("form[data-step=dispatch] input[name=note]").fill("请尽快加盖")
    page.click("#act-dispatch")
    expect(timeline).to_have_count(2)
    step = timeline.nth(1)
    expect(step).to_have_attribute("data-action", "dispatch")
    expect(step).to_contain_text("批转")
    expect(step).to_contain_text("user:ops-oscar")
    expect(step).to_contain_text(f"to {filed['department']}: 请尽快加盖")
    expect(page.locator("#case-status")).to_have_text("已批转")
    expect(row).to_have_attribute("data-status", "DISPATCHED")
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    # now it may be transferred, not dispatched again
    expect(page.locator("#act-dispatch")).to_have_count(0)
    expect(page.locator("#act-transfer")).to_be_visible()
    screenshot(page, "case-timeline-dispatched")

    # transfer it to another department: one more step, the department changes
    target = page.locator("form[data-step=transfer] select[name=department] option").nth(1)
    other = target.get_attribute("value")
    assert other and other != filed["department"]
    page.locator("form[data-step=transfer] select[name=department]").select_option(other)
    page.click("#act-transfer")
    expect(timeline).to_have_count(3)
    expect(timeline.nth(2)).to_have_attribute("data-action", "transfer")
    expect(page.locator("#case-detail dd[data-field=department]")).to_have_text(other)

    # the hub agrees with what the board shows
    served = graphql(page, HISTORY, id=case_id)["serviceCase"]
    assert served["status"] == "DISPATCHED" and served["department"] == other
    assert [e["action"] for e in served["history"]] == ["file", "dispatch", "transfer"]
    assert {e["actor"] for e in served["history"][1:]} == {"user:ops-oscar"}

    # English on the toggle (the board is drawn again, in English)
    page.click("#lang-toggle")
    expect(page.locator("#case-board th").first).to_have_text("Case", timeout=15_000)
    expect(page.locator("#case-filters")).to_contain_text("Department")
    page.click("#lang-toggle")
    expect(page.locator("#case-board th").first).to_have_text("案件编号", timeout=15_000)
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_a_step_taken_elsewhere_reaches_the_open_case_live(
    browser: object, web_hub: WebHub
) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    _, lon, lat = cell_point(web_hub, 200)
    report = {"channel": "GRID", "description": "路灯不亮", "lon": lon, "lat": lat}
    case_id = graphql(page, FILE_CASE, input=report)["fileCase"]["id"]
    page.goto(f"{web_hub.base}/#/cases/{case_id}")
    timeline = page.locator("#case-timeline li")
    expect(timeline).to_have_count(1, timeout=15_000)
    expect(page.locator("#case-id")).to_have_text(case_id)
    # another operator's desk dispatches it (here: the same token, outside the board)
    page.wait_for_timeout(500)  # the subscription is connected
    graphql(page, "mutation($id: ID!) { dispatchCase(caseId: $id) { id } }", id=case_id)
    expect(timeline).to_have_count(2, timeout=15_000)
    expect(timeline.nth(1)).to_have_attribute("data-action", "dispatch")
    expect(page.locator("#case-status")).to_have_text("已批转")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_a_step_on_a_case_changed_meanwhile_is_refused_and_the_case_reloaded(
    browser: object, web_hub: WebHub
) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    _, lon, lat = cell_point(web_hub, 300)
    report = {"channel": "GRID", "description": "窨井盖松动", "lon": lon, "lat": lat}
    case_id = graphql(page, FILE_CASE, input=report)["fileCase"]["id"]
    page.goto(f"{web_hub.base}/#/cases/{case_id}")
    timeline = page.locator("#case-timeline li")
    expect(timeline).to_have_count(1, timeout=15_000)
    # the case changes under the open board with no step published (as a sync or another
    # worker's write would): the board still shows version 1
    store = web_hub.app.state.store
    shown = store.get("ServiceCase", case_id)
    assert shown is not None and shown.version == 1
    store.upsert(
        [shown.model_copy(update={"attrs": {**shown.attrs, "title": "窨井盖松动（已核实）"}})]
    )
    page.locator("form[data-step=dispatch] input[name=note]").fill("请处置")
    page.click("#act-dispatch")
    # refused as stale: the case is read again and drawn as it is now, and the board says so
    notice = page.locator("#case-conflict")
    expect(notice).to_be_visible(timeout=15_000)
    expect(notice).to_contain_text("已被他人更新")
    expect(page.locator("#case-detail .case-title")).to_have_text("窨井盖松动（已核实）")
    expect(page.locator("#case-status")).to_have_text("已立案")
    expect(timeline).to_have_count(1)
    screenshot(page, "case-conflict")
    # taken again on what it shows now, the step goes through, once
    page.click("#act-dispatch")
    expect(timeline).to_have_count(2)
    expect(page.locator("#case-conflict")).to_have_count(0)
    served = graphql(page, HISTORY, id=case_id)["serviceCase"]
    assert [e["action"] for e in served["history"]] == ["file", "dispatch"]
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_a_steward_reads_cases_but_takes_no_steps(browser: object, web_hub: WebHub) -> None:
    page = sign_in(browser, web_hub, "ops-stella")
    page.click("nav a[data-view=cases]")
    board = page.locator("#case-board")
    served = graphql(
        page,
        """{ serviceCases(filter: { status: [DISPATCHED], channel: HOTLINE }, first: 1) {
          totalCount edges { node { id } } } }""",
    )["serviceCases"]
    board.locator("select[name=status]").select_option("DISPATCHED")
    board.locator("select[name=channel]").select_option("HOTLINE")
    board.locator("#case-filters button[type=submit]").click()
    count = page.locator("#case-count")
    expect(count).to_have_attribute("data-total", str(served["totalCount"]), timeout=15_000)
    case_id = served["edges"][0]["node"]["id"]
    first = board.locator("#case-table tbody tr").first
    expect(first).to_have_attribute("data-case", case_id)
    expect(first).to_have_attribute("data-status", "DISPATCHED")
    first.click()
    expect(page.locator("#case-status")).to_have_text("已批转")
    # the loop's steps are the operators' (and departments'): no buttons for a steward
    expect(page.locator("#case-actions")).to_contain_text("无可执行的处置")
    expect(page.locator("#case-actions form")).to_have_count(0)
    # personal data is masked for stewards, as their policy says
    expect(page.locator("#case-detail dd[data-field=reporter]")).to_contain_text("*")
    # and the hub refuses what the board does not offer
    refused = graphql(
        page,
        'mutation($id: ID!) { transferCase(caseId: $id, department: "区城管委") { id } }',
        errors=True,
        id=case_id,
    )
    assert refused["errors"] and "operator" in refused["errors"][0]["message"], refused
    screenshot(page, "case-board-steward")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_kpi_tiles_and_cells_show_the_case_apps_figures(browser: object, web_hub: WebHub) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    page.wait_for_selector(".map-wrap[data-ready='1']", timeout=180_000)
    expect(page.locator("path.feature-cases").first).to_be_attached()
    expect(page.locator("#kpi-open .value")).not_to_have_text("—")
    expect(page.locator("#kpi-overdue .value")).not_to_have_text("—")
    served = graphql(
        page,
        """query($open: [CaseStatus!]) {
          stats: serviceCaseStats { sla { openOnTime openOverdue } byGridCell { key open } }
          open: serviceCases(filter: { status: $open }, first: 0) { totalCount }
          overdue: serviceCases(filter: { status: $open, overdue: true }, first: 0) { totalCount }
        }""",
        open=OPEN_STATUSES,
    )
    sla = served["stats"]["sla"]
    assert served["open"]["totalCount"] == sla["openOnTime"] + sla["openOverdue"] > 0
    assert served["overdue"]["totalCount"] == sla["openOverdue"] > 0
    expect(page.locator("#kpi-open .value")).to_have_text(str(served["open"]["totalCount"]))
    expect(page.locator("#kpi-overdue .value")).to_have_text(str(served["overdue"]["totalCount"]))
    # cells are coloured by open cases, or by overdue rate on the picker
    busiest = max(served["stats"]["byGridCell"], key=lambda b: b["open"])
    assert busiest["open"] > 0
    fills = page.locator("path.grid-cell").evaluate_all(
        "els => new Set(els.map(e => e.getAttribute('fill'))).size"
    )
    assert fills > 2
    page.select_option("#cell-metric", "overdue")
    expect(page.locator("#cell-metric")).to_have_value("overdue")
    screenshot(page, "map-cells-by-overdue")
    # a case on the map opens on the board
    page.locator("path.feature-cases").first.dispatch_event("click")
    page.click("#details a.open-in-view")
    expect(page.locator("#case-timeline li").first).to_be_visible(timeout=15_000)
    screenshot(page, "case-board-from-map")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()
