import type { AuditEvent } from "../store/store.js";
import { link, notice, time } from "./format.js";
import { type Html, html } from "./html.js";
import type { PageContext } from "./layout.js";
import { managePage } from "./pages-manage.js";

export interface AuditFilters {
  user: string;
  /** A token id. */
  token: string;
  action: string;
  /** yyyy-mm-dd (UTC), inclusive. */
  since: string;
  /** yyyy-mm-dd (UTC), inclusive. */
  until: string;
}

const KNOWN_ACTIONS = [
  "token.*",
  "token.created",
  "token.renamed",
  "token.revoked",
  "token.revoked.all",
  "token.rotated",
  "token.used.new-ip",
  "login.*",
  "login.failed",
  "login.succeeded",
  "user.*",
  "user.created",
  "user.deleted",
  "user.roles.changed",
  "user.disabled",
  "user.enabled",
  "user.password.changed",
  "settings.updated",
];

function who(userId: string | null, tokenId: string | null): Html {
  return html`${userId ?? html`<span class="muted">anonymous</span>`}${tokenId ? html`<br><span class="muted small">token <code>${tokenId.slice(0, 8)}</code></span>` : ""}`;
}

/** The audit log, newest first, with filters; each event's details as escaped JSON. */
export function auditPage(
  context: PageContext,
  options: {
    events: readonly AuditEvent[];
    filters: AuditFilters;
    /** Whether this page starts below the newest events. */
    paged: boolean;
    next: number | null;
    error: string | null;
  },
): Html {
  const { filters } = options;
  return managePage(
    "Audit log",
    context,
    "audit",
    html`<h1>Audit log</h1>
<form method="get" action="/manage/audit" class="card filters" role="search">
  <div><label for="audit-user">User</label>
  <input id="audit-user" name="user" type="text" value="${filters.user}" aria-describedby="audit-user-hint">
  <p id="audit-user-hint" class="hint">Events by or about this user id (exact).</p></div>
  <div><label for="audit-token">Token</label>
  <input id="audit-token" name="token" type="text" value="${filters.token}" aria-describedby="audit-token-hint">
  <p id="audit-token-hint" class="hint">Events by or about this token (its id, as in the token list).</p></div>
  <div><label for="audit-action">Action</label>
  <input id="audit-action" name="action" type="text" list="audit-actions" value="${filters.action}" aria-describedby="audit-action-hint">
  <datalist id="audit-actions">${KNOWN_ACTIONS.map((a) => html`<option value="${a}">`)}</datalist>
  <p id="audit-action-hint" class="hint">Exact, or a prefix such as <code>token.*</code>.</p></div>
  <div><label for="audit-since">From (UTC)</label>
  <input id="audit-since" name="since" type="date" value="${filters.since}"></div>
  <div><label for="audit-until">To (UTC, inclusive)</label>
  <input id="audit-until" name="until" type="date" value="${filters.until}"></div>
  <div class="filter-buttons"><button type="submit">Filter</button> <a class="button secondary" href="/manage/audit">Clear</a></div>
</form>
${options.error ? notice("error", options.error) : ""}
${
  options.events.length === 0
    ? html`<p class="muted">No event matches.</p>`
    : html`<div class="table-wrap"><table class="stack audit">
<caption class="visually-hidden">Audit events, newest first</caption>
<thead><tr><th scope="col" class="c-when">When</th><th scope="col" class="c-action">Action</th><th scope="col" class="c-outcome">Outcome</th><th scope="col" class="c-who">Actor</th><th scope="col" class="c-who">Target</th><th scope="col" class="c-from">From</th><th scope="col">Details</th></tr></thead>
<tbody>
${options.events.map(
  (e) => html`<tr>
<td data-label="When">${time(e.at)}</td>
<td data-label="Action"><code>${e.action}</code></td>
<td data-label="Outcome"><span class="badge${e.outcome === "success" ? "" : " danger"}">${e.outcome}</span></td>
<td data-label="Actor">${who(e.actorUserId, e.actorTokenId)}</td>
<td data-label="Target">${e.targetUserId || e.targetTokenId ? who(e.targetUserId, e.targetTokenId) : html`<span class="muted">—</span>`}</td>
<td data-label="From" class="from">${e.ip ?? ""}${e.userAgent ? html`<span class="muted small ua" title="${e.userAgent}">${e.userAgent}</span>` : ""}</td>
<td data-label="Details" class="details"><pre class="json">${JSON.stringify(e.details, null, 2)}</pre></td>
</tr>`,
)}
</tbody></table></div>`
}
<nav class="pager" aria-label="Pages">
${options.paged ? html`<a href="${link("/manage/audit", { ...filters })}">Newest events</a>` : ""}
${options.next !== null ? html`<a href="${link("/manage/audit", { ...filters, before: options.next })}">Older events</a>` : ""}
</nav>`,
  );
}
