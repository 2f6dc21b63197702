// Small DOM helpers: everything is built with createElement/textContent (no innerHTML of
// data), so nothing a source system sends can become markup.
type Attrs = Record<string, string | number | boolean | EventListener | undefined | null>;
type Child = Node | string | number | null | undefined | false;

export function h(tag: string, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value as EventListener);
    } else if (name === "value" && "value" in el) {
      (el as HTMLInputElement).value = String(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

export function text(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function when(iso: unknown): string {
  if (typeof iso !== "string") return text(iso);
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** A tiny line chart of a series of numbers (a trend), as inline SVG. */
export function sparkline(values: number[], width = 120, height = 28): SVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("class", "sparkline");
  if (values.length > 1) {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const span = hi - lo || 1;
    const points = values
      .map((v, i) => `${(i / (values.length - 1)) * (width - 2) + 1},${height - 1 - ((v - lo) / span) * (height - 2)}`)
      .join(" ");
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points);
    svg.append(line);
  }
  return svg;
}

/** A table of rows (objects); nested values shown compactly, number lists as sparklines. */
export function table(rows: Record<string, unknown>[], columns?: string[], onRow?: (row: Record<string, unknown>) => void): HTMLElement {
  const cols = columns ?? Array.from(new Set(rows.flatMap((r) => Object.keys(r))));
  return h(
    "table",
    { class: "grid-table" },
    h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h(
          "tr",
          onRow ? { class: "clickable", onclick: () => onRow(row) } : {},
          cols.map((c) => h("td", {}, cell(row[c]))),
        ),
      ),
    ),
  );
}

export function cell(value: unknown): Node | string {
  if (Array.isArray(value) && value.length > 1 && value.every((v) => typeof v === "number")) {
    return sparkline(value as number[]);
  }
  if (Array.isArray(value) && value.every((v) => v && typeof v === "object")) {
    const nums = value.map((v) => Object.values(v as object).find((x) => typeof x === "number"));
    if (value.length > 1 && nums.every((n) => typeof n === "number")) return sparkline(nums as number[]);
  }
  return text(value);
}

export function errorBox(err: unknown): HTMLElement {
  return h("p", { class: "error", role: "alert" }, err instanceof Error ? err.message : String(err));
}

/** Figure tiles: [id, label, value]; each value in `.value`, found by `#fig-<id>`. */
export function figures(list: [string, string, unknown][]): HTMLElement {
  return h(
    "div",
    { class: "kpis figures" },
    list.map(([id, label, value]) => h("div", { class: "kpi", id: `fig-${id}` }, h("span", { class: "value" }, text(value)), h("span", { class: "label" }, label))),
  );
}

/** A share 0…1 as a percentage. */
export function pct(value: unknown): string {
  return typeof value === "number" ? `${(value * 100).toFixed(1)}%` : text(value);
}

/** GraphQL errors as one clear message: a policy refusal says so (no crash, no raw dump). */
export function refusal(errors: { message: string }[], refusedText: string): HTMLElement | null {
  if (!errors.length) return null;
  const msg = errors.map((e) => e.message).join("; ");
  const denied = /not allowed|denied|forbidden|refus|policy|permission|scope|not authori[sz]ed/i.test(msg);
  return h("p", { class: denied ? "error refused" : "error", role: "alert" }, denied ? `${refusedText}（${msg}）` : msg);
}

export type Column = [key: string, label: string, render?: (row: Record<string, any>) => Node | string];

/** A table with labelled columns (labels already translated); `data-key` per cell for tests. */
export function labelled(rows: Record<string, any>[], columns: Column[], attrs: Record<string, string> = {}): HTMLElement {
  return h(
    "table",
    { class: "grid-table", ...attrs },
    h("thead", {}, h("tr", {}, columns.map(([, label]) => h("th", {}, label)))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", { "data-row": text(row.key ?? row.department ?? row.name ?? "") }, columns.map(([key, , render]) => h("td", { "data-key": key }, render ? render(row) : cell(row[key]))))),
    ),
  );
}
