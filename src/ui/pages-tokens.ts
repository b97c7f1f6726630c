import { isAboutToExpire, isExpired } from "../core/expiry.js";
import { MAX_TOKEN_NAME_LENGTH } from "../core/names.js";
import { SCOPES } from "../core/permissions.js";
import type { Settings } from "../core/settings.js";
import type { ExpiryWarning } from "../service/expiry-warnings.js";
import type { TokenView } from "../service/views.js";
import type { UserRecord } from "../store/store.js";
import { formatDuration, notice, scopeList, time, userSegment } from "./format.js";
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
  /** CIDRs as typed: one per line or separated by commas. */
  allowedCidrs: string;
}

export const EMPTY_TOKEN_FORM: NewTokenForm = { name: "", expiresInDays: "", scopes: [], allowedCidrs: "" };

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

/** The networks a token is limited to, or nothing when it works from anywhere. */
function allowList(token: TokenView): Html | string {
  if (token.allowedCidrs === null) return "";
  return html`<br><span class="small">only from ${token.allowedCidrs.map((c, i) => html`${i > 0 ? ", " : ""}<code>${c}</code>`)}</span>`;
}

export interface TokenTableOptions {
  /** The page listing where a token was used from; the "Last used" cell of a used token links to it. */
  addressesHref?: (token: TokenView) => string;
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
  options: TokenTableOptions = {},
): Html {
  const { addressesHref } = options;
  return html`<div class="table-wrap"><table class="stack">
<caption class="visually-hidden">${caption}</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Uses</th><th scope="col">Expires</th><th scope="col">Scopes</th><th scope="col">Actions</th></tr></thead>
<tbody>
${tokens.map(
  (t) => html`<tr>
<td data-label="Name"><span class="token-name">${t.name}</span>${formatBadge(t)}${status(t, now)}</td>
<td data-label="Created">${time(t.createdAt)}</td>
<td data-label="Last used">${time(t.lastUsedAt, "never")}${addressesHref && t.lastUsedAt !== null ? html`<br><a class="small" href="${addressesHref(t)}">From where?<span class="visually-hidden"> (addresses ${t.name} was used from)</span></a>` : ""}</td>
<td data-label="Uses">${t.useCount}</td>
<td data-label="Expires">${time(t.expiresAt, "never")}</td>
<td data-label="Scopes">${scopeList(t.scopes)}${allowList(t)}</td>
<td data-label="Actions" class="actions">${actions(t)}</td>
</tr>`,
)}
</tbody></table></div>`;
}

/** Where a token may be used from: CIDRs typed one per line or separated by commas or spaces. */
export function splitCidrs(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
}

/**
 * The banner of tokens about to expire, soonest first, each with a link to rotate it. `accountOf` names
 * the service account of a token where the list mixes them, so its human owner knows which one to act on.
 */
export function expiryBanner(
  warnings: readonly ExpiryWarning[],
  rotateHref: (warning: ExpiryWarning) => string,
  options: { accountOf?: (warning: ExpiryWarning) => string | null } = {},
): Html | string {
  if (warnings.length === 0) return "";
  return html`<section class="notice warning expiry-warnings" aria-labelledby="expiry-heading">
<h2 id="expiry-heading">${warnings.length === 1 ? "A token expires soon" : `${warnings.length} tokens expire soon`}</h2>
<ul>
${warnings.map((w) => {
  const account = options.accountOf?.(w) ?? null;
  return html`<li>${account !== null ? html`<strong>${account}</strong>: ` : ""}“<span class="token-name">${w.tokenName}</span>” expires ${w.daysLeft <= 1 ? "within a day" : `in ${w.daysLeft} days`}, on ${time(w.expiresAt)}. <a href="${rotateHref(w)}">Rotate<span class="visually-hidden"> ${w.tokenName}</span></a></li>`;
})}
</ul>
<p class="small">Rotate a token to get a new value with the same name, scopes and addresses; scripts that use it then need the new value.</p>
</section>`;
}

/** The links and buttons of one of my tokens (or of a service account I manage). */
export function tokenActions(base: string, token: TokenView): Html {
  return html`<a class="button secondary" href="${base}/${token.id}/rotate">Rotate<span class="visually-hidden"> ${token.name}</span></a>
<a class="button danger" href="${base}/${token.id}/revoke">Revoke<span class="visually-hidden"> ${token.name}</span></a>`;
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
  <label for="token-cidrs">Allowed addresses (optional)</label>
  <textarea id="token-cidrs" name="allowedCidrs" rows="3" spellcheck="false" autocapitalize="off" aria-describedby="token-cidrs-hint">${form.allowedCidrs}</textarea>
  <p id="token-cidrs-hint" class="hint">Networks the token may be used from, in CIDR notation, one per line or separated by commas, e.g. <code>10.0.0.0/8</code>, <code>2001:db8::/32</code> or a single address. Empty: from anywhere.</p>
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

/** A service account the signed-in user owns, with how many live tokens it has. */
export interface ManagedAccount {
  account: UserRecord;
  tokens: number;
}

export interface TokensPageOptions {
  tokens: readonly TokenView[];
  now: number;
  settings: Settings;
  nonce: string;
  form: NewTokenForm;
  /** My tokens, and those of the service accounts I manage, close to their expiry. */
  warnings: readonly ExpiryWarning[];
  /** Service accounts whose owner I am. */
  managed: readonly ManagedAccount[];
  /** An error of the last form, shown above the forms. */
  error: string | null;
  /** Which form the error belongs to: the add form opens again with its values. */
  errorIn: "add" | "rename" | null;
}

/** The path of a service account's page for its owner. */
export function serviceAccountHref(id: string): string {
  return `/account/service-accounts/${userSegment(id)}`;
}

function managedAccounts(managed: readonly ManagedAccount[]): Html {
  return html`<h2 id="service-accounts">Service accounts I manage</h2>
<p>These accounts cannot sign in; they own tokens for jobs and tools. As their owner you list, generate, rotate and revoke their tokens.</p>
<div class="table-wrap"><table class="stack">
<caption class="visually-hidden">Service accounts I manage</caption>
<thead><tr><th scope="col">Account</th><th scope="col">Full name</th><th scope="col">Live tokens</th><th scope="col">Status</th></tr></thead>
<tbody>
${managed.map(
  (m) => html`<tr>
<td data-label="Account"><a href="${serviceAccountHref(m.account.id)}">${m.account.id}</a></td>
<td data-label="Full name">${m.account.fullName}</td>
<td data-label="Live tokens">${m.tokens}</td>
<td data-label="Status">${m.account.disabled ? html`<span class="badge danger">disabled</span>` : "active"}</td>
</tr>`,
)}
</tbody></table></div>`;
}

/** "My account → Configure → API Token", as in Jenkins. Never shows a token's value. */
export function tokensPage(context: PageContext, options: TokensPageOptions): Html {
  const me = context.principal.userId;
  const mine = (w: ExpiryWarning) => w.userId.toLowerCase() === me.toLowerCase();
  return layout(
    "API tokens",
    { ...context, section: "tokens" },
    html`<p class="crumbs"><span>My account</span> › <span>Configure</span> › <span>API Token</span></p>
<h1>API tokens</h1>
<p>Scripts and tools use a token instead of your password: send your user id <code>${me}</code> and the token with HTTP Basic authentication, e.g. <code>curl -u ${me}:TOKEN …/whoAmI/api/json</code>. Each token can be revoked on its own.</p>
${options.error ? notice("error", options.error) : ""}
${expiryBanner(
  options.warnings,
  (w) =>
    mine(w)
      ? `/account/tokens/${w.tokenId}/rotate`
      : `${serviceAccountHref(w.userId)}/tokens/${w.tokenId}/rotate`,
  { accountOf: (w) => (mine(w) ? null : w.userId) },
)}
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
${tokenActions("/account/tokens", t)}`,
        { addressesHref: (t) => `/account/tokens/${t.id}/addresses` },
      )
}
${newTokenForm(context, {
  action: "/account/tokens",
  nonce: options.nonce,
  settings: options.settings,
  form: options.form,
  open: options.errorIn === "add",
})}
${options.managed.length > 0 ? managedAccounts(options.managed) : ""}`,
  );
}

/**
 * The answer to "Generate" (and to "Rotate"): the only time the value is ever shown. It is rendered in
 * the POST response itself (sent with Cache-Control: no-store), so no later GET, reload of the list or
 * back-button visit can show it again.
 */
export function tokenCreatedPage(
  context: PageContext,
  options: {
    ownerId: string;
    name: string;
    value: string;
    expiresAt: string | null;
    backHref: string;
    /** "Token rotated" for a rotation; "Token generated" by default. */
    title?: string;
    /** What else the owner should know, e.g. until when the old value works. */
    note?: Html | null;
  },
): Html {
  const title = options.title ?? "Token generated";
  return layout(
    title,
    { ...context, section: "tokens" },
    html`<h1>${title}</h1>
<div class="notice warning" role="alert"><strong>Copy this token now: it will not be shown again.</strong> Steward keeps only a hash of it. If you lose it, revoke it and generate a new one.</div>
<section class="card" aria-labelledby="new-token-label">
  <p id="new-token-label"><strong>${options.name}</strong> <span class="muted">for ${options.ownerId}, expires ${time(options.expiresAt, "never")}</span></p>
  <p><code id="token-value" class="token-value">${options.value}</code></p>
  <p><button type="button" data-copy="token-value" hidden>Copy to clipboard</button> <span class="copy-status" role="status" aria-live="polite"></span></p>
</section>
${options.note ?? ""}
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
