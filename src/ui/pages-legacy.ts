import type { TokenView } from "../service/views.js";
import type { UserRecord } from "../store/store.js";
import { link, time, userSegment } from "./format.js";
import { type Html, html } from "./html.js";
import { crumbField, type PageContext } from "./layout.js";
import { managePage } from "./pages-manage.js";

export interface LegacyHolder {
  user: UserRecord;
  tokens: readonly TokenView[];
}

/**
 * Jenkins' legacy-token monitor: users still holding the old per-user token, which Jenkins could show
 * again and which cannot be scoped or named. Revoke them in bulk once their scripts moved to new tokens.
 */
export function legacyTokensPage(
  context: PageContext,
  options: { holders: readonly LegacyHolder[]; after: string; next: string | null; legacyEnabled: boolean },
): Html {
  return managePage(
    "Legacy tokens",
    context,
    "legacy",
    html`<h1>Legacy tokens</h1>
<p>Legacy tokens are Jenkins' old single per-user token. They cannot be named, scoped or given an expiry; move their users to new tokens and revoke them. ${
      options.legacyEnabled
        ? html`Users may currently create legacy tokens (<a href="/manage/settings">token policy</a>).`
        : "Creating new legacy tokens is off."
    }</p>
${
  options.holders.length === 0
    ? html`<p class="notice ok" role="status">${options.after === "" && options.next === null ? "No user holds a legacy token." : "No user in this part of the list holds a legacy token."}</p>`
    : html`<p class="notice warning" role="alert">${options.holders.length} ${options.holders.length === 1 ? "user holds" : "users hold"} a legacy token${options.next !== null ? " in this part of the list" : ""}.</p>
<form method="post" action="/manage/legacy-tokens/revoke">
${crumbField(context)}
<fieldset class="card">
<legend>Select the users whose legacy tokens to revoke</legend>
<div class="table-wrap"><table class="stack">
<thead><tr><th scope="col">Revoke</th><th scope="col">User</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Uses</th></tr></thead>
<tbody>
${options.holders.map((holder) =>
  holder.tokens.map(
    (t, i) => html`<tr>
<td data-label="Revoke">${
      i === 0
        ? html`<input type="checkbox" id="legacy-${userSegment(holder.user.id)}" name="users" value="${holder.user.id}" checked>
<label for="legacy-${userSegment(holder.user.id)}" class="visually-hidden">Revoke the legacy token of ${holder.user.id}</label>`
        : ""
    }</td>
<td data-label="User"><a href="/manage/users/${userSegment(holder.user.id)}">${holder.user.id}</a> <span class="muted">${holder.user.fullName}</span></td>
<td data-label="Created">${time(t.createdAt)}</td>
<td data-label="Last used">${time(t.lastUsedAt, "never")}</td>
<td data-label="Uses">${t.useCount}</td>
</tr>`,
  ),
)}
</tbody></table></div>
<p><button type="submit" class="danger">Revoke the selected legacy tokens</button></p>
</fieldset>
</form>`
}
<nav class="pager" aria-label="Pages">
${options.after !== "" ? html`<a href="/manage/legacy-tokens">From the start</a>` : ""}
${options.next !== null ? html`<a href="${link("/manage/legacy-tokens", { after: options.next })}">Continue with the next users</a>` : ""}
</nav>`,
  );
}
