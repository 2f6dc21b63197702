// Smart finance: firms by smoke index, with the per-dimension explanation and the trend, as
// the finance app serves them (fields discovered from the schema).
import { request } from "./gql";
import { t } from "./i18n";
import { rows, Schema } from "./schema";
import { cell, clear, errorBox, h, table, text } from "./ui";

export function financeView(schema: Schema | null): HTMLElement {
  const element = h("section", { class: "finance", id: "finance" });
  const field = schema?.findQuery(/^smokeIndex(es)?$/i, /^watchList$/i, /smoke/i, /^financeFirms$/i, /finance/i) ?? null;
  const query = field && schema ? schema.listQuery(field, 100) : null;
  if (!field || !query) {
    element.append(h("p", { class: "muted" }, t("noFinance")));
    return element;
  }
  const list = h("div", { class: "finance-list" });
  const detail = h("div", { class: "finance-detail" });
  element.append(h("h3", {}, `${t("smokeIndex")} · ${field.name}`), h("div", { class: "case-columns" }, list, detail));
  request(query)
    .then((r) => {
      const found = rows(r.data?.[field.name]);
      const score = Object.keys(found[0] ?? {}).find((k) => /smoke|index|score/i.test(k) && typeof found[0][k] === "number");
      if (score) found.sort((a, b) => (b[score] ?? 0) - (a[score] ?? 0));
      const columns = Object.keys(found[0] ?? {}).filter((k) => typeof found[0][k] !== "object" || Array.isArray(found[0][k]));
      clear(
        list,
        r.errors.length ? errorBox(r.errors.map((e) => e.message).join("; ")) : null,
        table(found, columns.slice(0, 8), (row: Record<string, any>) =>
          clear(
            detail,
            h("h4", {}, text(row.name ?? row.firmName ?? row.firm?.name ?? "")),
            h("dl", {}, Object.entries(row).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v && typeof v === "object" && !Array.isArray(v) ? h("dl", { class: "nested" }, Object.entries(v).flatMap(([a, b]) => [h("dt", {}, a), h("dd", {}, cell(b))])) : cell(v))])),
          ),
        ),
      );
    })
    .catch((e) => clear(list, errorBox(e)));
  return element;
}
