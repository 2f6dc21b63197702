// Law-enforcement supervision (执法监督): the enforcement cases with their deadlines, overdue
// state and anomaly flags, filtered by department / overdue / anomaly, and the figures by
// enforcing department, as the law-enforcement app serves them.
import { request } from "./gql";
import { t } from "./i18n";
import { rows } from "./schema";
import { clear, errorBox, figures, h, labelled, refusal, text } from "./ui";

const DEPT = "department cases open closed overdue closedLate anomalous repeatedInspectionNoFinding closedWithoutEvidence finesCny";
const CASES = `query($d: String, $o: Boolean, $a: EnforcementAnomaly, $any: Boolean, $after: String) {
  enforcementCases(department: $d, overdue: $o, anomaly: $a, anomalous: $any, first: 100, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { key caseNumber caseType partyName department status filedOn dueOn closedOn overdue
      daysOverdue anomalies fineCny violation } } } }`;

function flags(row: Record<string, any>): HTMLElement {
  const list: string[] = row.anomalies ?? [];
  return h("span", { class: "flags" }, list.length ? list.map((a) => h("span", { class: "flag", "data-anomaly": a }, t(`an_${a}`))) : "—");
}

export function lawView(): HTMLElement {
  const element = h("section", { class: "app-page", id: "law" });
  const stats = h("div", { id: "law-stats" }, t("loading"));
  const list = h("div", { id: "law-cases", class: "scroll" });
  const dept = h("select", { id: "law-department" }, h("option", { value: "" }, t("all"))) as HTMLSelectElement;
  const overdue = h(
    "select",
    { id: "law-overdue" },
    h("option", { value: "" }, t("all")),
    h("option", { value: "true" }, t("overdueOnly")),
    h("option", { value: "false" }, t("notOverdue")),
  ) as HTMLSelectElement;
  const anomaly = h(
    "select",
    { id: "law-anomaly" },
    h("option", { value: "" }, t("all")),
    h("option", { value: "ANY" }, t("anyAnomaly")),
    h("option", { value: "REPEATED_INSPECTION_NO_FINDING" }, t("an_REPEATED_INSPECTION_NO_FINDING")),
    h("option", { value: "CLOSED_WITHOUT_EVIDENCE" }, t("an_CLOSED_WITHOUT_EVIDENCE")),
  ) as HTMLSelectElement;
  const found = h("span", { id: "law-found" }, "—");
  const more = h("button", { id: "law-more", hidden: true }, t("loadMore")) as HTMLButtonElement;
  let shown: Record<string, any>[] = [];
  let cursor: string | null = null;

  const vars = () => ({
    d: dept.value || null,
    o: overdue.value === "" ? null : overdue.value === "true",
    a: anomaly.value && anomaly.value !== "ANY" ? anomaly.value : null,
    any: anomaly.value === "ANY" ? true : null,
  });
  const columns = [
    ["caseNumber", t("caseNumber")],
    ["caseType", t("caseType")],
    ["partyName", t("party")],
    ["violation", t("violation")],
    ["department", t("department")],
    ["status", t("status")],
    ["filedOn", t("filedOn")],
    ["dueOn", t("dueOn")],
    ["closedOn", t("closedOn")],
    ["overdue", t("overdue"), (r: Record<string, any>) => (r.overdue ? h("span", { class: "flag" }, `${t("overdueMark")} ${r.daysOverdue}`) : t("no"))],
    ["anomalies", t("anomalies"), flags],
    ["fineCny", t("fines")],
  ] as [string, string, ((r: Record<string, any>) => Node | string)?][];

  const load = async (append: boolean) => {
    if (!append) {
      shown = [];
      cursor = null;
      clear(list, t("loading"));
    }
    const r = await request(CASES, { ...vars(), after: cursor });
    const conn = r.data?.enforcementCases;
    shown.push(...rows(conn));
    cursor = conn?.pageInfo?.endCursor ?? null;
    more.hidden = !conn?.pageInfo?.hasNextPage;
    found.textContent = text(conn?.totalCount);
    clear(list, refusal(r.errors, t("refused")), labelled(shown, columns, { id: "law-table" }));
  };
  more.addEventListener("click", () => load(true).catch((e) => list.append(errorBox(e))));

  element.append(
    h("h3", {}, t("law")),
    stats,
    h(
      "section",
      {},
      h(
        "div",
        { class: "filters" },
        h("label", {}, t("department"), " ", dept),
        h("label", {}, t("overdue"), " ", overdue),
        h("label", {}, t("anomalies"), " ", anomaly),
        h("button", { id: "law-apply", class: "primary", onclick: () => load(false).catch((e) => clear(list, errorBox(e))) }, t("apply")),
        h("span", {}, t("found"), " ", found),
      ),
      list,
      more,
    ),
  );

  request(`{ enforcementStats { asOf totals { ${DEPT} } byDepartment { ${DEPT} } } }`)
    .then((r) => {
      const s = r.data?.enforcementStats;
      if (!s) return clear(stats, refusal(r.errors, t("refused")) ?? t("noApp"));
      for (const d of s.byDepartment) dept.append(h("option", { value: d.department }, d.department));
      const tot = s.totals;
      clear(
        stats,
        refusal(r.errors, t("refused")),
        figures([
          ["law-cases", t("cases_"), tot.cases],
          ["law-open", t("open_"), tot.open],
          ["law-closed", t("closed_"), tot.closed],
          ["law-overdue", t("overdue"), tot.overdue],
          ["law-closed-late", t("closedLate"), tot.closedLate],
          ["law-anomalous", t("anomalous"), tot.anomalous],
          ["law-fines", t("fines"), tot.finesCny],
        ]),
        h("section", {}, h("h4", {}, `${t("byDepartment")} · ${s.asOf}`),
          labelled(s.byDepartment, [
            ["department", t("department")],
            ["cases", t("cases_")],
            ["open", t("open_")],
            ["closed", t("closed_")],
            ["overdue", t("overdue")],
            ["closedLate", t("closedLate")],
            ["anomalous", t("anomalous")],
            ["repeatedInspectionNoFinding", t("an_REPEATED_INSPECTION_NO_FINDING")],
            ["closedWithoutEvidence", t("an_CLOSED_WITHOUT_EVIDENCE")],
            ["finesCny", t("fines")],
          ], { id: "law-by-department" })),
      );
    })
    .catch((e) => clear(stats, errorBox(e)));
  load(false).catch((e) => clear(list, errorBox(e)));
  return element;
}
