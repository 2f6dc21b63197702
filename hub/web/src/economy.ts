// Economy one-map (经济一张图), the page: output / revenue / tax / employment by grid cell, park or
// industry (the groups add up to the district total; unplaced firms in a group of their own)
// and the trend by period. The firms themselves are a layer on the map.
import { request } from "./gql";
import { t } from "./i18n";
import { clear, errorBox, figures, h, labelled, refusal, sparkline } from "./ui";

const FIGS = "key name firms output10kCny revenue10kCny taxPaid10kCny employees";
const AGG = `query($by: EconomyGrouping!) { economyAggregates(groupBy: $by) { period grouping total { ${FIGS} } groups { ${FIGS} } } }`;
const TREND = `{ economyTrend { period figures { ${FIGS} } } }`;

const COLUMNS = (): [string, string, ((r: Record<string, any>) => string)?][] => [
  ["name", t("name"), (r) => (r.key === null ? t("unplaced") : String(r.name ?? r.key))],
  ["firms", t("firms")],
  ["output10kCny", t("output")],
  ["revenue10kCny", t("revenue")],
  ["taxPaid10kCny", t("tax")],
  ["employees", t("employees")],
];

export function economyView(): HTMLElement {
  const element = h("section", { class: "app-page", id: "economy" });
  const by = h("select", { id: "eco-group-by" }, ["CELL", "PARK", "INDUSTRY"].map((g) => h("option", { value: g }, t(`gb_${g}`)))) as HTMLSelectElement;
  by.value = "INDUSTRY";
  const totals = h("div", { id: "eco-totals" }, t("loading"));
  const groups = h("div", { id: "eco-groups", class: "scroll" });
  const trend = h("div", { id: "eco-trend" }, t("loading"));

  const load = async () => {
    clear(groups, t("loading"));
    const r = await request(AGG, { by: by.value });
    const a = r.data?.economyAggregates;
    if (!a) {
      clear(totals, refusal(r.errors, t("refused")) ?? t("noApp"));
      clear(groups);
      return;
    }
    const tot = a.total;
    clear(
      totals,
      refusal(r.errors, t("refused")),
      figures([
        ["eco-period", t("period"), a.period],
        ["eco-firms", t("firms"), tot.firms],
        ["eco-output", t("output"), tot.output10kCny],
        ["eco-revenue", t("revenue"), tot.revenue10kCny],
        ["eco-tax", t("tax"), tot.taxPaid10kCny],
        ["eco-employees", t("employees"), tot.employees],
      ]),
    );
    const sorted = [...a.groups].sort((x, y) => y.output10kCny - x.output10kCny);
    clear(groups, h("p", { class: "muted" }, `${t(`gb_${a.grouping}`)} · ${sorted.length}`), labelled(sorted, COLUMNS(), { id: "eco-groups-table", "data-grouping": a.grouping }));
  };
  by.addEventListener("change", () => load().catch((e) => clear(groups, errorBox(e))));

  element.append(
    h("h3", {}, t("economy"), " ", h("a", { href: "#/map", id: "eco-on-map" }, t("showOnMap"))),
    totals,
    h("section", {}, h("div", { class: "filters" }, h("label", {}, t("groupBy"), " ", by)), groups),
    h("section", {}, h("h4", {}, t("trend")), trend),
  );
  load().catch((e) => clear(totals, errorBox(e)));
  request(TREND)
    .then((r) => {
      const points: any[] = r.data?.economyTrend ?? [];
      const flat = points.map((p) => ({ key: p.period, ...p.figures, name: p.period }));
      clear(
        trend,
        refusal(r.errors, t("refused")),
        flat.length > 1 ? sparkline(flat.map((p) => p.output10kCny), 240, 40) : null,
        labelled(flat, [["name", t("period")], ...COLUMNS().slice(1)], { id: "eco-trend-table" }),
      );
    })
    .catch((e) => clear(trend, errorBox(e)));
  return element;
}
