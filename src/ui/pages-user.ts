import type { Settings } from "../core/settings.js";
import type { TokenView } from "../service/views.js";
import type { UserRecord } from "../store/store.js";
import { notice, time, userSegment } from "./format.js";
import { type Html, html } from "./html.js";
import { crumbField, type PageContext } from "./layout.js";
import { managePage } from "./pages-manage.js";
import { type NewTokenForm, newTokenForm, tokenTable } from "./pages-tokens.js";

export interface UserPageOptions {
  user: UserRecord;
  tokens: readonly TokenView[];
  now: number;
  /** Whether the signed-in admin may generate tokens for this account (policy or ownership). */
  canGenerate: boolean;
  settings: Settings;
  nonce: string;
  form: NewTokenForm;
  error: string | null;
  errorIn: "add" | "other" | null;
}

/** One user or service account: its details, roles, status, password and tokens. */
export function userPage(context: PageContext, options: UserPageOptions): Html {
  const { user } = options;
  const base = `/manage/users/${userSegment(user.id)}`;
  const self = user.id.toLowerCase() === context.principal.userId.toLowerCase();
  const isAdmin = user.roles.includes("admin");
  return managePage(
    `User ${user.id}`,
    context,
    "users",
    html`<p class="crumbs"><a href="/manage/users">Users</a> › <span>${user.id}</span></p>
<h1>${user.fullName} <span class="muted">(${user.id})</span></h1>
${options.error ? notice("error", options.error) : ""}
<dl class="facts">
  <dt>Kind</dt><dd>${user.kind === "service" ? "Service account" : "User"}</dd>
  ${user.kind === "service" ? html`<dt>Owner</dt><dd>${user.ownerId ?? html`<span class="muted">none</span>`}</dd>` : ""}
  <dt>Email</dt><dd>${user.email ?? html`<span class="muted">—</span>`}</dd>
  <dt>Roles</dt><dd>${user.roles.join(", ")}</dd>
  <dt>Status</dt><dd>${user.disabled ? html`<span class="badge danger">disabled</span>` : "active"}</dd>
  <dt>Created</dt><dd>${time(user.createdAt)}</dd>
  ${user.kind === "user" ? html`<dt>Password</dt><dd>${user.passwordHash ? "set" : "none"}${user.mustChangePassword ? " (must be changed at next sign-in)" : ""}</dd>` : ""}
</dl>

<h2 id="tokens">Tokens</h2>
${
  options.tokens.length === 0
    ? html`<p class="muted">No live tokens.</p>`
    : html`${tokenTable(
        options.tokens,
        options.now,
        `Tokens of ${user.id}`,
        (t) =>
          html`<a class="button danger" href="${base}/tokens/${t.id}/revoke">Revoke<span class="visually-hidden"> ${t.name}</span></a>`,
        { addressesHref: (t) => `${base}/tokens/${t.id}/addresses` },
      )}
<p><a class="button danger" href="${base}/tokens/revoke-all">Revoke all tokens of ${user.id}</a></p>`
}
${
  options.canGenerate
    ? newTokenForm(context, {
        action: `${base}/tokens`,
        nonce: options.nonce,
        settings: options.settings,
        form: options.form,
        open: options.errorIn === "add",
      })
    : ""
}

<h2>Roles</h2>
<form method="post" action="${base}/roles" class="card">
  ${crumbField(context)}
  <div class="check"><input id="role-admin" name="admin" type="checkbox" value="on"${isAdmin ? html` checked` : ""}>
  <label for="role-admin">Administrator</label></div>
  <p class="hint">Every account has the role <code>user</code> (read, manage own tokens).</p>
  <p><button type="submit" class="secondary">Save roles</button></p>
</form>

<h2>Status</h2>
<form method="post" action="${base}/${user.disabled ? "enable" : "disable"}" class="card">
  ${crumbField(context)}
  <p>${
    user.disabled
      ? "This account is disabled: it cannot sign in and its tokens are refused."
      : "Disabling stops sign-in and every token of this account at once, without deleting anything."
  }</p>
  <p><button type="submit" class="${user.disabled ? "secondary" : "danger"}">${user.disabled ? "Enable" : "Disable"} ${user.id}</button></p>
</form>

${
  user.kind === "user"
    ? html`<h2>Set password</h2>
<form method="post" action="${base}/password" class="card">
  ${crumbField(context)}
  <input type="text" name="username" value="${user.id}" autocomplete="off" hidden>
  <label for="set-password">New password</label>
  <input id="set-password" name="password" type="password" minlength="8" maxlength="1024" required autocomplete="new-password">
  <label for="set-confirm">New password again</label>
  <input id="set-confirm" name="confirm" type="password" minlength="8" maxlength="1024" required autocomplete="new-password">
  <p><button type="submit" class="secondary">Set password</button></p>
</form>`
    : ""
}

<h2>Delete</h2>
<div class="card">
${
  self
    ? html`<p class="muted">You cannot delete your own account while signed in with it.</p>`
    : html`<p>Deleting removes the account, all of its tokens and sessions at once.</p>
<p><a class="button danger" href="${base}/delete">Delete ${user.id}…</a></p>`
}
</div>`,
  );
}
