/**
 * The closed catalogue of error codes. Each maps to exactly one HTTP status in `src/http/errors.ts`;
 * messages are stable and written for people.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  unauthenticated: 401,
  /** Anonymous caller on something that needs a login (Jenkins answers 403 there; see http/errors). */
  login_required: 401,
  token_expired: 401,
  forbidden: 403,
  missing_scope: 403,
  ip_not_allowed: 403,
  crumb_invalid: 403,
  not_found: 404,
  method_not_allowed: 405,
  uri_too_long: 414,
  headers_too_large: 431,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class StewardError extends Error {
  override readonly name = "StewardError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const CRUMB_MESSAGE = "No valid crumb was included in the request";

/** The message of a 503 for a database that cannot be reached (nothing about the cause leaks out). */
export const DATABASE_UNAVAILABLE = "The database is not reachable right now; try again shortly.";

export function notFound(what: string): StewardError {
  return new StewardError("not_found", `${what} was not found.`);
}

export function invalid(message: string, details: Record<string, unknown> = {}): StewardError {
  return new StewardError("validation_failed", message, details);
}
