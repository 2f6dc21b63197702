// Enterprise services (双万双服): firms' requests with their state, department and rating, and
// the figures by department and request type, as the enterprise-services app serves them.
import { request } from "./gql";
import { t } from "./i18n";
import { rows } from "./schema";
import { clear, errorBox, figures, h, labelled, refusal, text, when } from "./ui";

const DEPT = "department total open resolved overdue rated averageRating";
const LIST = `query($d: String, $s: String, $o: Boolean, $after: String) {
  enterpriseRequests(department: $d, status: $s, overdue: $o, first: 100, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { key firm firmName requestType title department status statusLabel filedAt dueAt overdue
      resolvedAt result rating } } } }`;
const STATUSES = ["filed", "dispatched", "handling", "resolved", "visited", "rated", "closed"];

export function enterpriseView(): HTMLElement {
  const element = h("section", { class: "app-page", id: "enterprise" });
  const stats = h("div", { id: "esr-stats" }, t("loading"));
  const list = h("div", { id: "esr-requests", class: "scroll" });
  const dept = h("select", { id: "esr-department" }, h("option", { value: "" }, t("all"))) as HTMLSelectElement;
  const status = h("select", { id: "esr-status" }, h("option", { value: "" }, t("all")), STATUSES.map((s) => h("option", { value: s }, t(`st_${s}`)))) as HTMLSelectElement;
  const overdue = h("input", { id: "esr-overdue", type: "checkbox" }) as HTMLInputElement;
  const found = h("span", { id: "esr-found" }, "—");
  const more = h("button", { id: "esr-more", hidden: true }, t("loadMore")) as HTMLButtonElement;
  let shown: Record<string, any>[] = [];
  let cursor: string | null = null;

  const load = async (append: boolean) => {
    if (!append) {
      shown = [];
      cursor = null;
      clear(list, t("loading"));
    }
    const r = await request(LIST, { d: dept.value || null, s: status.value || null, o: overdue.checked ? true : null, after: cursor });
    const conn = r.data?.enterpriseRequests;
    shown.push(...rows(conn));
    cursor = conn?.pageInfo?.endCursor ?? null;
    more.hidden = !conn?.pageInfo?.hasNextPage;
    found.textContent = text(conn?.totalCount);
    clear(
      list,
      refusal(r.errors, t("refused")),
      labelled(
        shown,
        [
          ["firmName", t("firm")],
          ["requestType", t("requestType")],
          ["title", t("caseTitle")],
          ["department", t("department")],
          ["status", t("status"), (q) => t(`st_${q.status}`)],
          ["filedAt", t("filedAt"), (q) => when(q.filedAt)],
          ["dueAt", t("due"), (q) => when(q.dueAt)],
          ["overdue", t("overdue"), (q) => (q.overdue ? h("span", { class: "flag" }, t("overdueMark")) : t("no"))],
          ["result", t("result")],
          ["rating", t("rating")],
        ],
        { id: "esr-table" },
      ),
    );
  };
  more.addEventListener("click", () => load(true).catch((e) => list.append(errorBox(e))));

  element.append(
    h("h3", {}, t("enterprise")),
    stats,
    h(
      "section",
      {},
      h("h4", {}, t("requestList")),
      h(
        "div",
        { class: "filters" },
        h("label", {}, t("department"), " ", dept),
        h("label", {}, t("status"), " ", status),
        h("label", {}, overdue, " ", t("overdueOnly")),
        h("button", { id: "esr-apply", class: "primary", onclick: () => load(false).catch((e) => clear(list, errorBox(e))) }, t("apply")),
        h("span", {}, t("found"), " ", found),
      ),
      list,
      more,
    ),
  );

  request(`{ enterpriseRequestStats { totals { ${DEPT} } byDepartment { ${DEPT} } byType { requestType requests } } }`)
    .then((r) => {
      const s = r.data?.enterpriseRequestStats;
      if (!s) return clear(stats, refusal(r.errors, t("refused")) ?? t("noApp"));
      for (const d of s.byDepartment) dept.append(h("option", { value: d.department }, d.department));
      const tot = s.totals;
      clear(
        stats,
        refusal(r.errors, t("refused")),
        figures([
          ["esr-total", t("requests"), tot.total],
          ["esr-open", t("open_"), tot.open],
          ["esr-resolved", t("resolved"), tot.resolved],
          ["esr-overdue", t("overdue"), tot.overdue],
          ["esr-rated", t("rated"), tot.rated],
          ["esr-rating", t("averageRating"), tot.averageRating],
        ]),
        h(
          "div",
          { class: "two" },
          h(
            "section",
            {},
            h("h4", {}, t("byDepartment")),
            labelled(
              s.byDepartment,
              [
                ["department", t("department")],
                ["total", t("requests")],
                ["open", t("open_")],
                ["resolved", t("resolved")],
                ["overdue", t("overdue")],
                ["rated", t("rated")],
                ["averageRating", t("averageRating")],
              ],
              { id: "esr-by-department" },
            ),
          ),
          h("section", {}, h("h4", {}, t("byType")), labelled(s.byType, [["requestType", t("requestType")], ["requests", t("requests")]], { id: "esr-by-type" })),
        ),
      );
    })
    .catch((e) => clear(stats, errorBox(e)));
  load(false).catch((e) => clear(list, errorBox(e)));
  return element;
}
