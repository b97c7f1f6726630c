import { isAboutToExpire, isExpired } from "../core/expiry.js";
import { MAX_TOKEN_NAME_LENGTH } from "../core/names.js";
import { SCOPES } from "../core/permissions.js";
import type { Settings } from "../core/settings.js";
import type { TokenView } from "../service/views.js";
import { formatDuration, notice, scopeList, time } from "./format.js";
import { type Html, html } from "./html.js";
import { crumbField, layout, type PageContext } from "./layout.js";

const SCOPE_HELP: Record<(typeof SCOPES)[number], string> = {
  "tokens:read": "list tokens",
  "tokens:write": "create, rename and revoke tokens",
  "users:read": "read users (admins)",
  "users:write": "manage users (admins)",
  "audit:read": "read the audit log (admins)",
  "settings:write": "change the token policy (admins)",
  "jenkins:api": "the Jenkins-compatible API",
};

/** What the "Add new Token" form was last submitted with, to show it again beside an error. */
export interface NewTokenForm {
  name: string;
  expiresInDays: string;
  scopes: readonly string[];
}

export const EMPTY_TOKEN_FORM: NewTokenForm = { name: "", expiresInDays: "", scopes: [] };

function status(token: TokenView, now: number): Html | string {
  const expiresAt = token.expiresAt === null ? null : Date.parse(token.expiresAt);
  if (isExpired(expiresAt, now)) return html` <span class="badge danger">expired</span>`;
  if (expiresAt !== null && isAboutToExpire(expiresAt, now))
    return html` <span class="badge warning">expires soon</span>`;
  return "";
}

function formatBadge(token: TokenView): Html | string {
  if (token.format === "legacy") return html` <span class="badge warning">legacy</span>`;
  if (token.format === "jenkins") return html` <span class="badge">Jenkins format</span>`;
  return "";
}

/**
 * A table of tokens; `actions` renders the last cell of each row. On narrow screens the rows become
 * cards (see steward.css), each cell labelled by its `data-label`.
 */
export function tokenTable(
  tokens: readonly TokenView[],
  now: number,
  caption: string,
  actions: (token: TokenView) => Html,
): Html {
  return html`<div class="table-wrap"><table class="stack">
<caption class="visually-hidden">${caption}</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Uses</th><th scope="col">Expires</th><th scope="col">Scopes</th><th scope="col">Actions</th></tr></thead>
<tbody>
${tokens.map(
  (t) => html`<tr>
<td data-label="Name"><span class="token-name">${t.name}</span>${formatBadge(t)}${status(t, now)}</td>
<td data-label="Created">${time(t.createdAt)}</td>
<td data-label="Last used">${time(t.lastUsedAt, "never")}</td>
<td data-label="Uses">${t.useCount}</td>
<td data-label="Expires">${time(t.expiresAt, "never")}</td>
<td data-label="Scopes">${scopeList(t.scopes)}</td>
<td data-label="Actions" class="actions">${actions(t)}</td>
</tr>`,
)}
</tbody></table></div>`;
}

function policyHint(settings: Settings): string {
  const fallback =
    settings.defaultTokenLifetimeSeconds === null
      ? "Leave empty for a token that never expires."
      : `Leave empty for the default lifetime (${formatDuration(settings.defaultTokenLifetimeSeconds)}).`;
  const max =
    settings.maxTokenLifetimeSeconds === null
      ? ""
      : ` Tokens may live at most ${formatDuration(settings.maxTokenLifetimeSeconds)}.`;
  return fallback + max;
}

/** The "Add new Token" form: a name, then optionally a lifetime and scopes. Works without JavaScript. */
export function newTokenForm(
  context: PageContext,
  options: { action: string; nonce: string; settings: Settings; form: NewTokenForm; open: boolean },
): Html {
  const { form } = options;
  return html`<details class="add-token"${options.open ? html` open` : ""}>
<summary class="button">Add new Token</summary>
<form method="post" action="${options.action}" class="card">
  ${crumbField(context)}
  <input type="hidden" name="nonce" value="${options.nonce}">
  <label for="token-name">Token name</label>
  <input id="token-name" name="name" type="text" maxlength="${MAX_TOKEN_NAME_LENGTH}" value="${form.name}" aria-describedby="token-name-hint">
  <p id="token-name-hint" class="hint">Say what will use it, e.g. "deploy job". Leave empty for a dated default name.</p>
  <label for="token-days">Expires in (days, optional)</label>
  <input id="token-days" name="expiresInDays" type="number" min="1" max="3660" step="1" inputmode="numeric" value="${form.expiresInDays}" aria-describedby="token-days-hint">
  <p id="token-days-hint" class="hint">${policyHint(options.settings)}</p>
  <fieldset>
    <legend>Scopes (optional)</legend>
    <p class="hint">With none ticked the token acts with all of the owner's permissions, as in Jenkins.</p>
    ${SCOPES.map(
      (
        scope,
      ) => html`<div class="check"><input type="checkbox" id="scope-${scope.replace(":", "-")}" name="scopes" value="${scope}"${form.scopes.includes(scope) ? html` checked` : ""}>
    <label for="scope-${scope.replace(":", "-")}"><code>${scope}</code> <span class="muted">${SCOPE_HELP[scope]}</span></label></div>`,
    )}
  </fieldset>
  <p><button type="submit">Generate</button></p>
</form>
</details>`;
}

export interface TokensPageOptions {
  tokens: readonly TokenView[];
  now: number;
  settings: Settings;
  nonce: string;
  form: NewTokenForm;
  /** An error of the last form, shown above the forms. */
  error: string | null;
  /** Which form the error belongs to: the add form opens again with its values. */
  errorIn: "add" | "rename" | null;
}

/** "My account → Configure → API Token", as in Jenkins. Never shows a token's value. */
export function tokensPage(context: PageContext, options: TokensPageOptions): Html {
  const me = context.principal.userId;
  return layout(
    "API tokens",
    { ...context, section: "tokens" },
    html`<p class="crumbs"><span>My account</span> › <span>Configure</span> › <span>API Token</span></p>
<h1>API tokens</h1>
<p>Scripts and tools use a token instead of your password: send your user id <code>${me}</code> and the token with HTTP Basic authentication, e.g. <code>curl -u ${me}:TOKEN …/whoAmI/api/json</code>. Each token can be revoked on its own.</p>
${options.error ? notice("error", options.error) : ""}
<h2 id="current">Current tokens</h2>
${
  options.tokens.length === 0
    ? html`<p class="muted">You have no API tokens yet.</p>`
    : tokenTable(
        options.tokens,
        options.now,
        "Your API tokens",
        (t) => html`<form method="post" action="/account/tokens/${t.id}/rename" class="rename">
  ${crumbField(context)}
  <label for="rename-${t.id}" class="visually-hidden">New name for ${t.name}</label>
  <input id="rename-${t.id}" name="newName" type="text" maxlength="${MAX_TOKEN_NAME_LENGTH}" value="${t.name}" required>
  <button type="submit" class="secondary">Rename</button>
</form>
<a class="button danger" href="/account/tokens/${t.id}/revoke">Revoke<span class="visually-hidden"> ${t.name}</span></a>`,
      )
}
${newTokenForm(context, {
  action: "/account/tokens",
  nonce: options.nonce,
  settings: options.settings,
  form: options.form,
  open: options.errorIn === "add",
})}`,
  );
}

/**
 * The answer to "Generate": the only time the value is ever shown. It is rendered in the POST response
 * itself (sent with Cache-Control: no-store), so no later GET, reload of the list or back-button visit
 * can show it again.
 */
export function tokenCreatedPage(
  context: PageContext,
  options: { ownerId: string; name: string; value: string; expiresAt: string | null; backHref: string },
): Html {
  return layout(
    "Token generated",
    { ...context, section: "tokens" },
    html`<h1>Token generated</h1>
<div class="notice warning" role="alert"><strong>Copy this token now: it will not be shown again.</strong> Steward keeps only a hash of it. If you lose it, revoke it and generate a new one.</div>
<section class="card" aria-labelledby="new-token-label">
  <p id="new-token-label"><strong>${options.name}</strong> <span class="muted">for ${options.ownerId}, expires ${time(options.expiresAt, "never")}</span></p>
  <p><code id="token-value" class="token-value">${options.value}</code></p>
  <p><button type="button" data-copy="token-value" hidden>Copy to clipboard</button> <span class="copy-status" role="status" aria-live="polite"></span></p>
</section>
<p><a class="button secondary" href="${options.backHref}">Done</a></p>`,
  );
}

/** A second submission of the same "Add new Token" form (reload, double click): the value stays hidden. */
export function tokenAlreadyCreatedPage(
  context: PageContext,
  options: { name: string; backHref: string },
): Html {
  return layout(
    "Token already generated",
    { ...context, section: "tokens" },
    html`<h1>Token already generated</h1>
${notice("warning", html`This form was already submitted: the token <strong>${options.name}</strong> was generated, and its value was shown once. It cannot be shown again.`)}
<p>If you did not copy it, revoke it and generate a new one.</p>
<p><a class="button" href="${options.backHref}">Back to the tokens</a></p>`,
  );
}
