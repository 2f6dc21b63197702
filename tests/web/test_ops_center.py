"""The operations centre end to end in headless Chromium: sign-in through the hub's OAuth
(code + PKCE), the map's 743 cells, a live alarm, the stewards' policy workflow changing what
a partner sees, entity 360° and the audit log. Screenshots go to test-artifacts/screens/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx2 as httpx
from playwright.sync_api import expect

from hub.live import Alarm, Reading
from tests.auth_helpers import fetch_token, register_client
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
    response = httpx.get(web_hub.base + "/")
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
    page.wait_for_selector(".map-wrap[data-ready='1']")
    expect(page.locator("[data-layer=cells]")).to_be_checked()
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
        client_id, secret = register_client(web_hub.app, "web-gauge", scopes=["telemetry:write"])
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
    workflow.publish("partner-viewer", draft.version, author="user:ops-stella", reason="go")

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
    # and rolled back from the editor, the phone is whole again
    steward.click("nav a[data-view=policies]")
    steward.click("li[data-policy=partner-viewer]")
    steward.fill("#policy-reason", "partners need to call")
    steward.click("#policy-rollback")
    expect(steward.locator("#policy-status")).to_contain_text("已回滚")
    cells.nth(100).dispatch_event("click")
    expect(phone).to_have_text(whole)
    for page in (partner, steward):
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
