import { StewardError } from "../core/errors.js";
import type { Principal } from "../core/permissions.js";
import { parseBasicHeader } from "./basic-header.js";
import type { FailureLimiter } from "./rate-limiter.js";
import type { TokenVerifier } from "./token-verifier.js";

/** An API token read from an `Authorization` header; `userId` is null for a Bearer token. */
export type TokenCredentials =
  | { kind: "none" }
  | { kind: "malformed" }
  | { kind: "token"; userId: string | null; value: string };

const MAX_HEADER_LENGTH = 8192;

/**
 * The token of `Authorization: Bearer <token>` (scheme case-insensitive): undefined for any other
 * scheme, "" when the value is missing or malformed (too long, or with whitespace inside).
 */
export function bearerTokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const space = header.indexOf(" ");
  const scheme = space === -1 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== "bearer") return undefined;
  if (header.length > MAX_HEADER_LENGTH) return "";
  const value = space === -1 ? "" : header.slice(space + 1).trim();
  return /\s/.test(value) ? "" : value;
}

/**
 * Reads an API token from `Authorization: Bearer <token>` (the token alone; it identifies its owner) or
 * `Authorization: Basic base64(user:token)` (Jenkins' form). Schemes are case-insensitive; any other
 * scheme is no credential at all.
 */
export function parseTokenCredentials(header: string | undefined): TokenCredentials {
  if (header === undefined || header === "") return { kind: "none" };
  const bearer = bearerTokenOf(header);
  if (bearer !== undefined) {
    return bearer === "" ? { kind: "malformed" } : { kind: "token", userId: null, value: bearer };
  }
  const basic = parseBasicHeader(header);
  if (basic.kind !== "basic") return basic;
  return { kind: "token", userId: basic.userId, value: basic.secret };
}

export type TokenAuthFailure =
  | "missing"
  | "malformed"
  | "invalid"
  | "expired"
  | "ip_not_allowed"
  | "rate_limited";

export type TokenAuthResult =
  | { ok: true; principal: Principal; tokenId: string }
  | { ok: false; reason: TokenAuthFailure; retryAfter?: number; tokenId?: string };

/**
 * Token-only authentication, for forward auth and the library: no passwords (a slow hash per proxied
 * request would be a denial-of-service lever, and a password is not a per-purpose credential) and no
 * sessions. Failed checks are limited per client address; a valid token is always accepted, so a flood
 * of bad tokens from one address (e.g. a proxy's) never locks out the good ones.
 */
export class TokenAuthenticator {
  constructor(
    private readonly verifier: TokenVerifier,
    private readonly failures: FailureLimiter,
  ) {}

  async authenticate(authorization: string | undefined, ip: string): Promise<TokenAuthResult> {
    const credentials = parseTokenCredentials(authorization);
    if (credentials.kind === "none") return { ok: false, reason: "missing" };
    if (credentials.kind === "malformed") return { ok: false, reason: "malformed" };
    const check =
      credentials.userId === null
        ? await this.verifier.verifyBearer(credentials.value, ip)
        : await this.verifier.verify(credentials.userId, credentials.value, ip);
    if (check.ok) return { ok: true, principal: check.principal, tokenId: check.tokenId };
    if (check.reason === "expired" || check.reason === "ip_not_allowed") {
      return { ok: false, reason: check.reason, ...(check.tokenId ? { tokenId: check.tokenId } : {}) };
    }
    // A revoked value is no guess: refused as invalid, not counted against the address.
    if (check.reason === "revoked") return { ok: false, reason: "invalid", tokenId: check.tokenId };
    // Counted in the database before answering, so every instance sees it. No read first: the count the
    // write returns says whether this failure was beyond the limit. Its own key, apart from the web
    // surface's `ip:` counter, as forward auth often sees every client through one proxy address.
    const retryAfter = await this.failures.recordFailure(`token-ip:${ip}`);
    if (retryAfter > 0) return { ok: false, reason: "rate_limited", retryAfter };
    return { ok: false, reason: "invalid" };
  }
}

/** The error (401, 403 or 429) an edge answers a failed token check with. Messages are the same whether or not the user exists. */
export function tokenAuthError(failure: {
  reason: TokenAuthFailure;
  retryAfter?: number;
  tokenId?: string;
}): StewardError {
  // The token's id (never its value) lets the audit log say which token was refused.
  const token = failure.tokenId ? { tokenId: failure.tokenId } : {};
  switch (failure.reason) {
    case "missing":
      return new StewardError(
        "unauthenticated",
        "Authentication required: send an API token (Authorization: Bearer <token>, or Basic user:token).",
      );
    case "malformed":
      return new StewardError("unauthenticated", "Malformed Authorization header.");
    case "invalid":
      return new StewardError("unauthenticated", "Invalid username or API token.");
    case "expired":
      return new StewardError("token_expired", "This API token has expired.", token);
    case "ip_not_allowed":
      return new StewardError("ip_not_allowed", "This API token may not be used from this address.", token);
    case "rate_limited":
      return new StewardError("rate_limited", "Too many failed attempts; try again later.", {
        retryAfter: failure.retryAfter ?? 60,
      });
  }
}
