import { StewardError } from "../core/errors.js";
import { parseIsoDate } from "../core/expiry.js";
import type { TokenRecord } from "../store/store.js";

/**
 * Cursors are opaque to clients: base64url of a small JSON array naming where the previous page ended.
 * They carry positions, never anything secret, and a malformed one is a 400, not a crash.
 */
export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

const INVALID_CURSOR = () => new StewardError("bad_request", "The cursor is not valid: pass back `next`.");

export function decodeCursor<T extends readonly ("string" | "number")[]>(
  cursor: string,
  shape: T,
): { [K in keyof T]: T[K] extends "number" ? number : string } {
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw INVALID_CURSOR();
  }
  if (!Array.isArray(position) || position.length !== shape.length) throw INVALID_CURSOR();
  shape.forEach((type, i) => {
    const value: unknown = position[i];
    const ok = type === "number" ? Number.isSafeInteger(value) : typeof value === "string";
    if (!ok) throw INVALID_CURSOR();
  });
  return position as { [K in keyof T]: T[K] extends "number" ? number : string };
}

/** One page of a user's tokens, oldest first, positioned by (createdAt, id). */
export function pageOfTokens(
  tokens: readonly TokenRecord[],
  cursor: string | undefined,
  limit: number,
): { items: TokenRecord[]; next: string | null } {
  const sorted = [...tokens].sort(
    (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  let start = 0;
  if (cursor !== undefined) {
    const [createdAt, id] = decodeCursor(cursor, ["number", "string"] as const);
    start = sorted.findIndex((t) => t.createdAt > createdAt || (t.createdAt === createdAt && t.id > id));
    if (start < 0) start = sorted.length;
  }
  const items = sorted.slice(start, start + limit);
  const last = items.at(-1);
  const more = start + limit < sorted.length;
  return { items, next: more && last ? encodeCursor([last.createdAt, last.id]) : null };
}

/** An ISO 8601 query parameter as ms, or a 400 naming it. */
export function isoParam(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseIsoDate(value);
  if (ms === null) {
    throw new StewardError("validation_failed", `${name} must be an ISO 8601 date or date-time.`, {
      field: name,
    });
  }
  return ms;
}
