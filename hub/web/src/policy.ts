// The stewards' policy editor (edit, dry-run diff, publish, roll back, approve another
// steward's widening change: four eyes) and the audit log.
import { gql } from "./gql";
import { t } from "./i18n";
import { clear, errorBox, h, table, when } from "./ui";

const POLICIES = "{ policies { name version status subject source author reason publishedAt } }";
const VERSIONS = "query($name: String) { policyVersions(name: $name) { version status author createdAt reason publishedAt approvedBy } }";
const PENDING = "{ pendingPolicies { name version status subject source author reason widens } }";
const APPROVE = "mutation($name: String!, $v: Int!, $reason: String!) { policyApprove(name: $name, version: $v, reason: $reason) { version status } }";
const DRAFT = "mutation($doc: String!, $reason: String!) { policyDraft(document: $doc, reason: $reason) { name version status } }";
const VALIDATE = "mutation($name: String!, $v: Int!) { policyValidate(name: $name, version: $v) { ok problems } }";
const DRY_RUN = `mutation($name: String!, $v: Int!) { policyDryRun(name: $name, version: $v) { principals
  changes { principal type accessBefore accessAfter fieldsGained fieldsLost maskedBefore maskedAfter rowsBefore rowsAfter } } }`;
const PUBLISH = "mutation($name: String!, $v: Int!, $reason: String!) { policyPublish(name: $name, version: $v, reason: $reason) { version status widens } }";
const ROLLBACK = "mutation($name: String!, $reason: String!) { policyRollback(name: $name, reason: $reason) { version status widens } }";

// A publish or rollback that widens access is not in force: it awaits another steward.
const outcome = (d: any, done: string): string =>
  d.status === "pending" ? `${t("awaitingApproval")} ${d.version} (${d.widens.join("; ")})` : `${t(done)} ${d.version}`;

export function policyView(): HTMLElement {
  const names = h("ul", { class: "policy-names", id: "policy-names" });
  const editor = h("div", { class: "policy-editor", id: "policy-editor" });
  const element = h("section", { class: "policy-view" }, h("div", { class: "case-columns" }, names, editor));
  let draftVersion: number | null = null;

  const select = async (p: any) => {
    draftVersion = null;
    const source = h("textarea", { id: "policy-source", rows: 18, spellcheck: "false" }) as HTMLTextAreaElement;
    source.value = p.source;
    const reason = h("input", { id: "policy-reason", placeholder: t("reason") }) as HTMLInputElement;
    const status = h("div", { id: "policy-status", class: "status" });
    const diff = h("div", { id: "policy-diff" });
    const versions = h("div", { id: "policy-versions" });
    const pending = h("div", { id: "policy-pending" });
    const why = () => reason.value.trim() || "ops centre";
    const run = (fn: () => Promise<void>) => async () => {
      clear(status, t("loading"));
      try {
        await fn();
      } catch (e) {
        clear(status, errorBox(e));
      }
    };
    const draft = run(async () => {
      const d = await gql(DRAFT, { doc: source.value, reason: why() });
      draftVersion = d.policyDraft.version;
      clear(status, `${t("draftSaved")} ${draftVersion}`);
      await loadVersions();
    });
    const dryRun = run(async () => {
      if (draftVersion === null) await draft();
      if (draftVersion === null) return;
      const v = await gql(VALIDATE, { name: p.name, v: draftVersion });
      const d = await gql(DRY_RUN, { name: p.name, v: draftVersion });
      const changed = d.policyDryRun.changes.filter(
        (c: any) =>
          c.accessBefore !== c.accessAfter || c.fieldsGained.length || c.fieldsLost.length || c.rowsBefore !== c.rowsAfter ||
          c.maskedBefore.join() !== c.maskedAfter.join(),
      );
      clear(status, `${t("validation")}: `, v.policyValidate.ok ? t("ok") : v.policyValidate.problems.join("; "));
      clear(
        diff,
        changed.length
          ? table(
              changed.map((c: any) => ({
                [t("principalCol")]: c.principal,
                [t("typeCol")]: c.type,
                [t("accessCol")]: `${c.accessBefore} → ${c.accessAfter}`,
                [t("fieldsCol")]: `+${c.fieldsGained.join(",") || "∅"} / −${c.fieldsLost.join(",") || "∅"}`,
                [t("maskedCol")]: `${c.maskedBefore.join(",") || "∅"} → ${c.maskedAfter.join(",") || "∅"}`,
                [t("rowsCol")]: `${c.rowsBefore} → ${c.rowsAfter}`,
              })),
            )
          : h("p", {}, t("noChange")),
      );
    });
    const publish = run(async () => {
      if (draftVersion === null) await draft();
      if (draftVersion === null) return;
      const d = await gql(PUBLISH, { name: p.name, v: draftVersion, reason: why() });
      clear(status, outcome(d.policyPublish, "published"));
      draftVersion = null;
      await loadVersions();
    });
    const rollback = run(async () => {
      const d = await gql(ROLLBACK, { name: p.name, reason: why() });
      clear(status, outcome(d.policyRollback, "rolledBack"));
      draftVersion = null;
      await loadVersions();
      const fresh = await gql(POLICIES);
      source.value = fresh.policies.find((x: any) => x.name === p.name)?.source ?? source.value;
    });
    source.addEventListener("input", () => (draftVersion = null)); // an edit needs a new draft
    const approve = (v: any) =>
      run(async () => {
        const d = await gql(APPROVE, { name: p.name, v: v.version, reason: why() });
        clear(status, `${t("approved")} ${d.policyApprove.version}`);
        await loadVersions();
      });
    const loadVersions = async () => {
      const d = await gql(VERSIONS, { name: p.name });
      clear(versions, h("h4", {}, t("versions")), table(d.policyVersions.map((v: any) => ({ ...v, createdAt: when(v.createdAt), publishedAt: when(v.publishedAt) }))));
      // another steward's widening change, to approve (the hub refuses its author)
      const waiting = (await gql(PENDING)).pendingPolicies.filter((v: any) => v.name === p.name);
      clear(
        pending,
        waiting.length
          ? [
              h("h4", {}, t("pendingChanges")),
              h(
                "ul",
                { class: "policy-pending" },
                waiting.map((v: any) =>
                  h(
                    "li",
                    { "data-version": v.version },
                    `v${v.version} · ${v.author} · ${v.reason} — ${t("widensCol")}: ${v.widens.join("; ")} `,
                    h("button", { class: "policy-approve primary", onclick: approve(v) }, t("approve")),
                  ),
                ),
              ),
            ]
          : [],
      );
    };
    clear(
      editor,
      h("h3", {}, `${t("policy")} ${p.name}`, " ", h("small", {}, `${p.subject} · v${p.version}`)),
      source,
      h(
        "div",
        { class: "buttons" },
        reason,
        h("button", { id: "policy-draft", onclick: draft }, t("saveDraft")),
        h("button", { id: "policy-dry-run", onclick: dryRun }, t("dryRun")),
        h("button", { id: "policy-publish", class: "primary", onclick: publish }, t("publish")),
        h("button", { id: "policy-rollback", onclick: rollback }, t("rollback")),
      ),
      status,
      pending,
      diff,
      versions,
    );
    await loadVersions().catch((e) => versions.append(errorBox(e)));
  };

  Promise.all([gql(POLICIES), gql(PENDING)])
    .then(([d, w]) => {
      const waiting = new Set(w.pendingPolicies.map((v: any) => v.name));
      // a new policy awaiting approval has no published version: list it by its pending one
      const fresh = w.pendingPolicies.filter((v: any, i: number, all: any[]) =>
        !d.policies.some((p: any) => p.name === v.name) && all.findIndex((x: any) => x.name === v.name) === i);
      clear(
        names,
        [...d.policies, ...fresh].map((p: any) =>
          h(
            "li",
            { "data-policy": p.name, onclick: () => select(p) },
            h("strong", {}, p.name),
            waiting.has(p.name) ? [" ", h("span", { class: "badge pending" }, t("pendingBadge"))] : null,
            h("br"),
            h("small", {}, `${p.subject} v${p.version}`),
          ),
        ),
      );
    })
    .catch((e) => clear(names, errorBox(e)));
  return element;
}

const AUDIT = `query($after: String, $action: String, $principal: String) {
  auditLog(first: 50, after: $after, action: $action, principal: $principal) {
    totalCount hasNextPage endCursor entries { seq at action principal clientId purpose types fieldsMasked detail } } }`;

export function auditView(): HTMLElement {
  const action = h("input", { name: "action", placeholder: "graphql.read / policy.change …" }) as HTMLInputElement;
  const principal = h("input", { name: "principal", placeholder: "user:demo-steward" }) as HTMLInputElement;
  const form = h("form", { class: "filters" }, h("label", {}, t("action"), " ", action), h("label", {}, t("principal"), " ", principal), h("button", { type: "submit" }, t("apply")));
  const body = h("div", { id: "audit-entries" });
  const more = h("button", { id: "audit-more" }, t("more")) as HTMLButtonElement;
  const element = h("section", { class: "audit-view" }, form, body, more);
  let after: string | null = null;
  const load = async (reset: boolean) => {
    if (reset) {
      after = null;
      clear(body);
    }
    try {
      const d = await gql(AUDIT, { after, action: action.value.trim() || null, principal: principal.value.trim() || null });
      const page = d.auditLog;
      body.append(
        reset ? h("p", { class: "muted" }, `${page.totalCount}`) : "",
        table(
          page.entries.map((e: any) => ({
            seq: e.seq,
            [t("time")]: when(e.at),
            [t("action")]: e.action,
            [t("principal")]: e.principal,
            client: e.clientId,
            purpose: e.purpose,
            [t("types")]: (e.types ?? []).join(", "),
            masked: (e.fieldsMasked ?? []).join(", "),
            detail: e.detail && Object.keys(e.detail).length ? JSON.stringify(e.detail).slice(0, 160) : "",
          })),
        ),
      );
      after = page.endCursor;
      more.hidden = !page.hasNextPage;
    } catch (e) {
      body.append(errorBox(e));
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load(true);
  });
  more.addEventListener("click", () => load(false));
  load(true);
  return element;
}

