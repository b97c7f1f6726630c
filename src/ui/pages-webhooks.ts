import type { DeliveryRecord, WebhookRecord } from "../store/store.js";
import { link, notice, time } from "./format.js";
import { type Html, html } from "./html.js";
import { crumbField, type PageContext } from "./layout.js";
import { managePage } from "./pages-manage.js";

/** The event filters most receivers want, offered as boxes to tick; others can be typed. */
export const COMMON_EVENTS: ReadonlyArray<[string, string]> = [
  ["token.expiring", "a token will expire soon (at each warning threshold)"],
  ["token.expired", "a token has expired"],
  ["token.used.new-ip", "a token was used from a new address"],
  ["token.revoked", "a token was revoked"],
  ["token.leak-reported", "a leaked token was reported and revoked"],
  ["login.failed", "a sign-in failed"],
  ["token.*", "every token event"],
  ["*", "every event"],
];

/** The "Add webhook" form as submitted, to show it again beside an error. */
export interface WebhookForm {
  url: string;
  /** The common events ticked. */
  events: readonly string[];
  /** Further filters as typed, separated by commas or spaces. */
  moreEvents: string;
}

export const EMPTY_WEBHOOK_FORM: WebhookForm = { url: "", events: [], moreEvents: "" };

/** The path of a webhook's page. */
export function webhookHref(id: string): string {
  return `/manage/webhooks/${encodeURIComponent(id)}`;
}

function eventList(events: readonly string[]): Html {
  return html`${events.map((e, i) => html`${i > 0 ? ", " : ""}<code>${e}</code>`)}`;
}

function eventId(filter: string): string {
  return `event-${filter.replace(/\*/g, "all").replace(/[^a-z0-9-]/g, "-")}`;
}

/** Webhooks: the list, and a form to add one. Secrets are never listed. */
export function webhooksPage(
  context: PageContext,
  options: { webhooks: readonly WebhookRecord[]; form: WebhookForm; nonce: string; error: string | null },
): Html {
  const { form } = options;
  return managePage(
    "Webhooks",
    context,
    "webhooks",
    html`<h1>Webhooks</h1>
<p>Steward sends each audit event that passes a webhook's filters to its URL as a JSON <code>POST</code>, in the background, retrying with growing pauses until the receiver answers with a 2xx status. Each request is signed: the <code>Steward-Signature</code> header holds <code>t=</code><var>unix seconds</var><code>,v1=</code><var>hex HMAC-SHA256 of "t.body" with the webhook's secret</var>.</p>
${options.error ? notice("error", options.error) : ""}
${
  options.webhooks.length === 0
    ? html`<p class="muted">No webhooks yet.</p>`
    : html`<div class="table-wrap"><table class="stack">
<caption class="visually-hidden">Webhooks</caption>
<thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead>
<tbody>
${options.webhooks.map(
  (w) => html`<tr>
<td data-label="URL" class="url"><a href="${webhookHref(w.id)}">${w.url}</a></td>
<td data-label="Events">${eventList(w.events)}</td>
<td data-label="Created">${time(w.createdAt)}${w.createdBy ? html`<br><span class="muted small">by ${w.createdBy}</span>` : ""}</td>
<td data-label="Actions" class="actions"><a class="button secondary" href="${webhookHref(w.id)}">Deliveries<span class="visually-hidden"> to ${w.url}</span></a>
<a class="button danger" href="${webhookHref(w.id)}/delete">Delete<span class="visually-hidden"> ${w.url}</span></a></td>
</tr>`,
)}
</tbody></table></div>`
}
<details class="add-token"${options.error ? html` open` : ""}>
<summary class="button">Add webhook</summary>
<form method="post" action="/manage/webhooks" class="card">
  ${crumbField(context)}
  <input type="hidden" name="nonce" value="${options.nonce}">
  <label for="webhook-url">Payload URL</label>
  <input id="webhook-url" name="url" type="url" required maxlength="2000" value="${form.url}" autocomplete="off" aria-describedby="webhook-url-hint">
  <p id="webhook-url-hint" class="hint">An <code>https://</code> (or <code>http://</code>) URL, without a user name or password: receivers check the signature instead.</p>
  <fieldset>
    <legend>Events to send</legend>
    ${COMMON_EVENTS.map(
      ([
        filter,
        help,
      ]) => html`<div class="check"><input type="checkbox" id="${eventId(filter)}" name="events" value="${filter}"${form.events.includes(filter) ? html` checked` : ""}>
    <label for="${eventId(filter)}"><code>${filter}</code> <span class="muted">${help}</span></label></div>`,
    )}
    <label for="webhook-more">Other events (optional)</label>
    <input id="webhook-more" name="moreEvents" type="text" value="${form.moreEvents}" autocomplete="off" aria-describedby="webhook-more-hint">
    <p id="webhook-more-hint" class="hint">Actions from the audit log such as <code>user.deleted</code>, or prefixes such as <code>user.*</code>, separated by commas.</p>
  </fieldset>
  <p><button type="submit">Add webhook</button></p>
</form>
</details>`,
  );
}

/**
 * The answer to "Add webhook": the only time its signing secret is shown, in the POST response itself
 * (no-store), never on a GET.
 */
export function webhookCreatedPage(
  context: PageContext,
  options: { webhook: WebhookRecord; secret: string },
): Html {
  const { webhook } = options;
  return managePage(
    "Webhook added",
    context,
    "webhooks",
    html`<h1>Webhook added</h1>
<div class="notice warning" role="alert"><strong>Copy the signing secret now: it will not be shown again.</strong> The receiver needs it to check the <code>Steward-Signature</code> header. If you lose it, delete the webhook and add it again.</div>
<section class="card" aria-labelledby="new-webhook-label">
  <p id="new-webhook-label"><strong class="url">${webhook.url}</strong> <span class="muted">for ${eventList(webhook.events)}</span></p>
  <p><code id="token-value" class="token-value">${options.secret}</code></p>
  <p><button type="button" data-copy="token-value" data-copied="The secret is on the clipboard." hidden>Copy to clipboard</button> <span class="copy-status" role="status" aria-live="polite"></span></p>
</section>
<p class="actions-row"><a class="button" href="${webhookHref(webhook.id)}">Send a test delivery…</a> <a class="button secondary" href="/manage/webhooks">Done</a></p>`,
  );
}

/** A second submission of the same "Add webhook" form: the secret stays hidden. */
export function webhookAlreadyCreatedPage(context: PageContext, options: { url: string }): Html {
  return managePage(
    "Webhook already added",
    context,
    "webhooks",
    html`<h1>Webhook already added</h1>
${notice("warning", html`This form was already submitted: the webhook for <strong class="url">${options.url}</strong> was added, and its secret was shown once. It cannot be shown again.`)}
<p>If you did not copy it, delete the webhook and add it again.</p>
<p><a class="button" href="/manage/webhooks">Back to the webhooks</a></p>`,
  );
}

const STATUS_BADGE: Record<DeliveryRecord["status"], string> = {
  pending: "badge warning",
  delivered: "badge",
  failed: "badge danger",
};

function lastAnswer(delivery: DeliveryRecord): Html {
  if (delivery.lastAttemptAt === null) return html`<span class="muted">not tried yet</span>`;
  return html`${delivery.lastStatus !== null ? html`HTTP ${delivery.lastStatus}` : ""}${
    delivery.lastError && delivery.lastError !== `HTTP ${delivery.lastStatus}`
      ? html`${delivery.lastStatus !== null ? html`<br>` : ""}<span class="muted">${delivery.lastError}</span>`
      : ""
  }<br><span class="muted small">${time(delivery.lastAttemptAt, "—", { seconds: true })}</span>`;
}

/** One webhook: what it sends where, a test button, and its delivery log (newest first, paged). */
export function webhookPage(
  context: PageContext,
  options: {
    webhook: WebhookRecord;
    deliveries: readonly DeliveryRecord[];
    /** Whether this page starts below the newest deliveries. */
    paged: boolean;
    next: number | null;
  },
): Html {
  const { webhook } = options;
  const href = webhookHref(webhook.id);
  return managePage(
    "Webhook",
    context,
    "webhooks",
    html`<p class="crumbs"><a href="/manage/webhooks">Webhooks</a> › <span class="url">${webhook.url}</span></p>
<h1>Webhook</h1>
<dl class="facts">
  <dt>URL</dt><dd class="url">${webhook.url}</dd>
  <dt>Events</dt><dd>${eventList(webhook.events)}</dd>
  <dt>Created</dt><dd>${time(webhook.createdAt)}${webhook.createdBy ? html` by ${webhook.createdBy}` : ""}</dd>
</dl>
<div class="actions-row">
<form method="post" action="${href}/test" class="inline">
  ${crumbField(context)}
  <button type="submit">Send test delivery</button>
</form>
<a class="button danger" href="${href}/delete">Delete webhook…</a>
</div>
<p class="hint">A test sends a signed <code>webhook.tested</code> event to this webhook only. Deliveries are sent in the background: reload this page to see their outcome.</p>
<h2>Deliveries</h2>
${
  options.deliveries.length === 0
    ? html`<p class="muted">${options.paged ? "No older deliveries." : "Nothing was sent to this webhook yet."}</p>`
    : html`<div class="table-wrap"><table class="stack">
<caption class="visually-hidden">Deliveries, newest first</caption>
<thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Next attempt</th><th scope="col">Queued</th></tr></thead>
<tbody>
${options.deliveries.map(
  (d) => html`<tr>
<td data-label="Event"><code>${d.action}</code><br><span class="muted small">#${d.id}, event ${d.eventId}</span></td>
<td data-label="Status"><span class="${STATUS_BADGE[d.status]}">${d.status}</span></td>
<td data-label="Attempts">${d.attempts}</td>
<td data-label="Last answer">${lastAnswer(d)}</td>
<td data-label="Next attempt">${d.status === "pending" ? time(d.nextAttemptAt, "—", { seconds: true }) : html`<span class="muted">—</span>`}</td>
<td data-label="Queued">${time(d.createdAt, "—", { seconds: true })}</td>
</tr>`,
)}
</tbody></table></div>`
}
<nav class="pager" aria-label="Pages">
${options.paged ? html`<a href="${href}">Newest deliveries</a>` : ""}
${options.next !== null ? html`<a href="${link(href, { before: options.next })}">Older deliveries</a>` : ""}
</nav>`,
  );
}
