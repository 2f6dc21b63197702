// 微资讯: the district media center's news as the citizen app serves it — newest first, by
// category, or searched (Chinese words, best match first); a story opens beside the list.
import { request } from "./gql";
import { t } from "./i18n";
import { rows } from "./schema";
import { clear, errorBox, h, labelled, refusal, text, when } from "./ui";

const FIELDS = "key title summary body category source author publishedAt";
const LATEST = `query($c: String, $after: String) { microNews(first: 20, category: $c, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { ${FIELDS} } } } }`;
const SEARCH = `query($q: String!, $after: String) { microNewsSearch(query: $q, first: 20, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { ${FIELDS} } } } }`;

export function newsView(): HTMLElement {
  const element = h("section", { class: "app-page", id: "news" });
  const words = h("input", { id: "news-query", type: "search", placeholder: t("newsSearch") }) as HTMLInputElement;
  const category = h("input", { id: "news-category", placeholder: t("newsCategory") }) as HTMLInputElement;
  const go = h("button", { id: "news-apply" }, t("apply"));
  const list = h("div", { id: "news-list", class: "scroll" });
  const story = h("article", { id: "news-story" });
  element.append(h("h3", {}, t("news")), h("div", { class: "filters" }, words, category, go), h("div", { class: "case-columns" }, list, story));

  let shown: Record<string, any>[] = [];
  const load = async (after?: string) => {
    const q = words.value.trim();
    const r = q ? await request(SEARCH, { q, after }) : await request(LATEST, { c: category.value.trim() || null, after });
    const field = q ? "microNewsSearch" : "microNews";
    const refused = refusal(r.errors, t("refused"));
    if (refused) return clear(list, refused);
    shown = after ? [...shown, ...rows(r.data?.[field])] : rows(r.data?.[field]);
    const info = r.data?.[field]?.pageInfo;
    const more = info?.hasNextPage ? h("button", { id: "news-more" }, t("more")) : null;
    more?.addEventListener("click", () => load(info.endCursor).catch((e) => list.append(errorBox(e))));
    const open = (row: Record<string, any>) =>
      clear(story, h("h4", {}, text(row.title)), h("p", { class: "muted" }, `${text(row.source)} · ${when(row.publishedAt)} · ${text(row.category)}`), h("p", {}, text(row.body)));
    const table = labelled(
      shown,
      [
        ["publishedAt", t("publishedAt"), (row) => when(row.publishedAt)],
        ["title", t("newsTitle"), (row) => {
          const a = h("a", { href: "#", class: "news-title" }, text(row.title));
          a.addEventListener("click", (ev) => (ev.preventDefault(), open(row)));
          return a;
        }],
        ["category", t("newsCategory")],
        ["source", t("newsSource")],
      ],
      { id: "news-table" },
    );
    clear(list, table, more);
  };
  const run = () => load().catch((e) => clear(list, errorBox(e)));
  go.addEventListener("click", run);
  words.addEventListener("keydown", (ev) => (ev as KeyboardEvent).key === "Enter" && run());
  run();
  return element;
}
