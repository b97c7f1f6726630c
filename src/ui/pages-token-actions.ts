import type { AddressGranularity } from "../core/address-key.js";
import type { TokenView } from "../service/views.js";
import type { AuditEvent, TokenAddress } from "../store/store.js";
import { formatDuration, notice, scopeList, time } from "./format.js";
import { type Html, html } from "./html.js";
import { crumbField, layout, type PageContext } from "./layout.js";
import { managePage } from "./pages-manage.js";

/** Where a token's pages sit: the list it belongs to, and its owner. */
export interface TokenPlace {
  /** The page listing the token (back links and redirects go there). */
  listHref: string;
  /** Its title in the breadcrumb, e.g. "API tokens" or "ci-bot". */
  listLabel: string;
  /** Path of this token's own pages: `${tokenBase}/rotate`, `${tokenBase}/addresses`. */
  tokenBase: string;
  ownerId: string;
  /** "manage" for the administration pages (with their navigation), "tokens" for the owner's. */
  section: "tokens" | "manage";
}

function frame(title: string, context: PageContext, place: TokenPlace, body: Html): Html {
  return place.section === "manage"
    ? managePage(title, context, "users", body)
    : layout(title, { ...context, section: place.section }, body);
}

const GRACE_CHOICES: ReadonlyArray<[number, string]> = [
  [0, "No grace: the old value stops working at once"],
  [3600, "1 hour"],
  [86400, "1 day"],
  [7 * 86400, "7 days"],
];

/** The grace periods offered on the rotate form: the usual ones within the policy, and the policy's maximum. */
export function graceChoices(maxGraceSeconds: number): Array<[number, string]> {
  const choices = GRACE_CHOICES.filter(([seconds]) => seconds <= maxGraceSeconds);
  if (maxGraceSeconds > 0 && !choices.some(([seconds]) => seconds === maxGraceSeconds)) {
    choices.push([maxGraceSeconds, `${formatDuration(maxGraceSeconds)} (the longest the policy allows)`]);
  }
  return choices.sort((a, b) => a[0] - b[0]);
}

function breadcrumb(place: TokenPlace, token: TokenView, step: string): Html {
  return html`<p class="crumbs"><a href="${place.listHref}">${place.listLabel}</a> › <span class="token-name">${token.name}</span> › <span>${step}</span></p>`;
}

/**
 * The confirmation step of "Rotate": what will happen, and how long the old value may keep working
 * (bounded by the policy). Only the POST of this form, with its crumb, rotates.
 */
export function rotatePage(
  context: PageContext,
  options: {
    place: TokenPlace;
    token: TokenView;
    maxGraceSeconds: number;
    graceSeconds: number;
    error: string | null;
  },
): Html {
  const { place, token } = options;
  const choices = graceChoices(options.maxGraceSeconds);
  return frame(
    "Rotate token",
    context,
    place,
    html`${breadcrumb(place, token, "Rotate")}
<h1>Rotate token</h1>
${options.error ? notice("error", options.error) : ""}
<form method="post" action="${place.tokenBase}/rotate" class="card">
  ${crumbField(context)}
  <p>Rotate the token <strong class="token-name">${token.name}</strong> of <strong>${place.ownerId}</strong>?</p>
  <p>It gets a new value, shown once on the next page. Its name, scopes, allowed addresses and lifetime carry over${token.expiresAt === null ? "" : " (the lifetime counts again from now)"}. Scripts that use it need the new value.</p>
  <fieldset>
    <legend>How long may the old value keep working?</legend>
    <p class="hint">A grace period lets scripts move to the new value without an outage.${options.maxGraceSeconds === 0 ? " The token policy allows none." : ""}</p>
    ${choices.map(
      ([
        seconds,
        label,
      ]) => html`<div class="check"><input type="radio" id="grace-${seconds}" name="graceSeconds" value="${seconds}"${seconds === options.graceSeconds ? html` checked` : ""}>
    <label for="grace-${seconds}">${label}</label></div>`,
    )}
  </fieldset>
  <p class="actions-row"><button type="submit">Rotate token</button> <a class="button secondary" href="${place.listHref}">Cancel</a></p>
</form>`,
  );
}

/** The rotate form sent again (a reload of the result, a second tab): the new value stays hidden. */
export function alreadyRotatedPage(context: PageContext, options: { place: TokenPlace; name: string }): Html {
  return frame(
    "Token already rotated",
    context,
    options.place,
    html`<h1>Token already rotated</h1>
${notice("warning", html`The token <strong class="token-name">${options.name}</strong> was already rotated, and its new value was shown once. It cannot be shown again.`)}
<p>If you did not copy it, rotate or revoke the new token and use the value you get then.</p>
<p><a class="button" href="${options.place.listHref}">Back to the tokens</a></p>`,
  );
}

/** What to say after a rotation about the old value. */
export function graceNote(graceUntil: number | null): Html {
  return graceUntil === null
    ? notice("ok", "The old value no longer works.")
    : notice("ok", html`The old value keeps working until ${time(graceUntil)}, then stops.`);
}

function eventTable(events: readonly AuditEvent[]): Html {
  return html`<div class="table-wrap"><table class="stack">
<caption class="visually-hidden">Events of this token, newest first</caption>
<thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Outcome</th><th scope="col">By</th><th scope="col">From</th></tr></thead>
<tbody>
${events.map(
  (e) => html`<tr>
<td data-label="When">${time(e.at)}</td>
<td data-label="Action"><code>${e.action}</code></td>
<td data-label="Outcome"><span class="badge${e.outcome === "success" ? "" : " danger"}">${e.outcome}</span></td>
<td data-label="By">${e.actorUserId ?? html`<span class="muted">Steward</span>`}</td>
<td data-label="From">${e.ip ?? html`<span class="muted">—</span>`}</td>
</tr>`,
)}
</tbody></table></div>`;
}

/**
 * Where a token was used from (most recent first, bounded), with its allow-list; for administrators also
 * the token's recent events: who used it, from where, and when it changed.
 */
export function tokenAddressesPage(
  context: PageContext,
  options: {
    place: TokenPlace;
    token: TokenView;
    addresses: readonly TokenAddress[];
    /** How many addresses are kept per token. */
    kept: number;
    granularity: AddressGranularity;
    /** The token's recent audit events (administrators), or null. */
    events: readonly AuditEvent[] | null;
  },
): Html {
  const { place, token, addresses } = options;
  return frame(
    `Addresses of ${token.name}`,
    context,
    place,
    html`${breadcrumb(place, token, "Addresses")}
<h1>Where <span class="token-name">${token.name}</span> was used from</h1>
<dl class="facts">
  <dt>Owner</dt><dd>${place.ownerId}</dd>
  <dt>Created</dt><dd>${time(token.createdAt)}</dd>
  <dt>Last used</dt><dd>${time(token.lastUsedAt, "never")}</dd>
  <dt>Uses</dt><dd>${token.useCount}</dd>
  <dt>Scopes</dt><dd>${scopeList(token.scopes)}</dd>
  <dt>Allowed from</dt><dd>${
    token.allowedCidrs === null
      ? html`<span class="muted">anywhere</span>`
      : token.allowedCidrs.map((c, i) => html`${i > 0 ? ", " : ""}<code>${c}</code>`)
  }</dd>
</dl>
${
  addresses.length === 0
    ? html`<p class="muted">This token has not been used yet.</p>`
    : html`<div class="table-wrap"><table class="stack">
<caption class="visually-hidden">Client addresses, most recently seen first</caption>
<thead><tr><th scope="col">Address</th><th scope="col">First seen</th><th scope="col">Last seen</th><th scope="col">Uses</th></tr></thead>
<tbody>
${addresses.map(
  (a) => html`<tr>
<td data-label="Address"><code>${a.ip}</code></td>
<td data-label="First seen">${time(a.firstSeenAt)}</td>
<td data-label="Last seen">${time(a.lastSeenAt)}</td>
<td data-label="Uses">${a.useCount}</td>
</tr>`,
)}
</tbody></table></div>`
}
<p class="hint">Steward keeps the ${options.kept} addresses a token was used from most recently. A use from ${options.granularity === "subnet" ? "a network (/24 for IPv4, /64 for IPv6)" : "an address"} not seen before is recorded in the audit log as <code>token.used.new-ip</code>.</p>
${
  options.events === null
    ? ""
    : html`<h2>Recent events</h2>
${options.events.length === 0 ? html`<p class="muted">No event names this token.</p>` : eventTable(options.events)}`
}
<p><a class="button secondary" href="${place.listHref}">Back to ${place.listLabel}</a></p>`,
  );
}
