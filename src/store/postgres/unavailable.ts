/**
 * Whether an error means "the database cannot be reached right now" — refused, dropped, timed out,
 * shutting down, starting up, overloaded — as opposed to a bug or a bad request. Requests that fail this
 * way are answered 503 (try again), never 500, and nothing needs restarting once the database is back.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return someCause(error, (e) => {
    if (
      typeof e.code === "string" &&
      (NETWORK_CODES.has(e.code) || isUnavailableSqlState(e.code) || isUnavailableSqliteCode(e.code))
    )
      return true;
    return typeof e.message === "string" && MESSAGES.some((pattern) => pattern.test(e.message as string));
  });
}

/** Socket and DNS failures, as Node reports them (also on an AggregateError for several addresses). */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * SQLSTATEs: class 08 (connection exception), 53300 too many connections, 57P01–57P05 (server shutting
 * down, crashed, starting up, idle-session timeout) and 57014 (statement cancelled: the statement
 * timeout, i.e. an overloaded or locked database).
 */
function isUnavailableSqlState(code: string): boolean {
  return /^08[0-9A-Z]{3}$/.test(code) || code === "53300" || /^57P0[1-5]$/.test(code) || code === "57014";
}

/**
 * SQLite (better-sqlite3's `SqliteError.code`, extended codes included): locked by another process
 * past the busy timeout, an I/O failure, the file gone or unwritable, the disk full.
 */
function isUnavailableSqliteCode(code: string): boolean {
  return /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY)(_[A-Z_]+)?$/.test(code);
}

/** node-postgres and pg-pool errors that carry no code. */
const MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /is not queryable$/,
  /^Query read timeout/,
];

function someCause(error: unknown, test: (e: { code?: unknown; message?: unknown }) => boolean): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (current === null || typeof current !== "object" || seen.has(current)) continue;
    seen.add(current);
    const e = current as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    if (test(e)) return true;
    queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...e.errors);
  }
  return false;
}
