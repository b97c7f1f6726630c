import { invalid } from "./errors.js";

/** At most this many filters per webhook. */
export const MAX_EVENT_FILTERS = 50;

/** `*`, an action (`token.revoked`, `token.used.new-ip`) or a prefix of actions (`token.*`). */
const FILTER = /^(\*|[a-z][a-z0-9-]*(\.[a-z0-9-]+)*(\.\*)?)$/;

/**
 * Whether an event with `action` passes any of `filters`: `*` takes every event, `token.*` every
 * action that starts with `token.`, anything else only that exact action.
 *
 * @example
 * matchesEventFilter(["token.*"], "token.used.new-ip") // true
 * matchesEventFilter(["token.revoked"], "token.revoked.all") // false
 */
export function matchesEventFilter(filters: readonly string[], action: string): boolean {
  for (const filter of filters) {
    if (filter === "*" || filter === action) return true;
    if (filter.endsWith(".*") && action.startsWith(filter.slice(0, -1))) return true;
  }
  return false;
}

/** Validates a webhook's list of filters (see `matchesEventFilter`); duplicates are dropped. */
export function parseEventFilters(input: unknown): string[] {
  if (!Array.isArray(input) || input.length === 0 || input.length > MAX_EVENT_FILTERS) {
    throw invalid(`events must be a list of 1 to ${MAX_EVENT_FILTERS} event names.`, { field: "events" });
  }
  const filters: string[] = [];
  for (const value of input) {
    if (typeof value !== "string" || value.length > 100 || !FILTER.test(value)) {
      throw invalid(
        `"${String(value).slice(0, 100)}" is not an event name: use an action such as "token.revoked", a prefix such as "token.*", or "*".`,
        { field: "events" },
      );
    }
    if (!filters.includes(value)) filters.push(value);
  }
  return filters;
}
