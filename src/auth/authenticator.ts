import type { Clock } from "../core/clock.js";
import { StewardError } from "../core/errors.js";
import type { PasswordHasher } from "../core/password.js";
import { ANONYMOUS, type Principal } from "../core/permissions.js";
import type { Settings } from "../core/settings.js";
import type { Store, UserRecord } from "../store/store.js";
import { type BasicCredentials, parseBasicHeader } from "./basic-header.js";
import { FailureLimiter } from "./rate-limiter.js";
import type { ActiveSession, SessionManager } from "./sessions.js";
import { bearerTokenOf } from "./token-credentials.js";
import type { TokenCheck, TokenVerifier } from "./token-verifier.js";

export const BAD_CREDENTIALS = "Invalid username, password or API token.";

export interface AuthRequest {
  authorization: string | undefined;
  sessionCookie: string | undefined;
  ip: string;
  /**
   * Whether `Authorization: Bearer <token>` counts (the REST API); elsewhere, as in Jenkins, a
   * non-Basic scheme is no credential at all.
   */
  acceptBearer?: boolean;
}

export interface AuthResult {
  principal: Principal;
  /** The HTTP session the request carried (it binds crumbs), whoever authenticated. */
  session: ActiveSession | null;
}

export interface AuthLimits {
  failuresPerIp: number;
  failuresPerUser: number;
  windowMs: number;
}

/** A failure counter and the key counted on it (`ip:<address>` or `user:<id>`, never a secret). */
type Counted = [FailureLimiter, string];

function rateLimited(retryAfter: number): StewardError {
  return new StewardError("rate_limited", "Too many failed attempts; try again later.", { retryAfter });
}

export function principalOf(user: UserRecord, authenticatedBy: "password" | "session"): Principal {
  return {
    userId: user.id,
    fullName: user.fullName,
    email: user.email,
    roles: user.roles,
    kind: user.kind,
    authenticatedBy,
    scopes: null,
  };
}

/**
 * A token that is known but refused — revoked (answered as an unknown one), expired, or used from an
 * address its allow-list refuses. The token id goes into the error's details for the audit event
 * (never into the answer).
 */
function throwIfTokenRefusedForCause(check: TokenCheck): void {
  if (check.ok) return;
  // A revoked value is no guess (only its holder has it): refused, audited, but not counted as a failure.
  if (check.reason === "revoked") {
    throw new StewardError("unauthenticated", BAD_CREDENTIALS, { tokenId: check.tokenId });
  }
  if (check.reason === "expired") {
    throw new StewardError("token_expired", "This API token has expired.", { tokenId: check.tokenId });
  }
  if (check.reason === "ip_not_allowed") {
    throw new StewardError("ip_not_allowed", "This API token may not be used from this address.", {
      tokenId: check.tokenId,
    });
  }
}

/**
 * Turns a request into a Principal (SPEC §3). Order as in Jenkins: Basic token, then Basic password,
 * then the session cookie. Failed checks are limited per client address (tokens and passwords) and per
 * user (passwords only) — a valid token always works, so nobody can lock a real user out of token use.
 */
export class Authenticator {
  private readonly ipFailures: FailureLimiter;
  private readonly userFailures: FailureLimiter;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly passwords: PasswordHasher,
    private readonly tokens: TokenVerifier,
    private readonly sessions: SessionManager,
    private readonly settings: () => Settings,
    limits: AuthLimits,
  ) {
    // Counted in the database, so every instance sharing it sees the same budget (SPEC §7).
    this.ipFailures = new FailureLimiter(
      { maxFailures: limits.failuresPerIp, windowMs: limits.windowMs },
      clock,
      store,
    );
    this.userFailures = new FailureLimiter(
      { maxFailures: limits.failuresPerUser, windowMs: limits.windowMs },
      clock,
      store,
    );
  }

  /**
   * The hot path — an API client with a cached token and no cookie — is answered synchronously: no
   * promise, no database. Anything else (a cookie, a token to look up, a password) returns a promise.
   * Never throws: a refusal is a rejected promise.
   */
  authenticate(request: AuthRequest): AuthResult | Promise<AuthResult> {
    if (request.acceptBearer) {
      const bearer = bearerTokenOf(request.authorization);
      if (bearer !== undefined) return this.authenticateBearer(bearer, request.ip);
    }
    const credentials = parseBasicHeader(request.authorization);
    if (request.sessionCookie !== undefined || credentials.kind !== "basic") {
      return this.authenticateSlowly(request, credentials);
    }
    const check = this.tokens.verify(credentials.userId, credentials.secret, request.ip);
    if (check instanceof Promise || !check.ok) return this.authenticateSlowly(request, credentials, check);
    return { principal: check.principal, session: null };
  }

  private async authenticateSlowly(
    request: AuthRequest,
    credentials: BasicCredentials,
    tokenCheck?: TokenCheck | Promise<TokenCheck>,
  ): Promise<AuthResult> {
    // API clients send no cookie: no session lookup, not even an empty one.
    const session =
      request.sessionCookie === undefined ? null : await this.sessions.resolve(request.sessionCookie);
    if (credentials.kind === "malformed") {
      throw new StewardError("unauthenticated", "Malformed HTTP basic Authorization header");
    }
    if (credentials.kind === "basic") {
      const { userId, secret } = credentials;
      const check = await (tokenCheck ?? this.tokens.verify(userId, secret, request.ip));
      if (check.ok) return { principal: check.principal, session };
      const principal = await this.basic(userId, secret, request.ip, check);
      return { principal, session };
    }
    if (session?.record.userId) {
      const user = await this.store.getUser(session.record.userId);
      if (user && !user.disabled && user.kind === "user")
        return { principal: principalOf(user, "session"), session };
    }
    return { principal: ANONYMOUS, session };
  }

  /**
   * A Bearer token (the value names its owner): no session, no password, no crumb. A cached token is
   * answered at once, as over Basic; a refusal counts against the client address.
   */
  private authenticateBearer(value: string, ip: string): AuthResult | Promise<AuthResult> {
    const check = this.tokens.verifyBearer(value, ip);
    if (!(check instanceof Promise) && check.ok) return { principal: check.principal, session: null };
    return (async () => {
      const settled = await check;
      if (settled.ok) return { principal: settled.principal, session: null };
      throwIfTokenRefusedForCause(settled);
      await this.recordFailures([this.ipFailures, `ip:${ip}`]);
      throw new StewardError("unauthenticated", BAD_CREDENTIALS);
    })();
  }

  /** A Basic secret that is not a valid token of `userId`: a refused token, or perhaps a password. */
  private async basic(userId: string, secret: string, ip: string, check: TokenCheck): Promise<Principal> {
    if (check.ok) return check.principal;
    throwIfTokenRefusedForCause(check);
    // Failures count per address and per user (SPEC §3); a valid token never reaches this point, so
    // a user's own tokens keep working while someone guesses at that user.
    const byIp: Counted = [this.ipFailures, `ip:${ip}`];
    const byUser: Counted = [this.userFailures, `user:${userId.toLowerCase()}`];
    if (this.settings().passwordBasicAuthEnabled) {
      // Before the (slow) password hash: a limited address or user gets no further guess.
      await this.throwIfLimited(byIp, byUser);
      const user = await this.checkPassword(userId, secret, ip);
      if (user) return principalOf(user, "password");
    }
    // With no password to check, no read first: the counts the writes return say whether it was over.
    await this.recordFailures(byIp, byUser);
    throw new StewardError("unauthenticated", BAD_CREDENTIALS);
  }

  /** 429 when any of the counters is at its limit. */
  private async throwIfLimited(...counted: Counted[]): Promise<void> {
    const waits = await Promise.all(counted.map(([limiter, key]) => limiter.retryAfterSeconds(key)));
    const retryAfter = Math.max(0, ...waits);
    if (retryAfter > 0) throw rateLimited(retryAfter);
  }

  /**
   * Counts a failed check on every counter, written before the answer goes out so that a burst spread
   * over several instances is counted in full. A failure beyond a limit (the budget was used up
   * elsewhere meanwhile) is answered 429 rather than 401.
   */
  private async recordFailures(...counted: Counted[]): Promise<void> {
    const waits = await Promise.all(counted.map(([limiter, key]) => limiter.recordFailure(key)));
    const retryAfter = Math.max(0, ...waits);
    if (retryAfter > 0) throw rateLimited(retryAfter);
  }

  /**
   * Checks a password in the same time whether or not the user exists (an unknown user still costs one
   * hash). Re-hashes imported bcrypt/PBKDF2 hashes to scrypt on success.
   */
  async checkPassword(
    userId: string,
    password: string,
    ip: string | null = null,
  ): Promise<UserRecord | null> {
    const user = await this.store.getUser(userId);
    if (!user?.passwordHash || user.disabled || user.kind !== "user") {
      await this.passwords.verifyNothing(password);
      return null;
    }
    if (!(await this.passwords.verify(password, user.passwordHash))) return null;
    if (this.passwords.needsRehash(user.passwordHash)) {
      const passwordHash = await this.passwords.hash(password);
      const now = this.clock.now();
      await this.store.updateUser(
        user.id,
        { passwordHash },
        {
          at: now,
          action: "user.password.rehashed",
          actorUserId: user.id,
          actorTokenId: null,
          targetUserId: user.id,
          targetTokenId: null,
          ip,
          userAgent: null,
          outcome: "success",
          requestId: null,
          details: { reason: "stronger hash after sign-in" },
        },
        now,
      );
    }
    return user;
  }

  /** The login form: password only (an API token typed here never logs in), limited like Basic. */
  async login(userId: string, password: string, ip: string): Promise<UserRecord | null> {
    const byIp: Counted = [this.ipFailures, `ip:${ip}`];
    const byUser: Counted = [this.userFailures, `user:${userId.toLowerCase()}`];
    await this.throwIfLimited(byIp, byUser);
    const user = await this.checkPassword(userId, password, ip);
    if (user) return user;
    await this.recordFailures(byIp, byUser);
    return null;
  }
}
