// The case board: the citizen-service app's cases, filtered by status, channel, grid and
// department; a case's timeline, and dispatch / transfer / close as the role allows. The
// fields and mutations are discovered from the schema (see schema.ts).
import { gql, request, subscribe, Subscription } from "./gql";
import { t } from "./i18n";
import { Arg, Field, rows, Schema, TypeRef, unwrap } from "./schema";
import { clear, errorBox, h, table, text, when } from "./ui";

const FILTERS: [string, RegExp][] = [
  ["status", /^status$/],
  ["channel", /^channel$/],
  ["grid", /^(gridCell|gridCode|grid|gridCellCode)$/],
  ["department", /^(department|dept|assignedDepartment|departmentCode)$/],
];
const ACTIONS = [/dispatch/i, /transfer/i, /close/i];

function typeString(ref: TypeRef): string {
  if (ref.kind === "NON_NULL") return `${typeString(ref.ofType!)}!`;
  if (ref.kind === "LIST") return `[${typeString(ref.ofType!)}]`;
  return ref.name ?? "String";
}

function convert(value: string, ref: TypeRef): unknown {
  const name = unwrap(ref).name;
  if (value === "") return null;
  if (name === "Int") return parseInt(value, 10);
  if (name === "Float") return parseFloat(value);
  if (name === "Boolean") return value === "true";
  if (name === "JSON") {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  if (unwrap(ref).list) return value.split(",").map((v) => v.trim()).filter(Boolean);
  return value;
}

function caseId(row: Record<string, any>): string {
  return String(row.id ?? row.key ?? row.caseId ?? row.code ?? "");
}

function valueOf(row: Record<string, any>, pattern: RegExp): string {
  for (const [k, v] of Object.entries(row)) {
    if (!pattern.test(k)) continue;
    if (v && typeof v === "object") return String(v.code ?? v.name ?? v.id ?? "");
    return String(v ?? "");
  }
  return "";
}

/** The timeline of a case: its first list of objects that carry a time. */
function timelineOf(row: Record<string, any>): Record<string, any>[] {
  for (const key of ["timeline", "events", "history", "steps", "updates"]) {
    if (Array.isArray(row[key])) return row[key];
  }
  for (const v of Object.values(row)) {
    if (Array.isArray(v) && v.length && typeof v[0] === "object" && v[0] && ("at" in v[0] || "time" in v[0])) return v;
  }
  return [];
}

export function caseBoard(schema: Schema | null, roles: string[]): { element: HTMLElement; destroy(): void } {
  const element = h("section", { class: "cases", id: "case-board" });
  const field = schema?.findQuery(/^serviceCases$/, /^cases$/) ?? null;
  let live: Subscription | null = null;
  if (!schema || !field) {
    element.append(h("p", { class: "muted" }, t("noCases")));
    return { element, destroy() {} };
  }
  const inputs: Record<string, HTMLInputElement> = {};
  const form = h("form", { class: "filters" });
  for (const [name] of FILTERS) {
    inputs[name] = h("input", { name, placeholder: t(name === "grid" ? "grid" : name), "data-filter": name }) as HTMLInputElement;
    form.append(h("label", {}, t(name === "grid" ? "grid" : name), " ", inputs[name]));
  }
  form.append(h("button", { type: "submit" }, t("apply")));
  const list = h("div", { class: "case-list" });
  const detail = h("div", { class: "case-detail", id: "case-detail" });
  element.append(form, h("div", { class: "case-columns" }, list, detail));
  const mayAct = roles.some((r) => r === "operator" || r === "steward");

  const argsFor = (): Record<string, string> => {
    const given: Record<string, string> = {};
    for (const [name, pattern] of FILTERS) {
      const value = inputs[name].value.trim();
      const arg = field.args.find((a) => pattern.test(a.name) || a.name === name);
      if (value && arg && unwrap(arg.type).name === "String") given[arg.name] = JSON.stringify(value);
    }
    return given;
  };

  let current: Record<string, any>[] = [];
  const load = async () => {
    clear(list, h("p", {}, t("loading")));
    const query = schema.listQuery(field, 200, argsFor());
    if (!query) return clear(list, errorBox("no query"));
    const r = await request(query);
    current = rows(r.data?.[field.name]).filter((row) =>
      FILTERS.every(([name, pattern]) => {
        const want = inputs[name].value.trim();
        return !want || valueOf(row, pattern).includes(want);
      }),
    );
    const columns = Object.keys(current[0] ?? {}).filter((k) => typeof current[0][k] !== "object" || current[0][k] === null).slice(0, 9);
    clear(list, r.errors.length ? errorBox(r.errors.map((e) => e.message).join("; ")) : null, table(current, columns, (row) => open(caseId(row))));
  };

  const open = async (id: string) => {
    live?.close();
    const query = schema.listQuery(field, 200, argsFor());
    const r = await request(query ?? "");
    const row = rows(r.data?.[field.name]).find((x) => caseId(x) === id) ?? current.find((x) => caseId(x) === id);
    if (!row) return clear(detail, errorBox(`case ${id} not found`));
    const timeline = h("ol", { class: "timeline", id: "case-timeline" });
    const draw = (items: Record<string, any>[]) =>
      clear(
        timeline,
        items.map((e) =>
          h("li", {}, h("time", {}, when(e.at ?? e.time)), " ", h("strong", {}, text(e.status ?? e.action ?? e.kind ?? e.event)), " ", text(e.actor ?? e.by ?? ""), " ", text(e.note ?? e.message ?? e.department ?? "")),
        ),
      );
    const items = timelineOf(row);
    draw(items);
    const facts = h(
      "dl",
      {},
      Object.entries(row)
        .filter(([, v]) => v === null || typeof v !== "object")
        .flatMap(([k, v]) => [h("dt", {}, k), h("dd", { "data-field": k }, text(v))]),
    );
    clear(detail, h("h3", {}, `${t("cases")} ${id}`), facts, h("h4", {}, t("timeline")), timeline, mayAct ? actions(row) : null);
    // Steps taken elsewhere (another operator, a department) join the timeline live.
    if (schema.subscription.some((s) => s.name === "caseUpdates")) {
      live = subscribe(
        "subscription($id: ID) { caseUpdates(caseId: $id) { caseId status previousStatus at actor note } }",
        { id },
        (d) => {
          items.push(d.caseUpdates);
          draw(items);
        },
        () => undefined,
      );
    }
  };

  const actions = (row: Record<string, any>): HTMLElement => {
    const box = h("div", { class: "case-actions" }, h("h4", {}, t("actions")));
    for (const pattern of ACTIONS) {
      const m = schema.findMutation(pattern);
      if (m) box.append(actionForm(m, row));
    }
    return box;
  };

  const actionForm = (m: Field, row: Record<string, any>): HTMLElement => {
    const controls: [Arg, string[], HTMLInputElement | HTMLSelectElement][] = [];
    const fieldsOf = (arg: Arg, path: string[]) => {
      const named = schema.type(unwrap(arg.type).name);
      if (named?.kind === "INPUT_OBJECT") {
        for (const inner of named.inputFields ?? []) fieldsOf(inner, [...path, inner.name]);
        return;
      }
      const label = path.join(".");
      let control: HTMLInputElement | HTMLSelectElement;
      if (named?.kind === "ENUM") {
        control = h("select", { name: label }, (named.enumValues ?? []).map((v) => h("option", { value: v.name }, v.name))) as HTMLSelectElement;
      } else {
        const prefill = /^(id|caseId|case|key)$/.test(arg.name) ? caseId(row) : "";
        control = h("input", { name: label, value: prefill, placeholder: unwrap(arg.type).name ?? "" }) as HTMLInputElement;
      }
      controls.push([arg, path, control]);
    };
    for (const arg of m.args) fieldsOf(arg, [arg.name]);
    const result = h("span", { class: "result" });
    const formEl = h(
      "form",
      { class: "action", "data-mutation": m.name },
      h("strong", {}, m.name),
      controls.map(([, path, c]) => h("label", {}, path.join("."), " ", c)),
      h("button", { type: "submit" }, t("run")),
      result,
    );
    formEl.addEventListener("submit", async (event) => {
      event.preventDefault();
      const variables: Record<string, any> = {};
      for (const [arg, path, control] of controls) {
        let target = variables;
        for (const step of path.slice(0, -1)) target = target[step] ??= {};
        const value = convert(control.value.trim(), arg.type);
        if (value !== null) target[path[path.length - 1]] = value;
      }
      const decl = m.args.map((a) => `$${a.name}: ${typeString(a.type)}`).join(", ");
      const pass = m.args.map((a) => `${a.name}: $${a.name}`).join(", ");
      const ret = schema.type(unwrap(m.type).name);
      const sel = ret && !schema.isLeaf(m.type) ? `{ ${schema.selection(ret, 0) || "__typename"} }` : "";
      try {
        await gql(`mutation${decl ? `(${decl})` : ""} { ${m.name}${pass ? `(${pass})` : ""} ${sel} }`, variables);
        clear(result, t("done"));
        await open(caseId(row));
        await load();
      } catch (e) {
        clear(result, errorBox(e));
      }
    });
    return formEl;
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  load();
  return { element, destroy: () => live?.close() };
}
