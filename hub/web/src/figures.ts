// City figures (城市体征): water quality per river (class, compliance), pumps and gates by
// status, flood warnings in force, muck trucks and their violations, camera health by street
// and video coverage — each section its own query, so one the policy refuses says so alone.
import { request } from "./gql";
import { t } from "./i18n";
import { clear, errorBox, figures, h, labelled, pct, refusal, text, when } from "./ui";

const WATER = "key name targetClass waterClass qualityStatus stations stationsSampled stationsCompliant complianceRate samples sampleComplianceRate";
const HEALTH = "street total online offline fault silent onlineRate";

function section(id: string, title: string, query: string, render: (data: any) => (Node | null)[]): HTMLElement {
  const body = h("div", {}, t("loading"));
  request(query)
    .then((r) => {
      if (!r.data) return clear(body, refusal(r.errors, t("refused")) ?? t("noApp"));
      clear(body, refusal(r.errors, t("refused")), ...render(r.data));
    })
    .catch((e) => clear(body, errorBox(e)));
  return h("section", { id }, h("h4", {}, title), body);
}

const statusCounts = (list: { status?: string; name?: string; count: number }[], id: string) =>
  labelled(list.map((s) => ({ key: s.status ?? s.name, ...s })), [["key", t("status")], ["count", t("count")]], { id });

export function figuresView(): HTMLElement {
  const water = section("fig-water", t("waterQuality"), `{ waterQualityStats { totals { ${WATER} } byRiver { ${WATER} } } }`, (d) => {
    const s = d.waterQualityStats;
    if (!s) return [];
    return [
      figures([
        ["water-class", `${t("district")} · ${t("waterClass")}`, s.totals.waterClass],
        ["water-compliance", `${t("district")} · ${t("compliance")}`, pct(s.totals.complianceRate)],
        ["water-stations", t("stations"), s.totals.stations],
      ]),
      labelled(
        s.byRiver,
        [
          ["name", t("river")],
          ["waterClass", t("waterClass")],
          ["targetClass", t("targetClass")],
          ["qualityStatus", t("qualityStatus")],
          ["stations", t("stations"), (r) => `${r.stationsCompliant}/${r.stationsSampled}/${r.stations}`],
          ["complianceRate", t("compliance"), (r) => pct(r.complianceRate)],
          ["sampleComplianceRate", t("sampleCompliance"), (r) => pct(r.sampleComplianceRate)],
        ],
        { id: "water-by-river" },
      ),
    ];
  });
  const pumps = section("fig-pumps", t("pumpGate"), "{ pumpGateStats { pumpStations pumps runningPumps currentFlowM3S designFlowM3S pumpStationsByStatus { status count } gates gatesByStatus { status count } } }", (d) => {
    const s = d.pumpGateStats;
    if (!s) return [];
    return [
      figures([
        ["pump-stations", t("pumpStations"), s.pumpStations],
        ["pumps-running", t("runningPumps"), `${s.runningPumps}/${s.pumps}`],
        ["pump-flow", t("currentFlow"), `${text(s.currentFlowM3S)} / ${text(s.designFlowM3S)}`],
        ["gates", t("gates"), s.gates],
      ]),
      h("div", { class: "two" }, statusCounts(s.pumpStationsByStatus, "pumps-by-status"), statusCounts(s.gatesByStatus, "gates-by-status")),
    ];
  });
  const flood = section("fig-flood", t("floodWarnings"), "{ floodWarnings { kind subjectType subjectKey name levelM thresholdM aboveM since at gridCell } }", (d) => {
    const list: any[] = d.floodWarnings ?? [];
    return [
      figures([["flood-warnings", t("floodWarnings"), list.length]]),
      list.length
        ? labelled(
            list.map((w) => ({ key: w.subjectKey, ...w })),
            [
              ["kind", t("kind")],
              ["name", t("name")],
              ["levelM", t("level")],
              ["thresholdM", t("threshold")],
              ["aboveM", t("above")],
              ["since", t("since"), (w) => when(w.since)],
              ["gridCell", t("cell")],
            ],
            { id: "flood-table" },
          )
        : h("p", { class: "muted" }, t("noWarnings")),
    ];
  });
  const muck = section("fig-muck", t("muck"), "{ muckStats { trucks byStatus { name count } constructionSites dumpingSites openDumpingSites violations violationsByKind { name count } } }", (d) => {
    const s = d.muckStats;
    if (!s) return [];
    return [
      figures([
        ["muck-trucks", t("trucks"), s.trucks],
        ["muck-violations", t("violations"), s.violations],
        ["muck-sites", t("constructionSites"), s.constructionSites],
        ["muck-dumping", t("dumpingSites"), `${s.dumpingSites} (${s.openDumpingSites})`],
      ]),
      h("div", { class: "two" }, statusCounts(s.byStatus, "muck-by-status"), statusCounts(s.violationsByKind, "muck-by-kind")),
    ];
  });
  const cameras = section("fig-cameras", t("cameraHealth"), `{ cameraHealth { asOf totals { ${HEALTH} } byStreet { ${HEALTH} } } }`, (d) => {
    const s = d.cameraHealth;
    if (!s) return [];
    return [
      figures([
        ["cam-total", t("cameras"), s.totals.total],
        ["cam-online", t("online"), s.totals.online],
        ["cam-offline", t("offlineN"), s.totals.offline],
        ["cam-fault", t("fault"), s.totals.fault],
        ["cam-silent", t("silent"), s.totals.silent],
        ["cam-rate", t("onlineRate"), pct(s.totals.onlineRate)],
      ]),
      h("p", { class: "muted" }, when(s.asOf)),
      h(
        "div",
        { class: "scroll" },
        labelled(
          s.byStreet.map((b: any) => ({ key: b.street, ...b })),
          [
            ["street", t("street")],
            ["total", t("cameras")],
            ["online", t("online")],
            ["offline", t("offlineN")],
            ["fault", t("fault")],
            ["silent", t("silent")],
            ["onlineRate", t("onlineRate"), (b) => pct(b.onlineRate)],
          ],
          { id: "cam-by-street" },
        ),
      ),
    ];
  });
  const coverage = section("fig-coverage", t("coverage"), "{ cameraCoverage { cell street areaKm2 cameras online coveredKm2 coveredShare } }", (d) => {
    const cells: any[] = d.cameraCoverage ?? [];
    const streets = new Map<string, { key: string; cells: number; cameras: number; online: number; areaKm2: number; coveredKm2: number }>();
    for (const c of cells) {
      const key = c.street ?? "—";
      const s = streets.get(key) ?? { key, cells: 0, cameras: 0, online: 0, areaKm2: 0, coveredKm2: 0 };
      s.cells += 1;
      s.cameras += c.cameras;
      s.online += c.online;
      s.areaKm2 += c.areaKm2;
      s.coveredKm2 += c.coveredKm2;
      streets.set(key, s);
    }
    const area = cells.reduce((n, c) => n + c.areaKm2, 0);
    const covered = cells.reduce((n, c) => n + c.coveredKm2, 0);
    return [
      figures([
        ["cov-cells", t("cellsN"), cells.length],
        ["cov-share", t("coveredShare"), pct(area ? covered / area : null)],
      ]),
      h(
        "div",
        { class: "scroll" },
        labelled(
          [...streets.values()].map((s) => ({ ...s, share: s.areaKm2 ? s.coveredKm2 / s.areaKm2 : null })),
          [
            ["key", t("street")],
            ["cells", t("cellsN")],
            ["cameras", t("cameras")],
            ["online", t("online")],
            ["areaKm2", t("areaKm2")],
            ["coveredKm2", t("coveredKm2")],
            ["share", t("coveredShare"), (s) => pct(s.share)],
          ],
          { id: "coverage-by-street" },
        ),
      ),
    ];
  });
  return h("section", { class: "app-page", id: "city-figures" }, h("h3", {}, t("cityFigures")), water, pumps, flood, muck, cameras, coverage);
}
