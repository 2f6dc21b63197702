// The operations centre: sign-in, the shell (views by URL fragment), KPI tiles and the live
// alarm feed; each view lives in its own module.
import "./style.css";
import { completeSignIn, loadConfig, OpsConfig, Session, session, signIn, signOut } from "./auth";
import { caseBoard } from "./cases";
import { economyView } from "./economy";
import { enterpriseView } from "./enterprise";
import { entityView } from "./entity";
import { figuresView } from "./figures";
import { financeView } from "./finance";
import { govView } from "./gov";
import { request, subscribe } from "./gql";
import { currentLang, setLang, t } from "./i18n";
import { lawView } from "./law";
import { newsView } from "./news";
import { mapView, MapView } from "./map";
import { auditView, policyView } from "./policy";
import { rows, Schema } from "./schema";
import { clear, errorBox, h, text, when } from "./ui";

const app = document.getElementById("app")!;
let cfg: OpsConfig | null = null;
let schema: Schema | null = null;
let me: Session | null = null;
let teardown: (() => void) | null = null;
const alarms: Record<string, any>[] = [];
let alarmsToday = 0;
let liveState = false;
let currentMap: MapView | null = null;

const ALARM_FIELDS = "id kind severity subjectType subjectKey message at value gridCell geometry source";

function isToday(iso: string): boolean {
  return new Date(iso).toDateString() === new Date().toDateString();
}

// The apps' pages, each shown when the schema serves one of its queries (without the
// introspection scope the schema is unknown: the page is offered and its query decides).
const APP_PAGES: [string, string, string[], () => HTMLElement][] = [
  ["law", "law", ["enforcementCases", "enforcementStats"], lawView],
  ["gov", "gov", ["govServiceStats", "serviceApplications"], govView],
  ["enterprise", "enterprise", ["enterpriseRequests", "enterpriseRequestStats"], enterpriseView],
  ["economy", "economy", ["economyAggregates", "economyTrend"], economyView],
  ["news", "news", ["microNews"], newsView],
  ["figures", "cityFigures", ["waterQualityStats", "pumpGateStats", "floodWarnings", "muckStats", "cameraHealth", "cameraCoverage"], figuresView],
];

function served(queries: string[]): boolean {
  return !schema || schema.query.some((q) => queries.includes(q.name));
}

function views(): [string, string][] {
  const list: [string, string][] = [["map", "map"], ["cases", "cases"], ["entity", "entity"], ["finance", "finance"]];
  for (const [key, label, queries] of APP_PAGES) if (served(queries)) list.push([key, label]);
  if (me?.scopes.includes("policy:write")) list.push(["policies", "policies"]);
  if (me?.scopes.includes("audit:read")) list.push(["audit", "audit"]);
  return list;
}

function loginScreen(error?: unknown): void {
  clear(
    app,
    h(
      "main",
      { class: "login" },
      h("h1", {}, t("title")),
      h("p", { class: "subtitle" }, t("subtitle")),
      h("p", {}, t("loginHint")),
      error ? errorBox(error) : null,
      h("button", { id: "sign-in", class: "primary", onclick: () => cfg && signIn(cfg) }, t("signIn")),
      langToggle(),
    ),
  );
}

function langToggle(): HTMLElement {
  return h(
    "button",
    {
      id: "lang-toggle",
      class: "lang",
      onclick: () => {
        setLang(currentLang() === "zh" ? "en" : "zh");
        me ? render() : loginScreen();
      },
    },
    currentLang() === "zh" ? "English" : "中文",
  );
}

function kpiTiles(): HTMLElement {
  const tile = (id: string, label: string) => h("div", { class: "kpi", id: `kpi-${id}` }, h("span", { class: "value" }, "—"), h("span", { class: "label" }, t(label)));
  return h("div", { class: "kpis" }, tile("open", "kpiOpen"), tile("overdue", "kpiOverdue"), tile("alarms", "kpiAlarms"), tile("watched", "kpiWatched"), tile("violations", "kpiViolations"));
}

function setKpi(id: string, value: unknown): void {
  const el = document.querySelector(`#kpi-${id} .value`);
  if (el) el.textContent = text(value);
}

/** Open and overdue cases from the citizen-service app's own figures (every case you may
 * see, not only the map's page of them): open = open on time + open overdue. */
let caseFigures: { at: number; sla: Promise<any> } | null = null;
async function caseKpis(): Promise<boolean> {
  // The map asks again as its layers arrive: one answer serves the asks of a few seconds.
  if (!caseFigures || Date.now() - caseFigures.at > 5000) {
    const sla = request("{ serviceCaseStats { sla { openOnTime openOverdue } } }")
      .then((r) => r.data?.serviceCaseStats?.sla ?? null)
      .catch(() => null);
    caseFigures = { at: Date.now(), sla };
  }
  const sla = await caseFigures.sla;
  if (!sla) return false;
  // a count withheld (counts-only access, fewer cases than the policy's k) is null: "—"
  const withheld = sla.openOnTime === null || sla.openOverdue === null;
  setKpi("open", withheld ? null : sla.openOnTime + sla.openOverdue);
  setKpi("overdue", sla.openOverdue);
  return true;
}

/** The KPI figures from whatever the apps serve: a count field if there is one, else rows. */
async function refreshKpis(map: MapView | null): Promise<void> {
  setKpi("alarms", alarmsToday);
  if (!(await caseKpis())) {
    const open = (map?.caseRows() ?? []).filter((c) => !/closed|merged|resolved|visited|rated/i.test(String(c.status ?? "")));
    if (open.length) {
      setKpi("open", open.length);
      setKpi("overdue", open.filter((c) => c.overdue === true).length);
    }
  }
  const vehicles = map?.vehicleRows() ?? [];
  if (vehicles.length) setKpi("violations", vehicles.filter((v) => v.inViolation || v.violation).length);
  if (!schema) return;
  const counted = async (id: string, ...patterns: RegExp[]) => {
    const field = schema!.findQuery(...patterns);
    const query = field ? schema!.listQuery(field, 500) : null;
    if (!field || !query) return;
    const r = await request(query).catch(() => null);
    const value = r?.data?.[field.name];
    if (value) setKpi(id, typeof value.totalCount === "number" ? value.totalCount : rows(value).length);
  };
  await Promise.all([counted("watched", /^watchList$/i, /watch/i), counted("violations", /violation/i)]);
}

function alarmItem(a: Record<string, any>): HTMLElement {
  return h(
    "li",
    { class: `alarm sev-${a.severity}`, "data-alarm": a.id },
    h("time", {}, when(a.at)),
    " ",
    h("strong", {}, a.kind),
    " ",
    h("span", {}, a.message),
    a.gridCell ? h("small", {}, ` · ${a.gridCell}`) : null,
  );
}

function alarmFeed(): HTMLElement {
  return h(
    "section",
    { class: "feed" },
    h("h3", {}, t("alarmFeed"), " ", h("span", { id: "feed-state", class: liveState ? "live" : "offline" }, liveState ? t("live") : t("offline"))),
    h("ul", { id: "alarm-feed" }, alarms.length ? alarms.slice(0, 100).map(alarmItem) : h("li", { class: "muted empty" }, t("noAlarms"))),
  );
}

function onAlarm(a: Record<string, any>): void {
  alarms.unshift(a);
  if (isToday(a.at)) alarmsToday += 1;
  setKpi("alarms", alarmsToday);
  const feed = document.getElementById("alarm-feed");
  if (feed) {
    feed.querySelector(".empty")?.remove();
    feed.prepend(alarmItem(a));
    while (feed.children.length > 100) feed.lastElementChild?.remove();
  }
  currentMap?.showAlarm(a);
}

async function startAlarms(): Promise<void> {
  // The recent ones first, then the subscription keeps the feed current without a reload.
  const r = await request(`{ alarms(last: 50) { totalCount edges { node { ${ALARM_FIELDS} } } } }`).catch(() => null);
  const recent = rows(r?.data?.alarms);
  for (const a of recent) alarms.unshift(a);
  alarmsToday = recent.filter((a) => isToday(a.at)).length;
  subscribe(
    `subscription { alarms { ${ALARM_FIELDS} } }`,
    {},
    (d) => onAlarm(d.alarms),
    (state) => {
      liveState = state;
      const el = document.getElementById("feed-state");
      if (el) {
        el.className = state ? "live" : "offline";
        el.textContent = state ? t("live") : t("offline");
      }
    },
  );
}

function render(): void {
  teardown?.();
  teardown = null;
  currentMap = null;
  const route = location.hash.replace(/^#\/?/, "").split("/")[0] || "map";
  const nav = h(
    "nav",
    {},
    views().map(([key, label]) => h("a", { href: `#/${key}`, class: key === route ? "active" : "", "data-view": key }, t(label))),
  );
  const header = h(
    "header",
    {},
    h("h1", {}, t("title")),
    nav,
    h("div", { class: "who" }, h("span", { id: "who" }, `${me!.user} · ${me!.roles.join(",")}`), langToggle(), h("button", { id: "sign-out", onclick: () => signOut(cfg).then(() => loginScreen()) }, t("signOut"))),
  );
  const main = h("main", { "data-route": route });
  clear(app, header, main);
  if (route === "map") {
    const map = mapView(schema, () => refreshKpis(map));
    currentMap = map;
    for (const a of alarms) map.showAlarm(a);
    main.append(kpiTiles(), h("div", { class: "map-row" }, map.element, alarmFeed()));
    refreshKpis(map);
    teardown = () => map.destroy();
  } else if (route === "cases") {
    const board = caseBoard(me!.roles, decodeURIComponent(location.hash.split("/")[2] ?? "") || undefined);
    main.append(board.element);
    teardown = board.destroy;
  } else if (route === "entity") {
    main.append(entityView(decodeURIComponent(location.hash.split("/")[2] ?? "")));
  } else if (route === "finance") {
    main.append(financeView(schema));
  } else if (APP_PAGES.some(([key, , queries]) => key === route && served(queries))) {
    main.append(APP_PAGES.find(([key]) => key === route)![3]());
  } else if (route === "policies") {
    main.append(me!.scopes.includes("policy:write") ? policyView() : h("p", {}, t("stewardsOnly")));
  } else if (route === "audit") {
    main.append(me!.scopes.includes("audit:read") ? auditView() : h("p", {}, t("stewardsOnly")));
  }
}

async function boot(): Promise<void> {
  setLang(currentLang());
  try {
    cfg = await loadConfig();
  } catch (e) {
    return clear(app, errorBox(e));
  }
  // The redirect URI is on the issuer's origin: sign in from there, or the PKCE verifier
  // (kept per origin) would be lost on the way back.
  if (new URL(cfg.issuer).origin !== location.origin) {
    location.replace(cfg.issuer + "/" + location.hash);
    return;
  }
  try {
    me = (await completeSignIn(cfg)) ?? session();
  } catch (e) {
    return loginScreen(e);
  }
  if (!me) return loginScreen();
  clear(app, h("p", { class: "boot" }, t("loading")));
  schema = await Schema.load();
  await startAlarms();
  window.addEventListener("hashchange", render);
  render();
}

boot();
