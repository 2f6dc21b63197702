// Entity 360°: Chinese full-text search, then everything every system knows about one firm /
// vehicle / place, each fact with its source, and its graph neighbourhood.
import { gql } from "./gql";
import { t } from "./i18n";
import { clear, errorBox, h, text, when } from "./ui";

const SEARCH = `query($q: String!) { search(query: $q, first: 20) { totalCount edges { node {
  kind key title snippet score entity { id type label } } } } }`;
const ENTITY = `query($id: String!) { entity360(id: $id) { id type label resolvedBy confidence
  sources { system kind key sourceId fetchedAt method confidence attrs }
  relations(first: 50) { rel direction source { system kind key } other { id type label } }
  neighbourhood(hops: 1, limit: 40) { entities { id type label } edges { from rel to confidence } } } }`;

function graph(centre: string, entities: { id: string; label: string; type: string }[], edges: { from: string; to: string; rel: string }[], onOpen: (id: string) => void): SVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const size = 420;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("class", "neighbourhood");
  const others = entities.filter((e) => e.id !== centre);
  const pos = new Map<string, [number, number]>([[centre, [size / 2, size / 2]]]);
  others.forEach((e, i) => {
    const a = (2 * Math.PI * i) / Math.max(1, others.length);
    pos.set(e.id, [size / 2 + Math.cos(a) * 160, size / 2 + Math.sin(a) * 160]);
  });
  for (const e of edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const line = document.createElementNS(ns, "line");
    line.setAttribute("x1", String(a[0]));
    line.setAttribute("y1", String(a[1]));
    line.setAttribute("x2", String(b[0]));
    line.setAttribute("y2", String(b[1]));
    const title = document.createElementNS(ns, "title");
    title.textContent = e.rel;
    line.append(title);
    svg.append(line);
  }
  for (const e of entities) {
    const p = pos.get(e.id);
    if (!p) continue;
    const g = document.createElementNS(ns, "g");
    g.setAttribute("class", e.id === centre ? "node centre" : "node");
    const c = document.createElementNS(ns, "circle");
    c.setAttribute("cx", String(p[0]));
    c.setAttribute("cy", String(p[1]));
    c.setAttribute("r", e.id === centre ? "10" : "6");
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", String(p[0] + 9));
    label.setAttribute("y", String(p[1] + 4));
    label.textContent = e.label.slice(0, 14);
    g.append(c, label);
    g.addEventListener("click", () => onOpen(e.id));
    svg.append(g);
  }
  return svg;
}

export function entityView(initial?: string): HTMLElement {
  const input = h("input", { type: "search", name: "q", placeholder: t("searchHint"), id: "entity-search", value: initial ?? "" }) as HTMLInputElement;
  const form = h("form", { class: "search" }, input, h("button", { type: "submit" }, t("search")));
  const hits = h("div", { class: "hits", id: "search-hits" });
  const detail = h("div", { class: "entity", id: "entity-detail" });
  const element = h("section", { class: "entity-view" }, form, h("div", { class: "entity-columns" }, hits, detail));

  const open = async (id: string) => {
    clear(detail, h("p", {}, t("loading")));
    try {
      const d = await gql(ENTITY, { id });
      const e = d.entity360;
      if (!e) return clear(detail, h("p", {}, t("noHits")));
      clear(
        detail,
        h("h3", {}, e.label, " ", h("small", {}, `${e.type} · ${e.resolvedBy} · ${text(e.confidence)}`)),
        h("h4", {}, t("sources"), ` (${e.sources.length})`),
        e.sources.map((s: any) =>
          h(
            "details",
            { class: "source", open: e.sources.length < 4 },
            h("summary", {}, h("strong", {}, s.system), ` ${s.kind} ${s.key} · ${s.method} ${text(s.confidence)} · ${when(s.fetchedAt)}`),
            h("dl", {}, Object.entries(s.attrs ?? {}).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, text(v))])),
          ),
        ),
        h("h4", {}, t("relations"), ` (${e.relations.length})`),
        h(
          "ul",
          { class: "relations" },
          e.relations.map((r: any) =>
            h("li", {}, `${r.direction === "OUT" ? "→" : "←"} ${r.rel} `, r.other ? h("a", { href: "#", onclick: (ev: Event) => (ev.preventDefault(), open(r.other.id)) }, r.other.label) : "—", h("small", {}, ` (${r.source.system})`)),
          ),
        ),
        h("h4", {}, t("neighbourhood")),
        graph(e.id, e.neighbourhood.entities, e.neighbourhood.edges, open),
      );
    } catch (err) {
      clear(detail, errorBox(err));
    }
  };

  const search = async () => {
    const q = input.value.trim();
    if (!q) return;
    clear(hits, h("p", {}, t("loading")));
    try {
      const d = await gql(SEARCH, { q });
      const found = d.search.edges.map((x: any) => x.node);
      clear(
        hits,
        h("p", { class: "muted" }, `${d.search.totalCount}`),
        found.length
          ? h(
              "ul",
              { class: "hit-list" },
              found.map((n: any) =>
                h("li", { class: "hit", onclick: () => open(n.entity?.id ?? n.key) }, h("strong", {}, n.title), " ", h("small", {}, n.kind), h("p", {}, n.snippet)),
              ),
            )
          : h("p", {}, t("noHits")),
      );
    } catch (err) {
      clear(hits, errorBox(err));
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  if (initial) search();
  return element;
}
