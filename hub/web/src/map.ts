// The one map: no base tiles (nothing leaves the hub), so the district outline and the 743
// grid cells are the base; every layer comes from the hub's GraphQL. All layers are GCJ-02,
// drawn as they are: with no WGS-84 tiles underneath there is nothing to misalign.
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import { gql, request } from "./gql";
import { t } from "./i18n";
import { geometryOf, rows, Schema } from "./schema";
import { clear, h, text, when } from "./ui";

export interface LayerSpec {
  key: string;
  label: string;
  patterns: RegExp[];
  colour: (row: Record<string, any>) => string;
  pollSeconds?: number;
  first: number;
  /** A fixed query for an app whose shape is known (its root field is the first pattern's). */
  query?: { field: string; text: string };
  /** Where a row opens in its own view, e.g. a case on the case board. */
  link?: (row: Record<string, any>) => string;
  /** A fixed query that pages: `text` takes `$after` and the field has pageInfo. */
  paged?: boolean;
  /** A legend of the colours drawn, e.g. firms by industry. */
  legend?: boolean;
}

// Water-quality classes I (best) to 劣V (worst), GB 3838-2002.
const WATER = ["#1a9850", "#66bd63", "#d9ef8b", "#fee08b", "#f46d43", "#a50026"];
function waterClass(row: Record<string, any>): string {
  const raw = String(row.waterClass ?? row.qualityClass ?? row.class ?? row.grade ?? "");
  const roman = ["I", "II", "III", "IV", "V"];
  let i = roman.indexOf(raw.replace(/类$/, "").toUpperCase());
  if (/劣/.test(raw)) i = 5;
  if (/^\d$/.test(raw)) i = Number(raw) - 1;
  return WATER[i] ?? "#3288bd";
}

// Firms by industry: a fixed palette, each industry its colour in order of first sight.
const INDUSTRY = ["#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6", "#ffff99", "#8dd3c7", "#bebada"];
const industries = new Map<string, string>();
export function industryColour(row: Record<string, any>): string {
  const name = String(row.industry ?? "—");
  if (!industries.has(name)) industries.set(name, INDUSTRY[industries.size % INDUSTRY.length]);
  return industries.get(name)!;
}

// Rows per request for the generic layers (cost = rows x fields, within the hub's budget).
const PAGE = 200;

export const LAYERS: LayerSpec[] = [
  {
    // The citizen-service app's open cases (overdue ones red); KPIs and cells use its stats.
    key: "cases",
    label: "layerCases",
    patterns: [/^serviceCases$/],
    colour: (r) => (r.overdue ? "#d7301f" : "#fd8d3c"),
    first: 1000,
    query: {
      field: "serviceCases",
      text: `{ serviceCases(first: 1000, filter: { status: [FILED, VERIFYING, DISPATCHED, RETURNED, HANDLING] }) { totalCount
        edges { node { id title statusLabel status channel categoryName subcategoryName department gridCell street
          reportedAt dueAt overdue geometry } } } }`,
    },
    link: (r) => `#/cases/${encodeURIComponent(r.id)}`,
  },
  { key: "hazchem", label: "layerHazchem", patterns: [/^hazchemSites$/, /^hazchemFirms$/, /hazchem.*(Site|Firm)s$/i], colour: () => "#ff7f00", first: 1000 },
  { key: "vehicles", label: "layerVehicles", patterns: [/^hazchemVehicles$/, /^vehicles$/, /Vehicles$/], colour: (r) => (r.inViolation || r.violation ? "#e31a1c" : "#6a3d9a"), pollSeconds: 10, first: 3000 },
  { key: "muck", label: "layerMuck", patterns: [/^muckTrucks$/], colour: (r) => (r.inViolation ? "#e31a1c" : "#8c510a"), pollSeconds: 10, first: 1500 },
  { key: "rivers", label: "layerRivers", patterns: [/^rivers$/], colour: () => "#2b8cbe", first: 100 },
  { key: "stations", label: "layerStations", patterns: [/^waterStations$/, /Stations$/], colour: waterClass, first: 500 },
  { key: "pumps", label: "layerPumps", patterns: [/^pumpStations$/, /^pumps$/], colour: () => "#01665e", first: 500 },
  { key: "cameras", label: "layerCameras", patterns: [/^cameras$/, /Cameras$/], colour: () => "#525252", first: 4000 },
  {
    // The economy one-map's firms (3,707 in the demo city), coloured by industry; 500 a page
    // of 12 fields each stays well within the cost budget (1 + 500 x 14).
    key: "economy",
    label: "layerEconomy",
    patterns: [/^economyFirms$/],
    colour: industryColour,
    first: 10000,
    paged: true,
    legend: true,
    query: {
      field: "economyFirms",
      text: `query($after: String) { economyFirms(first: 500, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        edges { node { key name industry park gridCell size period output10kCny revenue10kCny taxPaid10kCny employees geometry } } } }`,
    },
  },
];

interface Cell {
  id: string;
  code: string;
  name: string;
  street: string | null;
  geometry: any;
}

/** The district outline: cell edges that belong to one cell only (shared edges cancel). */
function outlineOf(cells: Cell[]): any {
  const seen = new Map<string, [number[], number[]]>();
  const key = (p: number[]) => `${p[0].toFixed(6)},${p[1].toFixed(6)}`;
  for (const c of cells) {
    const polys = c.geometry?.type === "Polygon" ? [c.geometry.coordinates] : c.geometry?.type === "MultiPolygon" ? c.geometry.coordinates : [];
    for (const poly of polys) {
      for (const ring of poly) {
        for (let i = 0; i + 1 < ring.length; i++) {
          const a = key(ring[i]);
          const b = key(ring[i + 1]);
          const k = a < b ? `${a}|${b}` : `${b}|${a}`;
          if (seen.has(k)) seen.delete(k);
          else seen.set(k, [ring[i], ring[i + 1]]);
        }
      }
    }
  }
  return { type: "MultiLineString", coordinates: Array.from(seen.values()) };
}

function ramp(n: number, max: number): string {
  if (!n) return "#e8eef3";
  const steps = ["#fee5d9", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15"];
  return steps[Math.min(steps.length - 1, Math.floor((n / Math.max(1, max)) * (steps.length - 1)))];
}

export interface MapView {
  element: HTMLElement;
  showAlarm(alarm: Record<string, any>): void;
  destroy(): void;
  caseRows(): Record<string, any>[];
  vehicleRows(): Record<string, any>[];
}

export function mapView(schema: Schema | null, onCases: () => void): MapView {
  const mapEl = h("div", { id: "map", class: "map" });
  const details = h("div", { class: "details", id: "details" }, h("p", { class: "hint" }, t("clickHint")));
  const toggles = h("div", { class: "layers", id: "layers" }, h("h3", {}, t("layers")));
  const element = h("div", { class: "map-wrap" }, mapEl, h("aside", { class: "map-side" }, toggles, h("h3", {}, t("details")), details));
  // No animations: a view re-rendered mid-zoom (language toggle, navigation) would leave
  // Leaflet animating a removed map.
  const map = L.map(mapEl, {
    preferCanvas: false,
    zoomSnap: 0.25,
    attributionControl: false,
    zoomAnimation: false,
    fadeAnimation: false,
    markerZoomAnimation: false,
  });
  let destroyed = false;
  map.setView([39.0, 117.6], 9);
  const timers: number[] = [];
  const data: Record<string, Record<string, any>[]> = {};
  const groups: Record<string, L.LayerGroup> = {};
  const legends: Record<string, HTMLElement> = {};
  const alarms = L.layerGroup().addTo(map);
  let cellsLayer: L.GeoJSON | null = null;
  let cells: Cell[] = [];

  const showDetails = (title: string, row: Record<string, any>, link?: string) => {
    clear(
      details,
      h("h4", {}, title),
      link ? h("p", {}, h("a", { href: link, class: "open-in-view" }, t("openOnBoard"))) : null,
      h(
        "dl",
        {},
        Object.entries(row)
          .filter(([k, v]) => k !== "geometry" && k !== "__typename" && v !== null && typeof v !== "object")
          .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, text(v))]),
        Object.entries(row)
          .filter(([k, v]) => k !== "geometry" && v && typeof v === "object")
          .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, h("code", {}, JSON.stringify(v)))]),
      ),
    );
  };

  const cellDetails = async (cell: Cell) => {
    clear(details, h("p", {}, t("loading")));
    // Partial answers are fine: a field the policy refuses shows as an error, the rest stays.
    const r = await request(
      `query($id: ID!) { node(id: $id) { ... on GridCell { code name street areaKm2 population
        inspector { name phone onDuty duties } } } }`,
      { id: cell.id },
    );
    const node = r.data?.node ?? { code: cell.code, name: cell.name, street: cell.street };
    const inspector = node.inspector;
    clear(
      details,
      h("h4", {}, `${t("cell")} ${node.code}`),
      h(
        "dl",
        { class: "cell-details" },
        h("dt", {}, "名称 / name"),
        h("dd", {}, text(node.name)),
        h("dt", {}, "街道 / street"),
        h("dd", {}, text(node.street)),
        h("dt", {}, "km²"),
        h("dd", {}, text(node.areaKm2)),
        h("dt", {}, "人口 / population"),
        h("dd", {}, text(node.population)),
        h("dt", {}, t("inspector")),
        h("dd", { class: "inspector-name" }, text(inspector?.name)),
        h("dt", {}, t("phone")),
        h("dd", { class: "inspector-phone" }, text(inspector?.phone)),
        h("dt", {}, t("kpiOpen")),
        h("dd", {}, text(openByCell.get(node.code) ?? 0)),
      ),
      r.errors.length ? h("p", { class: "error" }, r.errors.map((e) => e.message).join("; ")) : null,
    );
  };

  // Per cell: open cases and overdue ones, from the case app's statistics when it serves
  // them (every case counted, as the policy allows), else counted from the cases layer.
  const openByCell = new Map<string, number>();
  const overdueByCell = new Map<string, number>();
  const totalByCell = new Map<string, number>();
  let metric: "open" | "overdue" = "open";
  let statsLoaded = false;
  const paint = () => {
    const value = (code: string) => {
      const open = openByCell.get(code) ?? 0;
      // overdue rate: the cell's cases past their deadline (open or resolved late) / its cases
      const total = totalByCell.get(code) ?? 0;
      return metric === "open" ? open : total ? (overdueByCell.get(code) ?? 0) / total : 0;
    };
    const max = Math.max(0, ...cells.map((c) => value(c.code)));
    cellsLayer?.setStyle((f) => ({ fillColor: ramp(value(f?.properties.code), max) }));
  };
  const recolour = () => {
    if (statsLoaded) return paint();
    openByCell.clear();
    overdueByCell.clear();
    totalByCell.clear();
    for (const c of data.cases ?? []) {
      const status = String(c.status ?? "").toLowerCase();
      if (/closed|merged|办结|结案/.test(status)) continue;
      const code = c.gridCell?.code ?? c.gridCellCode ?? c.gridCode ?? c.gridCell ?? c.grid;
      if (typeof code !== "string") continue;
      openByCell.set(code, (openByCell.get(code) ?? 0) + 1);
      totalByCell.set(code, (totalByCell.get(code) ?? 0) + 1);
      if (c.overdue === true) overdueByCell.set(code, (overdueByCell.get(code) ?? 0) + 1);
    }
    paint();
  };
  const loadCaseStats = async () => {
    if (!schema?.query.some((q) => q.name === "serviceCaseStats")) return;
    const r = await request("{ serviceCaseStats { byGridCell { key total open overdue } } }");
    const buckets = r.data?.serviceCaseStats?.byGridCell;
    if (!Array.isArray(buckets)) return;
    openByCell.clear();
    overdueByCell.clear();
    totalByCell.clear();
    for (const b of buckets) {
      openByCell.set(b.key, b.open);
      overdueByCell.set(b.key, b.overdue);
      totalByCell.set(b.key, b.total);
    }
    statsLoaded = true;
    paint();
    const pick = h(
      "select",
      { id: "cell-metric" },
      h("option", { value: "open" }, t("byOpen")),
      h("option", { value: "overdue" }, t("byOverdue")),
    ) as HTMLSelectElement;
    pick.addEventListener("change", () => {
      metric = pick.value as "open" | "overdue";
      paint();
    });
    toggles.append(h("label", {}, pick));
    onCases();
  };

  const loadCells = async () => {
    const d = await gql(`{ gridCells(first: 1000) { totalCount edges { node { id code name street geometry } } } }`);
    if (destroyed) return;
    cells = rows(d.gridCells) as Cell[];
    const features = cells.filter((c) => c.geometry).map((c) => ({ type: "Feature", properties: c, geometry: c.geometry }));
    const outline = L.geoJSON({ type: "Feature", properties: {}, geometry: outlineOf(cells) } as any, {
      style: { color: "#08306b", weight: 3, className: "district-outline" },
      interactive: false,
    });
    cellsLayer = L.geoJSON({ type: "FeatureCollection", features } as any, {
      style: { color: "#6b8299", weight: 0.6, fillColor: "#e8eef3", fillOpacity: 0.7, className: "grid-cell" },
      onEachFeature: (f, layer) => {
        layer.on("click", () => cellDetails(f.properties as Cell));
        (layer as any).bindTooltip(`${f.properties.code} ${f.properties.name}`, { sticky: true });
      },
    }).addTo(map);
    outline.addTo(map);
    element.dataset.cells = String(cells.length);
    const bounds = cellsLayer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] });
    addToggle("outline", t("outline"), outline, true);
    addToggle("cells", `${t("gridCells")} (${cells.length})`, cellsLayer, true);
  };

  const addToggle = (key: string, label: string, layer: L.Layer | null, on: boolean) => {
    const box = h("input", { type: "checkbox", "data-layer": key, checked: on && !!layer, disabled: !layer }) as HTMLInputElement;
    box.addEventListener("change", () => {
      if (!layer) return;
      if (box.checked) layer.addTo(map);
      else map.removeLayer(layer);
    });
    toggles.append(h("label", { class: layer ? "" : "muted" }, box, " ", label, layer ? "" : ` (${t("unavailable")})`));
  };

  const loadLayer = async (spec: LayerSpec) => {
    const found = schema?.findQuery(...spec.patterns);
    const field = spec.query && (found || !schema) ? { name: spec.query.field } : found;
    const query = spec.query && field ? spec.query.text : found && schema ? schema.listQuery(found, PAGE) : null;
    if (!field || !query) {
      addToggle(spec.key, t(spec.label), null, false);
      return;
    }
    const group = L.layerGroup().addTo(map);
    groups[spec.key] = group;
    addToggle(spec.key, t(spec.label), group, true);
    // Generic layers page through their connection: one page of `first` rows would exceed the
    // hub's per-request cost budget for the larger ones (2,673 vehicles, 4,000 cameras).
    const fetchRows = async (): Promise<Record<string, any>[]> => {
      const r = await request(query);
      if (spec.paged && !r.data?.[field.name] && r.errors.length) throw new Error(r.errors.map((e) => e.message).join("; "));
      const got = rows(r.data?.[field.name]);
      let info = r.data?.[field.name]?.pageInfo;
      while (spec.paged && info?.hasNextPage && got.length < spec.first && !destroyed) {
        const next = await request(query, { after: info.endCursor });
        got.push(...rows(next.data?.[field.name]));
        info = next.data?.[field.name]?.pageInfo;
      }
      while (!spec.query && found && schema && info?.hasNextPage && got.length < spec.first && !destroyed) {
        const next = await request(schema.listQuery(found, PAGE, {}, info.endCursor) ?? "");
        got.push(...rows(next.data?.[field.name]));
        info = next.data?.[field.name]?.pageInfo;
      }
      return got.slice(0, spec.first);
    };
    const draw = async () => {
      const got = await fetchRows();
      if (destroyed) return;
      data[spec.key] = got;
      group.clearLayers();
      for (const row of got) {
        const geometry = geometryOf(row);
        if (!geometry) continue;
        const colour = spec.colour(row);
        const layer = L.geoJSON(geometry, {
          style: { color: colour, weight: geometry.type.includes("Line") ? 3 : 1 },
          pointToLayer: (_f, ll) => L.circleMarker(ll, { radius: 5, color: colour, fillOpacity: 0.8, className: `feature-${spec.key}` }),
        });
        layer.on("click", () => showDetails(t(spec.label), row, spec.link?.(row)));
        group.addLayer(layer);
      }
      if (spec.legend) {
        legends[spec.key]?.remove();
        const colours = new Map<string, string>();
        for (const row of got) colours.set(String(row.industry ?? "—"), spec.colour(row));
        legends[spec.key] = h(
          "ul",
          { class: "legend", id: `legend-${spec.key}` },
          [...colours].map(([name, colour]) => {
            const dot = h("i");
            dot.style.background = colour; // CSSOM, not a style attribute (the CSP has no inline styles)
            return h("li", {}, dot, name);
          }),
        );
        toggles.append(legends[spec.key]);
      }
      if (spec.key === "cases") {
        recolour();
        onCases();
      }
    };
    await draw().catch((e) => toggles.append(h("p", { class: "error" }, `${t(spec.label)}: ${e.message}`)));
    if (spec.pollSeconds) timers.push(window.setInterval(() => draw().catch(() => undefined), spec.pollSeconds * 1000));
  };

  // Leaflet measures its container: start once the element is in the page.
  requestAnimationFrame(() => {
    if (destroyed) return;
    map.invalidateSize();
    loadCells()
      .then(async () => {
        if (!destroyed) await Promise.all([...LAYERS.map(loadLayer), loadCaseStats()]);
      })
      .then(() => {
        addToggle("alarms", t("layerAlarms"), alarms, true);
        element.dataset.ready = "1";
      })
      .catch((e) => mapEl.append(h("p", { class: "error" }, e.message)));
  });

  return {
    element,
    showAlarm(alarm) {
      const g = alarm.geometry;
      if (!g) return;
      const marker = L.geoJSON(g, {
        pointToLayer: (_f, ll) => L.circleMarker(ll, { radius: 8, color: "#b2182b", weight: 3, fillOpacity: 0.3, className: "feature-alarm" }),
      });
      marker.on("click", () => showDetails(`${alarm.severity} · ${when(alarm.at)}`, alarm));
      alarms.addLayer(marker);
    },
    destroy() {
      destroyed = true;
      timers.forEach((id) => clearInterval(id));
      map.remove();
    },
    caseRows: () => data.cases ?? [],
    vehicleRows: () => data.vehicles ?? [],
  };
}
