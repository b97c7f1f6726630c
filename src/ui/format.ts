import type { Scope } from "../core/permissions.js";
import { type Html, html } from "./html.js";

/**
 * A point in time as readable UTC text inside `<time>`, or `empty` when there is none; with `seconds`
 * to the second (where seconds matter, as between retries).
 */
export function time(
  value: number | string | null,
  empty = "—",
  options: { seconds?: boolean } = {},
): Html | string {
  if (value === null) return empty;
  const date = new Date(value);
  const iso = date.toISOString();
  const clock = iso.slice(11, options.seconds ? 19 : 16);
  // Date and time each stay on one line; a narrow column breaks between them, never inside a date.
  return html`<time datetime="${iso}"><span class="nowrap">${iso.slice(0, 10)}</span> <span class="nowrap">${clock} UTC</span></time>`;
}

const UNITS: ReadonlyArray<[string, number]> = [
  ["w", 604800],
  ["d", 86400],
  ["h", 3600],
  ["m", 60],
];

/**
 * Seconds as the shortest exact duration text that `parseDurationSeconds` reads back ("90d", "12h"),
 * so a settings form saved unchanged never alters a value. Null becomes "".
 */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return "";
  for (const [unit, size] of UNITS)
    if (seconds > 0 && seconds % size === 0) return `${seconds / size}${unit}`;
  return `${seconds}s`;
}

export function scopeList(scopes: readonly Scope[] | null): Html {
  if (scopes === null) return html`<span class="muted">all (owner's permissions)</span>`;
  if (scopes.length === 0) return html`<span class="muted">none</span>`;
  return html`${scopes.map((s, i) => html`${i > 0 ? ", " : ""}<code>${s}</code>`)}`;
}

/**
 * A user's path segment. Ids may be "." or "..", which browsers would resolve as path steps; encoding
 * their dots keeps them literal (the router decodes them back).
 */
export function userSegment(id: string): string {
  return /^\.+$/.test(id) ? id.replace(/\./g, "%2E") : encodeURIComponent(id);
}

export type NoticeKind = "ok" | "error" | "warning";

export function notice(kind: NoticeKind, text: string | Html): Html {
  const role = kind === "ok" ? "status" : "alert";
  return html`<p class="notice ${kind}" role="${role}">${text}</p>`;
}

/** Builds a same-site link with a query string, leaving out empty values. */
export function link(path: string, query: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text === "" ? path : `${path}?${text}`;
}
