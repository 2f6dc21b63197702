// The case board over the citizen-service app: its cases filtered by status, channel, grid
// cell and department; a case's facts and timeline (its history); and the closed loop's
// steps (verify, dispatch, transfer, start handling, resolve, return visit, rate, close) as
// buttons, shown only when the case's status allows the step and your role may take it.
// The hub checks both again: the buttons only spare you a refusal. A step names the version
// of the case it was taken on; if the case changed meanwhile (another desk, another worker)
// the hub refuses it with CONFLICT, and the board reloads the case and says so.
import { gql, request, Subscription, subscribe } from "./gql";
import { t } from "./i18n";
import { clear, errorBox, h, text, when } from "./ui";

export const STATUSES = ["FILED", "VERIFYING", "DISPATCHED", "RETURNED", "HANDLING", "RESOLVED", "VISITED", "RATED", "CLOSED", "MERGED"];
export const OPEN_STATUSES = ["FILED", "VERIFYING", "DISPATCHED", "RETURNED", "HANDLING"];
const CHANNELS = ["HOTLINE", "GRID", "SNAP", "MAILBOX", "ZERO_DISTANCE"];
const PAGE = 50;

const ROW_FIELDS = "id title status statusLabel channel channelCode categoryName subcategoryName gridCell street department reportedAt dueAt overdue";
const CASE_FIELDS = `${ROW_FIELDS} version trackingNumber sourceSystem description category subcategory classifiedBy address
  reporterName reporterPhone reporters inspector inspectorDistanceM mergedInto duplicates result rating mediaUrls
  history { at actor action fromStatus toStatus note }`;
const LIST = `query($filter: CaseFilterInput, $first: Int!, $after: String) {
  serviceCases(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { ${ROW_FIELDS} } } } }`;
const ONE = `query($id: ID!) { serviceCase(id: $id) { ${CASE_FIELDS} } }`;
const CHOICES = "{ serviceCaseStats { byDepartment { key label total } byGridCell { key total } } }";

type Row = Record<string, any>;
type Input = { name: string; kind: "department" | "note" | "result" | "rating" | "reopen" | "confirmed"; required?: boolean };

interface Step {
  action: string; // the app's action name, as in the history
  mutation: string;
  from: string[]; // statuses (enum names) the step may start from
  roles: string[]; // who may take it (the app's ACTION_ROLES)
  inputs: Input[];
}

const OPERATOR = ["operator"];
const DESK = ["operator", "department"];
// The app's closed loop (hub/apps/citizen_service/services.py: TRANSITIONS, ACTION_ROLES).
export const STEPS: Step[] = [
  { action: "verify", mutation: "verifyCase", from: ["FILED", "RETURNED"], roles: OPERATOR, inputs: [{ name: "note", kind: "note" }] },
  {
    action: "dispatch",
    mutation: "dispatchCase",
    from: ["FILED", "VERIFYING", "RETURNED"],
    roles: OPERATOR,
    inputs: [{ name: "department", kind: "department" }, { name: "confirmed", kind: "confirmed" }, { name: "note", kind: "note" }],
  },
  {
    action: "transfer",
    mutation: "transferCase",
    from: ["DISPATCHED", "HANDLING"],
    roles: OPERATOR,
    inputs: [{ name: "department", kind: "department", required: true }, { name: "note", kind: "note" }],
  },
  { action: "return_misrouted", mutation: "returnMisroutedCase", from: ["DISPATCHED"], roles: DESK, inputs: [{ name: "note", kind: "note", required: true }] },
  { action: "start_handling", mutation: "startHandlingCase", from: ["DISPATCHED"], roles: DESK, inputs: [{ name: "note", kind: "note" }] },
  { action: "resolve", mutation: "resolveCase", from: ["HANDLING"], roles: DESK, inputs: [{ name: "result", kind: "result", required: true }] },
  { action: "return_visit", mutation: "returnVisitCase", from: ["RESOLVED"], roles: OPERATOR, inputs: [{ name: "reopen", kind: "reopen" }, { name: "note", kind: "note" }] },
  { action: "rate", mutation: "rateCase", from: ["VISITED"], roles: OPERATOR, inputs: [{ name: "rating", kind: "rating", required: true }, { name: "note", kind: "note" }] },
  { action: "close", mutation: "closeCase", from: ["VISITED", "RATED"], roles: OPERATOR, inputs: [{ name: "note", kind: "note" }] },
];

const VAR_TYPES: Record<Input["kind"], string> = {
  department: "String",
  note: "String",
  result: "String",
  rating: "Int",
  reopen: "Boolean",
  confirmed: "Boolean",
};

/** The steps a role may take on a case in this status. */
export function stepsFor(status: string, roles: string[]): Step[] {
  return STEPS.filter((s) => s.from.includes(status) && s.roles.some((r) => roles.includes(r)));
}

function statusLabel(status: string): string {
  return t(`st_${String(status).toLowerCase()}`);
}

export function caseBoard(roles: string[], initial?: string): { element: HTMLElement; destroy(): void } {
  const element = h("section", { class: "cases", id: "case-board" });
  let live: Subscription | null = null;
  let destroyed = false;
  let departments: { key: string; label: string }[] = [];

  // -- filters -------------------------------------------------------------------------
  const select = (name: string, options: [string, string][]) =>
    h("select", { name, "data-filter": name }, h("option", { value: "" }, t("all")), options.map(([v, label]) => h("option", { value: v }, label))) as HTMLSelectElement;
  const status = select("status", [["OPEN", t("openOnly")], ...STATUSES.map((s): [string, string] => [s, statusLabel(s)])]);
  const channel = select("channel", CHANNELS.map((c): [string, string] => [c, t(`ch_${c.toLowerCase()}`)]));
  const department = select("department", []);
  const grid = h("input", { name: "gridCell", "data-filter": "gridCell", list: "grid-cells", placeholder: "BH-…", size: 12 }) as HTMLInputElement;
  const gridList = h("datalist", { id: "grid-cells" });
  const overdue = h("input", { type: "checkbox", name: "overdue", "data-filter": "overdue" }) as HTMLInputElement;
  const form = h(
    "form",
    { class: "filters", id: "case-filters" },
    h("label", {}, t("status"), " ", status),
    h("label", {}, t("channel"), " ", channel),
    h("label", {}, t("grid"), " ", grid, gridList),
    h("label", {}, t("department"), " ", department),
    h("label", {}, overdue, " ", t("overdueOnly")),
    h("button", { type: "submit", class: "primary" }, t("apply")),
  );
  const summary = h("p", { class: "muted", id: "case-count" });
  const list = h("div", { class: "case-list", id: "case-list" });
  const more = h("button", { id: "case-more", hidden: true }, t("more"));
  const detail = h("div", { class: "case-detail", id: "case-detail" }, h("p", { class: "hint" }, t("pickCase")));
  element.append(form, h("div", { class: "case-columns" }, h("div", {}, summary, list, more), detail));

  const filter = (): Row => {
    const f: Row = {};
    if (status.value === "OPEN") f.status = OPEN_STATUSES;
    else if (status.value) f.status = [status.value];
    if (channel.value) f.channel = channel.value;
    if (grid.value.trim()) f.gridCell = grid.value.trim();
    if (department.value) f.department = department.value;
    if (overdue.checked) f.overdue = true;
    return f;
  };

  // -- the list ------------------------------------------------------------------------
  const tbody = h("tbody", {});
  const rowEl = (c: Row): HTMLElement =>
    h(
      "tr",
      { class: `clickable${c.overdue ? " overdue" : ""}`, "data-case": c.id, "data-status": c.status, onclick: () => open(String(c.id)) },
      h("td", {}, c.id),
      h("td", {}, text(c.title ?? c.subcategoryName)),
      h("td", { class: "status" }, h("span", { class: `badge st-${String(c.status).toLowerCase()}` }, c.statusLabel ?? statusLabel(c.status))),
      h("td", {}, text(c.channel)),
      h("td", {}, text(c.gridCell)),
      h("td", {}, text(c.department)),
      h("td", {}, when(c.reportedAt)),
      h("td", { class: c.overdue ? "late" : "" }, c.dueAt ? when(c.dueAt) : "—", c.overdue ? ` · ${t("overdueMark")}` : ""),
    );
  const header = () =>
    h("thead", {}, h("tr", {}, ["caseId", "caseTitle", "status", "channel", "grid", "department", "reported", "due"].map((k) => h("th", {}, t(k)))));
  let cursor: string | null = null;
  let asked: Row = {};

  const load = async (append = false) => {
    if (!append) {
      asked = filter();
      cursor = null;
      clear(list, h("p", {}, t("loading")));
    }
    const r = await request(LIST, { filter: asked, first: PAGE, after: cursor }).catch((e) => ({ data: null, errors: [{ message: String(e.message ?? e) }] }));
    if (destroyed) return;
    const page = r.data?.serviceCases;
    if (!page) {
      clear(list, r.errors.length ? errorBox(r.errors.map((e) => e.message).join("; ")) : h("p", { class: "muted" }, t("noCases")));
      more.hidden = true;
      return;
    }
    const found: Row[] = page.edges.map((e: any) => e.node);
    if (!append) {
      clear(tbody);
      clear(list, found.length ? h("table", { class: "grid-table", id: "case-table" }, header(), tbody) : h("p", { class: "muted empty" }, t("noHits")));
    }
    tbody.append(...found.map(rowEl));
    cursor = page.pageInfo.endCursor;
    more.hidden = !page.pageInfo.hasNextPage;
    summary.dataset.total = String(page.totalCount);
    clear(summary, `${t("found")} ${page.totalCount} · ${t("shown")} ${tbody.children.length}`);
  };
  more.addEventListener("click", () => load(true));

  /** A case changed: its row in the list follows (it stays until the list is reloaded). */
  const refreshRow = (c: Row) => {
    const old = tbody.querySelector(`tr[data-case="${CSS.escape(String(c.id))}"]`);
    if (old) old.replaceWith(rowEl(c));
  };

  // -- one case ------------------------------------------------------------------------
  let openId: string | null = null;
  let shownVersion = "";
  const version = (c: Row) => `${c.id}|${c.version}`;
  /** Draw a case; ``notice`` says why it was drawn again (a step refused as stale). */
  const show = (c: Row, notice?: string) => {
    openId = String(c.id);
    shownVersion = version(c);
    tbody.querySelectorAll("tr.selected").forEach((tr) => tr.classList.remove("selected"));
    tbody.querySelector(`tr[data-case="${CSS.escape(openId)}"]`)?.classList.add("selected");
    const fact = (key: string, value: unknown, field = key) => [h("dt", {}, t(key)), h("dd", { "data-field": field }, text(value))];
    const facts = h(
      "dl",
      { class: "case-facts" },
      fact("status", c.statusLabel, "status"),
      fact("channel", c.channel),
      fact("category", [c.categoryName, c.subcategoryName].filter(Boolean).join(" / ") || null, "category"),
      fact("department", c.department),
      fact("grid", c.gridCell, "gridCell"),
      fact("street", c.street),
      fact("address", c.address),
      fact("reported", when(c.reportedAt), "reportedAt"),
      fact("due", c.dueAt ? when(c.dueAt) : null, "dueAt"),
      fact("overdue", c.overdue ? t("yes") : t("no"), "overdue"),
      fact("inspector", c.inspector ? `${c.inspector}${c.inspectorDistanceM != null ? ` (${Math.round(c.inspectorDistanceM)} m)` : ""}` : null, "inspector"),
      fact("reporter", [c.reporterName, c.reporterPhone].filter(Boolean).join(" ") || null, "reporter"),
      fact("reporters", c.reporters),
      fact("tracking", c.trackingNumber, "trackingNumber"),
      fact("source", c.sourceSystem, "sourceSystem"),
      c.result ? fact("result", c.result) : null,
      c.rating ? fact("rating", c.rating) : null,
      c.mergedInto ? fact("mergedInto", c.mergedInto) : null,
    );
    // Cases from a channel's own system come with no hub history: their report opens it.
    const history: Row[] = [...(c.history ?? [])];
    if (!history.some((e) => e.action === "file")) history.unshift({ at: c.reportedAt, action: "reported", toStatus: null, note: c.channel, origin: true });
    const timeline = h(
      "ol",
      { class: "timeline", id: "case-timeline" },
      history.length
        ? history.map((e) =>
            h(
              "li",
              { "data-action": e.action, "data-to": e.toStatus ?? "", class: e.origin ? "origin" : "" },
              h("time", {}, when(e.at)),
              " ",
              h("strong", {}, t(`act_${e.action}`)),
              " ",
              e.toStatus ? h("span", { class: "move" }, `${e.fromStatus ? statusLabel(e.fromStatus) + " → " : ""}${statusLabel(e.toStatus)}`) : null,
              e.actor ? h("small", { class: "actor" }, ` · ${e.actor}`) : null,
              e.note ? h("div", { class: "note" }, e.note) : null,
            ),
          )
        : h("li", { class: "muted" }, t("noHistory")),
    );
    const steps = stepsFor(c.status, roles);
    clear(
      detail,
      h("h3", {}, h("span", { id: "case-id" }, c.id), " ", h("span", { class: `badge st-${String(c.status).toLowerCase()}`, id: "case-status" }, c.statusLabel)),
      notice ? h("p", { class: "error conflict", id: "case-conflict", role: "alert" }, notice) : null,
      c.title ? h("p", { class: "case-title" }, c.title) : null,
      c.description ? h("p", { class: "case-description" }, c.description) : null,
      facts,
      h("h4", {}, t("timeline")),
      timeline,
      h(
        "div",
        { class: "case-actions", id: "case-actions" },
        h("h4", {}, t("actions")),
        steps.length ? steps.map((s) => stepForm(c, s)) : h("p", { class: "muted" }, t("noSteps")),
      ),
    );
  };

  const fetchCase = async (id: string): Promise<Row | null> => {
    const d = await gql(ONE, { id });
    return d.serviceCase ?? null;
  };

  const open = async (id: string) => {
    live?.close();
    live = null;
    clear(detail, h("p", {}, t("loading")));
    let c: Row | null;
    try {
      c = await fetchCase(id);
    } catch (e) {
      return clear(detail, errorBox(e));
    }
    if (destroyed) return;
    if (!c) return clear(detail, errorBox(`${t("noSuchCase")} ${id}`));
    show(c);
    // Steps taken elsewhere (another operator, a department, Open311) reach the open case
    // live: the update says that it moved, the case itself is read again.
    live = subscribe(
      "subscription($id: ID) { caseUpdates(caseId: $id) { caseId status at } }",
      { id },
      async () => {
        const fresh = await fetchCase(id).catch(() => null);
        // drawn again only if it moved (our own steps are drawn already; a form being
        // filled in is not wiped for nothing)
        if (fresh && openId === id && !destroyed && version(fresh) !== shownVersion) {
          show(fresh);
          refreshRow(fresh);
        }
      },
      () => undefined,
    );
  };

  const stepForm = (c: Row, step: Step): HTMLElement => {
    const controls: [Input, HTMLInputElement | HTMLSelectElement][] = [];
    for (const input of step.inputs) {
      let control: HTMLInputElement | HTMLSelectElement;
      if (input.kind === "department") {
        const choices = departments.filter((d) => d.key !== "unknown");
        const preset = step.action === "dispatch" ? c.department : "";
        if (preset && !choices.some((d) => d.key === preset)) choices.unshift({ key: preset, label: preset });
        control = h(
          "select",
          { name: "department" },
          h("option", { value: "" }, step.action === "dispatch" ? t("catalogDept") : "—"),
          choices.filter((d) => step.action !== "transfer" || d.key !== c.department).map((d) => h("option", { value: d.key }, d.label)),
        ) as HTMLSelectElement;
        if (preset) control.value = preset;
      } else if (input.kind === "rating") {
        control = h("select", { name: "rating" }, [5, 4, 3, 2, 1].map((n) => h("option", { value: n }, `${n} ★`))) as HTMLSelectElement;
      } else if (input.kind === "reopen" || input.kind === "confirmed") {
        control = h("input", { type: "checkbox", name: input.name, checked: input.kind === "confirmed" }) as HTMLInputElement;
      } else {
        control = h("input", { name: input.name, placeholder: t(input.kind), size: 24 }) as HTMLInputElement;
      }
      if (input.required) control.setAttribute("required", "");
      controls.push([input, control]);
    }
    const result = h("span", { class: "result" });
    const button = h("button", { type: "submit", class: "primary", id: `act-${step.action}` }, t(`act_${step.action}`)) as HTMLButtonElement;
    const formEl = h(
      "form",
      { class: "action", "data-step": step.action, "data-mutation": step.mutation },
      controls.map(([input, control]) => h("label", {}, t(input.kind), " ", control)),
      button,
      result,
    );
    formEl.addEventListener("submit", async (event) => {
      event.preventDefault();
      const variables: Row = { id: c.id, expectedVersion: c.version };
      for (const [input, control] of controls) {
        if (control instanceof HTMLInputElement && control.type === "checkbox") variables[input.name] = control.checked;
        else if (input.kind === "rating") variables[input.name] = parseInt(control.value, 10);
        else if (control.value.trim()) variables[input.name] = control.value.trim();
      }
      const names = ["id", ...step.inputs.map((i) => i.name).filter((n) => n in variables)];
      const typeOf = (n: string) => {
        const input = step.inputs.find((i) => i.name === n)!;
        return VAR_TYPES[input.kind] + (input.required ? "!" : "");
      };
      const decl = ["$expectedVersion: Int", ...names.map((n) => `$${n}: ${n === "id" ? "ID!" : typeOf(n)}`)].join(", ");
      const pass = ["expectedVersion: $expectedVersion", ...names.map((n) => `${n === "id" ? "caseId" : n}: $${n}`)].join(", ");
      button.disabled = true;
      clear(result, t("loading"));
      try {
        const r = await request(`mutation(${decl}) { ${step.mutation}(${pass}) { ${CASE_FIELDS} } }`, variables);
        if (r.errors.some((e) => e.extensions?.code === "CONFLICT")) {
          // changed since it was drawn: show what it is now, and take no step on a guess
          const fresh = await fetchCase(String(c.id));
          if (destroyed || openId !== String(c.id)) return;
          if (!fresh) return clear(detail, errorBox(`${t("noSuchCase")} ${c.id}`));
          show(fresh, t("caseConflict"));
          refreshRow(fresh);
          return;
        }
        if (r.errors.length) throw new Error(r.errors.map((e) => e.message).join("; "));
        const changed = r.data[step.mutation];
        if (!destroyed && openId === String(c.id)) show(changed);
        refreshRow(changed);
      } catch (e) {
        button.disabled = false;
        clear(result, errorBox(e));
      }
    });
    return formEl;
  };

  // -- choices for the filters (departments and cells that have cases) -------------------
  const loadChoices = async () => {
    const r = await request(CHOICES).catch(() => null);
    const s = r?.data?.serviceCaseStats;
    if (!s || destroyed) return;
    departments = [...s.byDepartment].sort((a: Row, b: Row) => String(a.key).localeCompare(String(b.key), "zh"));
    for (const d of departments) if (d.key !== "unknown") department.append(h("option", { value: d.key }, `${d.label} (${(d as Row).total})`));
    const cells = [...s.byGridCell].filter((b: Row) => b.key !== "unknown").sort((a: Row, b: Row) => String(a.key).localeCompare(String(b.key)));
    gridList.append(...cells.map((b: Row) => h("option", { value: b.key }, `${b.total}`)));
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  loadChoices().then(() => {
    if (initial && !destroyed) open(initial);
  });
  load();
  return {
    element,
    destroy: () => {
      destroyed = true;
      live?.close();
    },
  };
}
