import { invalid } from "./errors.js";
import type { Settings } from "./settings.js";

const DAY = 24 * 3600 * 1000;

export interface ExpiryRequest {
  expiresInSeconds?: number | null;
  expiresAt?: number | null;
}

/**
 * The expiry (ms) of a new token under the policy: the requested one, or the default lifetime; refused
 * when in the past or beyond the maximum lifetime. Null means it never expires.
 */
/** The latest expiry a token can have (the end of year 9999, as far as ISO 8601 dates and JavaScript go). */
export const LATEST_EXPIRY = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A lifetime as people say it: "90 days", "12 hours", "45 seconds". */
export function describeLifetime(seconds: number): string {
  const [amount, unit] =
    seconds % 86_400 === 0
      ? [seconds / 86_400, "day"]
      : seconds % 3600 === 0
        ? [seconds / 3600, "hour"]
        : [seconds, "second"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}

export function resolveExpiry(request: ExpiryRequest, settings: Settings, now: number): number | null {
  let expiresAt: number | null = null;
  if (request.expiresInSeconds != null) {
    if (!Number.isSafeInteger(request.expiresInSeconds) || request.expiresInSeconds <= 0) {
      throw invalid("expiresIn must be a positive whole number of seconds.", { field: "expiresIn" });
    }
    expiresAt = now + request.expiresInSeconds * 1000;
  } else if (request.expiresAt != null) {
    expiresAt = request.expiresAt;
    if (expiresAt <= now) throw invalid("Expiration date is in the past.", { field: "expiresAt" });
  } else if (settings.defaultTokenLifetimeSeconds !== null) {
    expiresAt = now + settings.defaultTokenLifetimeSeconds * 1000;
  }
  if (expiresAt !== null && !(expiresAt <= LATEST_EXPIRY)) {
    throw invalid(
      "A token can expire at the latest at the end of year 9999; leave the expiry out for never.",
      {
        field: request.expiresInSeconds != null ? "expiresIn" : "expiresAt",
      },
    );
  }
  const max = settings.maxTokenLifetimeSeconds;
  if (max !== null) {
    const limit = now + max * 1000;
    if (expiresAt === null || expiresAt > limit) {
      throw invalid(`Tokens may live at most ${describeLifetime(max)} under the current policy.`, {
        field: "expiresAt",
      });
    }
  }
  return expiresAt;
}

/** Jenkins' `tokenExpiration=yyyy-MM-dd`: the token works all of that day (UTC) and stops after it. */
export function endOfDayUtc(date: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return null;
  const start = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  const check = new Date(start);
  if (check.getUTCDate() !== Number(match[3]) || check.getUTCMonth() !== Number(match[2]) - 1) return null;
  return start + DAY;
}

export function isExpired(expiresAt: number | null, now: number): boolean {
  return expiresAt !== null && now >= expiresAt;
}

/** Jenkins' "about to expire": within 7 days. */
export function isAboutToExpire(expiresAt: number | null, now: number): boolean {
  return expiresAt !== null && expiresAt - now < 7 * DAY;
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Parses an ISO 8601 date-time (or date) into ms, or null. The calendar is checked (2027-02-30 is
 * refused, never rolled over to March), and a time without a zone is UTC, never the server's zone.
 */
export function parseIsoDate(text: string): number | null {
  const match = ISO_DATE_TIME.exec(text);
  if (!match) return null;
  const [, year, month, day, hour = "00", minute = "00", second = "00", fraction = "", zone = "Z"] = match;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return null;
  const date = Date.UTC(Number(year), Number(month) - 1, Number(day));
  const check = new Date(date);
  if (check.getUTCFullYear() !== Number(year) || check.getUTCMonth() !== Number(month) - 1) return null;
  if (check.getUTCDate() !== Number(day)) return null;
  const ms = Date.parse(
    `${year}-${month}-${day}T${hour}:${minute}:${second}.${fraction.padEnd(3, "0").slice(0, 3)}${zone.toUpperCase()}`,
  );
  return Number.isNaN(ms) ? null : ms;
}
