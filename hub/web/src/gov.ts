// Government services (政务服务): the items served online, applications by status and channel,
// the average time to a decision, and the applications list with the applicants' personal data
// as the policy serves it (masked unless revealed), as the gov-services app serves them.
import { request } from "./gql";
import { t } from "./i18n";
import { rows } from "./schema";
import { clear, errorBox, figures, h, labelled, pct, refusal, text, when } from "./ui";

const STATS = `{ govServiceStats { items itemsOnline itemsFullyOnline onlineItemRate itemsServedOnline
  applications onlineApplications decided timed averageHours averageDays decidedOnTime decidedLate
  openOverdue onTimeRate byStatus { key label count } byChannel { key label count }
  byDepartment { department applications decided averageHours } } }`;
const ITEMS = `{ serviceItems(first: 100) { totalCount edges { node { key itemCode name itemType department
  serves onlineLevel online promisedTimeLimitDays } } } }`;
const APPS = `query($f: ApplicationFilterInput, $after: String) { serviceApplications(filter: $f, first: 100, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { key itemName department channel status statusLabel applicantType applicantName
    applicantPhone applicantIdNumber enterpriseName submittedAt decidedAt overdue } } } }`;
const STATUSES = ["SUBMITTED", "ACCEPTED", "RETURNED", "UNDER_REVIEW", "APPROVED", "REJECTED"];

export function govView(): HTMLElement {
  const element = h("section", { class: "app-page", id: "gov" });
  const stats = h("div", { id: "gov-stats" }, t("loading"));
  const items = h("div", { id: "gov-items", class: "scroll" }, t("loading"));
  const list = h("div", { id: "gov-applications", class: "scroll" });
  const status = h("select", { id: "gov-status" }, h("option", { value: "" }, t("all")), STATUSES.map((s) => h("option", { value: s }, t(`as_${s}`)))) as HTMLSelectElement;
  const found = h("span", { id: "gov-found" }, "—");
  const more = h("button", { id: "gov-more", hidden: true }, t("loadMore")) as HTMLButtonElement;
  let shown: Record<string, any>[] = [];
  let cursor: string | null = null;

  const load = async (append: boolean) => {
    if (!append) {
      shown = [];
      cursor = null;
      clear(list, t("loading"));
    }
    const r = await request(APPS, { f: status.value ? { status: [status.value] } : null, after: cursor });
    const conn = r.data?.serviceApplications;
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
          ["key", "#"],
          ["itemName", t("item")],
          ["department", t("department")],
          ["channel", t("channel")],
          ["status", t("status"), (a) => t(`as_${a.status}`)],
          ["applicantName", t("applicant")],
          ["applicantPhone", t("applicantPhone")],
          ["applicantIdNumber", t("idNumber")],
          ["enterpriseName", t("enterpriseName")],
          ["submittedAt", t("submitted"), (a) => when(a.submittedAt)],
          ["decidedAt", t("decidedAt"), (a) => when(a.decidedAt)],
          ["overdue", t("overdue"), (a) => (a.overdue ? h("span", { class: "flag" }, t("overdueMark")) : t("no"))],
        ],
        { id: "gov-table" },
      ),
    );
  };
  more.addEventListener("click", () => load(true).catch((e) => list.append(errorBox(e))));

  element.append(
    h("h3", {}, t("gov")),
    stats,
    h("section", {}, h("h4", {}, t("catalogue")), items),
    h(
      "section",
      {},
      h("h4", {}, t("applicationsList")),
      h(
        "div",
        { class: "filters" },
        h("label", {}, t("status"), " ", status),
        h("button", { id: "gov-apply", class: "primary", onclick: () => load(false).catch((e) => clear(list, errorBox(e))) }, t("apply")),
        h("span", {}, t("found"), " ", found),
      ),
      list,
      more,
    ),
  );

  request(STATS)
    .then((r) => {
      const s = r.data?.govServiceStats;
      if (!s) return clear(stats, refusal(r.errors, t("refused")) ?? t("noApp"));
      const counts = (list: any[], id: string) =>
        labelled(list, [["label", t("status"), (c) => (id === "gov-by-status" ? t(`as_${String(c.key).toUpperCase()}`) : text(c.label))], ["count", t("count")]], { id });
      clear(
        stats,
        refusal(r.errors, t("refused")),
        figures([
          ["gov-items", t("items"), s.items],
          ["gov-items-online", t("itemsOnline"), s.itemsOnline],
          ["gov-items-fully-online", t("itemsFullyOnline"), s.itemsFullyOnline],
          ["gov-online-rate", t("onlineItemRate"), pct(s.onlineItemRate)],
          ["gov-items-served-online", t("itemsServedOnline"), s.itemsServedOnline],
          ["gov-applications", t("applications"), s.applications],
          ["gov-online-applications", t("onlineApplications"), s.onlineApplications],
          ["gov-decided", t("decided"), s.decided],
          ["gov-average-days", t("averageDays"), s.averageDays],
          ["gov-on-time", t("onTimeRate"), pct(s.onTimeRate)],
          ["gov-open-overdue", t("openOverdue"), s.openOverdue],
        ]),
        h(
          "div",
          { class: "two" },
          h("section", {}, h("h4", {}, t("byStatus")), counts(s.byStatus, "gov-by-status")),
          h("section", {}, h("h4", {}, t("byChannel")), counts(s.byChannel, "gov-by-channel")),
        ),
        h(
          "section",
          {},
          h("h4", {}, t("byDepartment")),
          labelled(
            s.byDepartment,
            [
              ["department", t("department")],
              ["applications", t("applications")],
              ["decided", t("decided")],
              ["averageHours", t("averageHours")],
            ],
            { id: "gov-by-department" },
          ),
        ),
      );
    })
    .catch((e) => clear(stats, errorBox(e)));
  request(ITEMS)
    .then((r) =>
      clear(
        items,
        refusal(r.errors, t("refused")),
        labelled(
          rows(r.data?.serviceItems),
          [
            ["itemCode", t("itemCode")],
            ["name", t("name")],
            ["itemType", t("caseType")],
            ["department", t("department")],
            ["serves", t("applicant")],
            ["onlineLevel", t("onlineLevel")],
            ["promisedTimeLimitDays", t("promisedDays")],
          ],
          { id: "gov-items-table" },
        ),
      ),
    )
    .catch((e) => clear(items, errorBox(e)));
  load(false).catch((e) => clear(list, errorBox(e)));
  return element;
}
