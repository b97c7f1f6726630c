import { type Html, html } from "./html.js";
import { layout, type PageContext } from "./layout.js";

export type ManageSection = "users" | "legacy" | "settings" | "webhooks" | "audit";

const ENTRIES: ReadonlyArray<[ManageSection, string, string]> = [
  ["users", "/manage/users", "Users and service accounts"],
  ["legacy", "/manage/legacy-tokens", "Legacy tokens"],
  ["settings", "/manage/settings", "Token policy"],
  ["webhooks", "/manage/webhooks", "Webhooks"],
  ["audit", "/manage/audit", "Audit log"],
];

/** A page of the administration area: its own navigation above the content. */
export function managePage(
  title: string,
  context: PageContext,
  section: ManageSection | null,
  body: Html,
): Html {
  return layout(
    title,
    { ...context, section: "manage" },
    html`<nav class="subnav" aria-label="Manage">
${ENTRIES.map(
  ([key, href, label]) =>
    html`<a href="${href}"${key === section ? html` aria-current="page"` : ""}>${label}</a>`,
)}
</nav>
${body}`,
  );
}

/** The administration overview. */
export function manageHomePage(context: PageContext, options: { users: number }): Html {
  return managePage(
    "Manage Steward",
    context,
    null,
    html`<h1>Manage Steward</h1>
<div class="grid">
  <section class="card"><h2><a href="/manage/users">Users and service accounts</a></h2><p>${options.users} ${options.users === 1 ? "account" : "accounts"}. Create users and service accounts, change roles, disable, delete, and revoke their tokens.</p></section>
  <section class="card"><h2><a href="/manage/legacy-tokens">Legacy tokens</a></h2><p>Find users still holding Jenkins' old per-user token and revoke them in bulk.</p></section>
  <section class="card"><h2><a href="/manage/settings">Token policy</a></h2><p>Lifetimes, rotation grace, legacy tokens, usage statistics, notifications, and who may create tokens for whom.</p></section>
  <section class="card"><h2><a href="/manage/webhooks">Webhooks</a></h2><p>Signed notifications of token events (expiry, new addresses, revocations) to other systems, with a delivery log.</p></section>
  <section class="card"><h2><a href="/manage/audit">Audit log</a></h2><p>Who did what to which token or user, when and from where.</p></section>
</div>`,
  );
}
