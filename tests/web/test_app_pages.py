"""The apps' pages of the operations centre in headless Chromium: law enforcement, government
services, enterprise services, the economy one-map (page and map layer) and the city figures,
each showing what GraphQL serves the same principal (the numbers fetched with the page's own
token); a partner viewer sees applicants' personal data masked. Screenshots go to
test-artifacts/screens/."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import WebHub, screenshot, sign_in
from tests.web.test_ops_center import graphql


def shown(value: Any) -> str:
    """A number as the UI's ``text`` prints it: integers whole, others to two decimals."""
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}"
    return str(int(value)) if isinstance(value, float) else str(value)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def fig(page: Any, name: str) -> Any:
    return page.locator(f"#fig-{name} .value")


def open_view(page: Any, view: str) -> None:
    page.click(f"nav a[data-view={view}]")
    expect(page.locator(f"main[data-route={view}]")).to_be_attached()


def test_law_enforcement_page_shows_the_apps_figures_and_filters(
    browser: object, web_hub: WebHub
) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    open_view(page, "law")
    expect(fig(page, "law-cases")).not_to_have_text("—", timeout=180_000)
    dept = "department cases open overdue anomalous finesCny"
    served = graphql(
        page,
        f"""{{ enforcementStats {{ totals {{ {dept} }} byDepartment {{ {dept} }} }}
          all: enforcementCases(first: 0) {{ totalCount }}
          overdue: enforcementCases(overdue: true, first: 0) {{ totalCount }}
          anomalous: enforcementCases(anomalous: true, first: 0) {{ totalCount }} }}""",
    )
    totals = served["enforcementStats"]["totals"]
    assert totals["cases"] == served["all"]["totalCount"] > 500
    assert totals["overdue"] > 0 and totals["anomalous"] >= 0
    expect(fig(page, "law-cases")).to_have_text(str(totals["cases"]))
    expect(fig(page, "law-open")).to_have_text(str(totals["open"]))
    expect(fig(page, "law-overdue")).to_have_text(str(totals["overdue"]))
    expect(fig(page, "law-anomalous")).to_have_text(str(totals["anomalous"]))
    expect(fig(page, "law-fines")).to_have_text(shown(totals["finesCny"]))
    departments = served["enforcementStats"]["byDepartment"]
    expect(page.locator("#law-by-department tbody tr")).to_have_count(len(departments))
    first = departments[0]
    row = page.locator("#law-by-department tbody tr").nth(0)
    expect(row.locator("td[data-key=department]")).to_have_text(first["department"])
    expect(row.locator("td[data-key=cases]")).to_have_text(str(first["cases"]))
    expect(page.locator("#law-found")).to_have_text(str(totals["cases"]))
    expect(page.locator("#law-table tbody tr")).to_have_count(100)
    # the overdue filter, then one department's overdue cases
    page.select_option("#law-overdue", "true")
    page.click("#law-apply")
    expect(page.locator("#law-found")).to_have_text(str(served["overdue"]["totalCount"]))
    expect(page.locator("#law-table tbody tr").first.locator(".flag").first).to_be_visible()
    page.select_option("#law-department", first["department"])
    page.click("#law-apply")
    expect(page.locator("#law-found")).to_have_text(str(first["overdue"]))
    # anomalies: flagged cases with their flags shown
    page.select_option("#law-department", "")
    page.select_option("#law-overdue", "")
    page.select_option("#law-anomaly", "ANY")
    page.click("#law-apply")
    expect(page.locator("#law-found")).to_have_text(str(served["anomalous"]["totalCount"]))
    if served["anomalous"]["totalCount"]:
        expect(page.locator("#law-table [data-anomaly]").first).to_be_visible()
    screenshot(page, "law-enforcement")
    page.click("#lang-toggle")
    expect(page.locator("#law h3")).to_have_text("Law enforcement")
    page.click("#lang-toggle")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


GOV_STATS = """{ govServiceStats { items itemsOnline itemsServedOnline applications decided
  averageDays onTimeRate byStatus { key count } byDepartment { department applications } } }"""
APPLICANTS = """{ serviceApplications(first: 100) { totalCount
  edges { node { key applicantName applicantPhone applicantIdNumber } } } }"""


def test_gov_services_page_shows_items_applications_and_decision_time(
    browser: object, web_hub: WebHub
) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    open_view(page, "gov")
    expect(fig(page, "gov-items")).not_to_have_text("—", timeout=180_000)
    s = graphql(page, GOV_STATS)["govServiceStats"]
    assert s["applications"] > 0 and s["itemsServedOnline"] > 0
    expect(fig(page, "gov-items")).to_have_text(str(s["items"]))
    expect(fig(page, "gov-items-online")).to_have_text(str(s["itemsOnline"]))
    expect(fig(page, "gov-items-served-online")).to_have_text(str(s["itemsServedOnline"]))
    expect(fig(page, "gov-applications")).to_have_text(str(s["applications"]))
    expect(fig(page, "gov-decided")).to_have_text(str(s["decided"]))
    expect(fig(page, "gov-average-days")).to_have_text(shown(s["averageDays"]))
    expect(fig(page, "gov-on-time")).to_have_text(pct(s["onTimeRate"]))
    for bucket in s["byStatus"]:
        row = page.locator(f"#gov-by-status tbody tr[data-row={bucket['key']}]")
        expect(row.locator("td[data-key=count]")).to_have_text(str(bucket["count"]))
    expect(page.locator("#gov-by-department tbody tr")).to_have_count(len(s["byDepartment"]))
    expect(page.locator("#gov-items-table tbody tr")).to_have_count(s["items"])
    # the applications list as served, then by status
    apps = graphql(page, APPLICANTS)["serviceApplications"]
    expect(page.locator("#gov-found")).to_have_text(str(apps["totalCount"]))
    first = apps["edges"][0]["node"]
    row = page.locator(f"#gov-table tbody tr[data-row='{first['key']}']")
    expect(row.locator("td[data-key=applicantName]")).to_have_text(shown(first["applicantName"]))
    approved = next(b for b in s["byStatus"] if b["key"] == "approved")
    page.select_option("#gov-status", "APPROVED")
    page.click("#gov-apply")
    expect(page.locator("#gov-found")).to_have_text(str(approved["count"]))
    screenshot(page, "gov-services")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_a_partner_viewer_sees_applicants_masked(browser: object, web_hub: WebHub) -> None:
    page = sign_in(browser, web_hub, "ops-petra")
    page.evaluate("location.hash = '#/gov'")
    expect(page.locator("#gov-table tbody tr").first).to_be_visible(timeout=30_000)
    apps = graphql(page, APPLICANTS)["serviceApplications"]
    nodes = [e["node"] for e in apps["edges"]]
    # the hub masks the applicants' names, phones and ID numbers for partners
    assert all("*" in (n["applicantName"] or "*") for n in nodes)
    assert all("*" in (n["applicantPhone"] or "*") for n in nodes)
    for n in nodes[:5]:
        row = page.locator(f"#gov-table tbody tr[data-row='{n['key']}']")
        expect(row.locator("td[data-key=applicantName]")).to_have_text(shown(n["applicantName"]))
        expect(row.locator("td[data-key=applicantPhone]")).to_have_text(shown(n["applicantPhone"]))
        idn = shown(n["applicantIdNumber"])
        expect(row.locator("td[data-key=applicantIdNumber]")).to_have_text(idn)
    names = page.locator("#gov-table td[data-key=applicantName]").all_inner_texts()
    assert names and all("*" in x or x == "—" for x in names)
    screenshot(page, "gov-services-partner-masked")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


FILE = """mutation($i: FileEnterpriseRequestInput!) { fileEnterpriseRequest(input: $i) {
  key department status } }"""
ESR = "department total open resolved overdue rated averageRating"


def test_enterprise_services_page_shows_requests_and_figures(
    browser: object, web_hub: WebHub
) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    firms = web_hub.app.state.store.page("Enterprise", limit=3)
    kinds = ["融资需求", "用工需求", "政策咨询"]
    for firm, kind in zip(firms, kinds, strict=True):
        filed = graphql(
            page,
            FILE,
            i={"firm": firm.key, "requestType": kind, "description": f"企业反映{kind}问题"},
        )["fileEnterpriseRequest"]
        assert filed["status"] == "filed"
    key = filed["key"]
    graphql(page, f'mutation {{ assignEnterpriseRequest(key: "{key}") {{ key }} }}')
    open_view(page, "enterprise")
    expect(fig(page, "esr-total")).not_to_have_text("—", timeout=180_000)
    served = graphql(
        page,
        f"""{{ enterpriseRequestStats {{ totals {{ {ESR} }} byDepartment {{ {ESR} }}
          byType {{ requestType requests }} }}
          enterpriseRequests(first: 100) {{ totalCount
            edges {{ node {{ key status department }} }} }} }}""",
    )
    totals = served["enterpriseRequestStats"]["totals"]
    assert totals["total"] == served["enterpriseRequests"]["totalCount"] >= 3
    expect(fig(page, "esr-total")).to_have_text(str(totals["total"]))
    expect(fig(page, "esr-open")).to_have_text(str(totals["open"]))
    expect(fig(page, "esr-resolved")).to_have_text(str(totals["resolved"]))
    expect(fig(page, "esr-rating")).to_have_text(shown(totals["averageRating"]))
    by_dept = served["enterpriseRequestStats"]["byDepartment"]
    expect(page.locator("#esr-by-department tbody tr")).to_have_count(len(by_dept))
    for d in by_dept:
        row = page.locator(f"#esr-by-department tbody tr[data-row='{d['department']}']")
        expect(row.locator("td[data-key=total]")).to_have_text(str(d["total"]))
    expect(page.locator("#esr-found")).to_have_text(str(totals["total"]))
    assigned = page.locator(f"#esr-table tbody tr[data-row='{key}']")
    expect(assigned.locator("td[data-key=status]")).to_have_text("已批转")
    page.select_option("#esr-status", "dispatched")
    page.click("#esr-apply")
    dispatched = sum(
        1 for e in served["enterpriseRequests"]["edges"] if e["node"]["status"] == "dispatched"
    )
    expect(page.locator("#esr-found")).to_have_text(str(dispatched))
    screenshot(page, "enterprise-services")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


FIGS = "key name firms output10kCny revenue10kCny taxPaid10kCny employees"


def test_economy_page_aggregates_and_trend(browser: object, web_hub: WebHub) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    open_view(page, "economy")
    expect(fig(page, "eco-firms")).not_to_have_text("—", timeout=180_000)
    served = graphql(
        page,
        f"""{{ industry: economyAggregates(groupBy: INDUSTRY) {{ period
            total {{ {FIGS} }} groups {{ {FIGS} }} }}
          park: economyAggregates(groupBy: PARK) {{ groups {{ key }} }}
          cell: economyAggregates(groupBy: CELL) {{ groups {{ key }} }}
          economyTrend {{ period figures {{ output10kCny }} }} }}""",
    )
    total = served["industry"]["total"]
    assert total["firms"] > 1000
    expect(fig(page, "eco-period")).to_have_text(served["industry"]["period"])
    expect(fig(page, "eco-firms")).to_have_text(str(total["firms"]))
    expect(fig(page, "eco-output")).to_have_text(shown(total["output10kCny"]))
    expect(fig(page, "eco-tax")).to_have_text(shown(total["taxPaid10kCny"]))
    expect(fig(page, "eco-employees")).to_have_text(str(total["employees"]))
    groups = served["industry"]["groups"]
    expect(page.locator("#eco-groups-table tbody tr")).to_have_count(len(groups))
    top = max(groups, key=lambda g: g["output10kCny"])
    first = page.locator("#eco-groups-table tbody tr").first
    expect(first.locator("td[data-key=firms]")).to_have_text(str(top["firms"]))
    expect(first.locator("td[data-key=output10kCny]")).to_have_text(shown(top["output10kCny"]))
    page.select_option("#eco-group-by", "PARK")
    expect(page.locator("#eco-groups-table[data-grouping=PARK] tbody tr")).to_have_count(
        len(served["park"]["groups"])
    )
    page.select_option("#eco-group-by", "CELL")
    expect(page.locator("#eco-groups-table[data-grouping=CELL] tbody tr")).to_have_count(
        len(served["cell"]["groups"]), timeout=30_000
    )
    expect(page.locator("#eco-trend-table tbody tr")).to_have_count(len(served["economyTrend"]))
    screenshot(page, "economy")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_the_economy_layer_draws_the_firms_by_industry(browser: object, web_hub: WebHub) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    placed, industries, after = 0, set(), None
    while True:
        conn = graphql(
            page,
            """query($after: String) { economyFirms(first: 1000, after: $after) {
              pageInfo { hasNextPage endCursor } edges { node { industry geometry } } } }""",
            after=after,
        )["economyFirms"]
        for e in conn["edges"]:
            if e["node"]["geometry"]:
                placed += 1
                industries.add(e["node"]["industry"] or "—")
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert placed > 1000
    page.wait_for_selector(".map-wrap[data-ready='1']", timeout=180_000)
    expect(page.locator("#layers .error")).to_have_count(0)
    expect(page.locator("path.feature-economy")).to_have_count(placed, timeout=30_000)
    expect(page.locator("#legend-economy li")).to_have_count(len(industries))
    colours = page.locator("path.feature-economy").evaluate_all(
        "els => new Set(els.map(e => e.getAttribute('stroke'))).size"
    )
    assert colours == min(len(industries), 14)
    # the other layers off, so the firms show
    for key in ("cases", "vehicles", "cameras", "muck", "hazchem"):
        page.uncheck(f"[data-layer={key}]")
    screenshot(page, "map-economy-firms")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


WATER = "name waterClass complianceRate stations"


def test_city_figures_page_shows_water_pumps_floods_muck_and_cameras(
    browser: object, web_hub: WebHub
) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    open_view(page, "figures")
    expect(fig(page, "cam-total")).not_to_have_text("—", timeout=180_000)
    served = graphql(
        page,
        f"""{{ waterQualityStats {{ totals {{ {WATER} }} byRiver {{ {WATER} }} }}
          pumpGateStats {{ pumpStations gates runningPumps pumps }}
          floodWarnings {{ subjectKey }}
          muckStats {{ trucks violations }}
          cameraHealth {{ totals {{ total online offline fault onlineRate }}
            byStreet {{ street }} }} }}""",
    )
    # asked apart, as the page does: the coverage (a whole-table field) and the statistics
    # together pass one request's cost budget
    served |= graphql(page, "{ cameraCoverage { cell } }")
    water = served["waterQualityStats"]
    expect(fig(page, "water-class")).to_have_text(shown(water["totals"]["waterClass"]))
    expect(fig(page, "water-compliance")).to_have_text(pct(water["totals"]["complianceRate"]))
    expect(page.locator("#water-by-river tbody tr")).to_have_count(len(water["byRiver"]))
    river = water["byRiver"][0]
    row = page.locator("#water-by-river tbody tr").first
    expect(row.locator("td[data-key=name]")).to_have_text(river["name"])
    expect(row.locator("td[data-key=waterClass]")).to_have_text(shown(river["waterClass"]))
    expect(row.locator("td[data-key=complianceRate]")).to_have_text(pct(river["complianceRate"]))
    pumps = served["pumpGateStats"]
    expect(fig(page, "pump-stations")).to_have_text(str(pumps["pumpStations"]))
    expect(fig(page, "pumps-running")).to_have_text(f"{pumps['runningPumps']}/{pumps['pumps']}")
    expect(fig(page, "gates")).to_have_text(str(pumps["gates"]))
    expect(fig(page, "flood-warnings")).to_have_text(str(len(served["floodWarnings"])))
    expect(fig(page, "muck-trucks")).to_have_text(str(served["muckStats"]["trucks"]))
    expect(fig(page, "muck-violations")).to_have_text(str(served["muckStats"]["violations"]))
    cams = served["cameraHealth"]["totals"]
    assert cams["total"] == 4000
    expect(fig(page, "cam-total")).to_have_text(str(cams["total"]))
    expect(fig(page, "cam-online")).to_have_text(str(cams["online"]))
    expect(fig(page, "cam-rate")).to_have_text(pct(cams["onlineRate"]))
    by_street = served["cameraHealth"]["byStreet"]
    expect(page.locator("#cam-by-street tbody tr")).to_have_count(len(by_street))
    expect(fig(page, "cov-cells")).to_have_text(str(len(served["cameraCoverage"])))
    screenshot(page, "city-figures")
    assert page.errors == []  # type: ignore[attr-defined]
    page.context.close()


def test_news_page_lists_the_media_centres_news_newest_first_and_searches(
    browser: object, web_hub: WebHub
) -> None:
    page = sign_in(browser, web_hub, "ops-oscar")
    open_view(page, "news")
    served = graphql(
        page,
        """{ first: microNews(first: 20) { pageInfo { hasNextPage } edges { node { key title } } }
             more: microNews(first: 40) { edges { node { title } } } }""",
    )
    titles = [e["node"]["title"] for e in served["first"]["edges"]]
    assert len(titles) == 20 and served["first"]["pageInfo"]["hasNextPage"]
    expect(page.locator("#news-table tbody tr")).to_have_count(20, timeout=180_000)
    expect(page.locator("#news-table td[data-key=title]")).to_have_text(titles)
    # the next page follows on, in the hub's order
    page.click("#news-more")
    expect(page.locator("#news-table tbody tr")).to_have_count(40)
    expect(page.locator("#news-table td[data-key=title]")).to_have_text(
        [e["node"]["title"] for e in served["more"]["edges"]]
    )
    # a story opens beside the list; a search shows what the hub finds for the same words
    page.locator("#news-table a.news-title").first.click()
    expect(page.locator("#news-story h4")).to_have_text(titles[0])
    word = titles[0][:2]
    found = graphql(
        page,
        "query($q: String!) { microNewsSearch(query: $q, first: 20) { edges { node { title } } } }",
        q=word,
    )["microNewsSearch"]["edges"]
    page.fill("#news-query", word)
    page.click("#news-apply")
    expect(page.locator("#news-table td[data-key=title]")).to_have_text(
        [e["node"]["title"] for e in found]
    )
    screenshot(page, "news")
    page.context.close()
