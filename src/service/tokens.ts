import { cidrOutside, parseCidrList } from "../core/cidr.js";
import { invalid, notFound, StewardError } from "../core/errors.js";
import { type ExpiryRequest, resolveExpiry } from "../core/expiry.js";
import { normalizeTokenName } from "../core/names.js";
import {
  canManageTokensOf,
  isAdmin,
  isScope,
  type Principal,
  requireScope,
  type Scope,
  scopeBeyond,
} from "../core/permissions.js";
import { generateToken, parseJenkinsToken, parseToken } from "../core/token-format.js";
import { isUniqueViolation } from "../store/constraint.js";
import type { TokenRecord, UserRecord } from "../store/store.js";
import { type Actor, auditEvent, type Deps } from "./context.js";

export interface NewTokenRequest extends ExpiryRequest {
  name?: string | null;
  scopes?: readonly string[] | null;
  allowedCidrs?: readonly string[] | null;
  format?: "steward" | "jenkins";
}

export interface IssuedToken {
  token: TokenRecord;
  /** The plain value: returned once, to the caller that created it, and never stored. */
  value: string;
}

/** A scoped token may only hand out scopes it holds itself; unscoped callers may hand out any. */
function resolveScopes(
  principal: Principal,
  requested: readonly string[] | null | undefined,
): Scope[] | null {
  // No scopes (omitted, null or an empty list) = the caller's own, as for a Jenkins token.
  if (requested == null || (Array.isArray(requested) && requested.length === 0))
    return principal.scopes ? [...principal.scopes] : null;
  if (!Array.isArray(requested)) throw invalid("scopes must be a list of scope names.", { field: "scopes" });
  const scopes: Scope[] = [];
  for (const scope of requested) {
    if (typeof scope !== "string" || !isScope(scope))
      throw invalid(`Unknown scope "${String(scope)}".`, { field: "scopes" });
    if (principal.scopes && !principal.scopes.includes(scope)) {
      throw new StewardError("missing_scope", `This token lacks the scope "${scope}" and cannot grant it.`, {
        scope,
      });
    }
    if (!scopes.includes(scope)) scopes.push(scope);
  }
  return scopes;
}

function resolveCidrs(requested: readonly string[] | null | undefined): string[] | null {
  if (requested == null) return null;
  if (!Array.isArray(requested))
    throw invalid("allowedCidrs must be a list of CIDRs.", { field: "allowedCidrs" });
  const parsed = parseCidrList(requested);
  if (!parsed.ok) throw invalid(parsed.error, { field: "allowedCidrs" });
  return parsed.cidrs.length > 0 ? parsed.cidrs : null;
}

/** Token operations shared by the Jenkins surface, the REST API, the UI and the CLI. */
export class TokenService {
  constructor(private readonly deps: Deps) {}

  /** The owner, and whether `actor` may manage its tokens; 404 (not 403) hides other users' tokens. */
  async ownerFor(actor: Actor, ownerId: string): Promise<UserRecord> {
    const owner = await this.deps.store.getUser(ownerId);
    if (!owner || !canManageTokensOf(actor.principal, owner.id, owner.ownerId)) throw notFound("User");
    return owner;
  }

  /** A live or revoked token that `actor` may see, or 404. */
  async visibleToken(actor: Actor, tokenId: string): Promise<TokenRecord> {
    const token = await this.deps.store.getToken(tokenId);
    if (!token) throw notFound("Token");
    const owner = await this.deps.store.getUser(token.userId);
    if (!owner || !canManageTokensOf(actor.principal, owner.id, owner.ownerId)) throw notFound("Token");
    return token;
  }

  /**
   * Jenkins: only the owner generates, unless admins were allowed to generate for others. Service
   * accounts exist to own tokens and are managed by admins: any admin may create theirs.
   */
  async assertMayCreateFor(actor: Actor, owner: UserRecord): Promise<void> {
    const me = actor.principal.userId.toLowerCase();
    const self = owner.id.toLowerCase() === me || owner.ownerId?.toLowerCase() === me;
    if (self || actor.principal.authenticatedBy === "cli") return;
    if (isAdmin(actor.principal) && owner.kind === "service") return;
    if (isAdmin(actor.principal) && this.deps.settings.current.adminCanGenerateTokensForOthers) return;
    throw new StewardError("forbidden", "Only the owner can generate tokens for this user.", {
      permission: "Overall/Administer",
    });
  }

  /**
   * A token that creates a token hands on no more than it has (as with scopes): the new one expires no
   * later and is used from no wider networks. Unless asked for less, it gets the creator's limits.
   */
  private async boundedByCreator(
    actor: Actor,
    limits: { expiresAt: number | null; allowedCidrs: string[] | null; expiryRequested: boolean },
  ): Promise<{ expiresAt: number | null; allowedCidrs: string[] | null }> {
    const { principal } = actor;
    if (principal.authenticatedBy !== "token" || !principal.tokenId) return limits;
    const creator = await this.deps.store.getToken(principal.tokenId);
    if (!creator) return limits;
    let { expiresAt, allowedCidrs } = limits;
    if (creator.expiresAt !== null && (expiresAt === null || expiresAt > creator.expiresAt)) {
      if (limits.expiryRequested) {
        throw invalid(
          `A token cannot create a token that outlives it: this one expires at ${new Date(creator.expiresAt).toISOString()}.`,
          { field: "expiresAt" },
        );
      }
      expiresAt = creator.expiresAt;
    }
    if (creator.allowedCidrs) {
      if (allowedCidrs === null) allowedCidrs = [...creator.allowedCidrs];
      const outside = cidrOutside(allowedCidrs, creator.allowedCidrs);
      if (outside !== null) {
        throw invalid(`A token can only hand out networks inside its own allow-list; ${outside} is not.`, {
          field: "allowedCidrs",
        });
      }
    }
    return { expiresAt, allowedCidrs };
  }

  async create(actor: Actor, owner: UserRecord, request: NewTokenRequest): Promise<IssuedToken> {
    const { deps } = this;
    const now = deps.clock.now();
    const format = request.format ?? "steward";
    const limits = await this.boundedByCreator(actor, {
      expiresAt: resolveExpiry(request, deps.settings.current, now),
      allowedCidrs: resolveCidrs(request.allowedCidrs),
      expiryRequested: request.expiresInSeconds != null || request.expiresAt != null,
    });
    const value = generateToken(format, deps.random);
    const token = freshToken({
      id: deps.random.uuid(),
      userId: owner.id,
      name: normalizeTokenName(request.name, now),
      hash: storedHash(value),
      format,
      createdAt: now,
      ...limits,
      scopes: resolveScopes(actor.principal, request.scopes),
    });
    await deps.store.createToken(
      token,
      auditEvent(deps, actor, "token.created", { userId: owner.id, tokenId: token.id }, tokenDetails(token)),
    );
    return { token, value };
  }

  /** Jenkins' addFixedToken: stores a caller-chosen `11…` value (its hash only). */
  async addFixed(
    actor: Actor,
    owner: UserRecord,
    name: string | null | undefined,
    value: string,
  ): Promise<TokenRecord> {
    const parsed = parseJenkinsToken(value);
    if (!parsed) throw invalid("The token value must be 11 followed by 32 lowercase hexadecimal characters.");
    const { deps } = this;
    const now = deps.clock.now();
    const token = freshToken({
      id: deps.random.uuid(),
      userId: owner.id,
      name: normalizeTokenName(name, now),
      hash: parsed.hash,
      format: "jenkins",
      createdAt: now,
      expiresAt: resolveExpiry({}, deps.settings.current, now),
      scopes: resolveScopes(actor.principal, null),
      allowedCidrs: null,
    });
    const inUse = new StewardError("conflict", "This token value is already in use.");
    if (await deps.store.findTokenByHash(parsed.hash)) throw inUse;
    const event = auditEvent(
      deps,
      actor,
      "token.created",
      { userId: owner.id, tokenId: token.id },
      { ...tokenDetails(token), fixed: true },
    );
    try {
      await deps.store.createToken(token, event);
    } catch (error) {
      // Two concurrent requests with the same value: the unique index lets one win; the other is told, not a 500.
      if (isUniqueViolation(error)) throw inUse;
      throw error;
    }
    return token;
  }

  async rename(actor: Actor, token: TokenRecord, newName: string): Promise<void> {
    const name = normalizeTokenName(newName, this.deps.clock.now());
    const renamed = await this.deps.store.renameToken(
      token.id,
      name,
      auditEvent(
        this.deps,
        actor,
        "token.renamed",
        { userId: token.userId, tokenId: token.id },
        { from: token.name, to: name },
      ),
    );
    if (!renamed) throw notFound("Token");
  }

  async revoke(actor: Actor, token: TokenRecord, action = "token.revoked"): Promise<boolean> {
    return this.deps.store.revokeToken(
      token.id,
      this.deps.clock.now(),
      auditEvent(this.deps, actor, action, { userId: token.userId, tokenId: token.id }, { name: token.name }),
    );
  }

  /**
   * Revokes every live token of `owner` but `exceptId`, which must then be one of them: an unknown id
   * revokes nothing (Jenkins' revokeAllExcept would revoke everything). Answers how many were revoked.
   */
  async revokeAllChecked(actor: Actor, owner: UserRecord, exceptId: string | null): Promise<number> {
    if (exceptId !== null) {
      const keep = await this.deps.store.getToken(exceptId);
      if (!keep || keep.userId !== owner.id || keep.revokedAt !== null) {
        throw invalid("No live token of this user has the id given in except; nothing was revoked.", {
          field: "except",
        });
      }
    }
    return (await this.revokeAll(actor, owner, exceptId)).length;
  }

  async revokeAll(actor: Actor, owner: UserRecord, exceptId: string | null): Promise<TokenRecord[]> {
    return this.deps.store.revokeTokens(
      owner.id,
      exceptId,
      this.deps.clock.now(),
      auditEvent(
        this.deps,
        actor,
        "token.revoked.all",
        { userId: owner.id, tokenId: exceptId },
        { except: exceptId },
      ),
    );
  }

  /**
   * Replaces a token's value. The old value keeps working for `graceSeconds` (bounded by policy), then
   * fails; name, scopes, allow-list and lifetime carry over. Rotating an already-rotated value is
   * refused and recorded as suspicious: it suggests the old value is in someone else's hands.
   */
  async rotate(actor: Actor, token: TokenRecord, graceSeconds: number): Promise<IssuedToken> {
    const { deps } = this;
    const now = deps.clock.now();
    const maxGrace = deps.settings.current.maxRotationGraceSeconds;
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > maxGrace) {
      throw invalid(`graceSeconds must be a whole number from 0 to ${maxGrace}.`, { field: "graceSeconds" });
    }
    if (token.replacedBy !== null) {
      await deps.store.appendAudit(
        auditEvent(
          deps,
          actor,
          "token.rotate.replayed",
          { userId: token.userId, tokenId: token.id },
          {},
          "denied",
        ),
      );
      throw new StewardError("conflict", "This token was already rotated; use its replacement.");
    }
    if (token.revokedAt !== null && token.revokedAt <= now) throw notFound("Token");
    // The new value carries the old one's scopes: a scoped caller may only rotate tokens within its own.
    const missing = scopeBeyond(actor.principal, token.scopes);
    if (missing) {
      throw new StewardError(
        "missing_scope",
        `This token lacks the scope "${missing}" and cannot rotate a token that has it.`,
        { scope: missing },
      );
    }
    const format = token.format === "jenkins" ? "jenkins" : "steward";
    const value = generateToken(format, deps.random);
    const lifetime = token.expiresAt === null ? null : token.expiresAt - token.createdAt;
    // Name, scopes, allow-list and lifetime carry over; everything else starts afresh.
    const next = freshToken({
      id: deps.random.uuid(),
      userId: token.userId,
      name: token.name,
      hash: storedHash(value),
      format,
      createdAt: now,
      expiresAt: lifetime === null ? null : now + lifetime,
      scopes: token.scopes,
      allowedCidrs: token.allowedCidrs,
    });
    const graceUntil = graceSeconds > 0 ? now + graceSeconds * 1000 : null;
    const rotated = await deps.store.rotateToken(
      token.id,
      next,
      graceUntil,
      auditEvent(
        deps,
        actor,
        "token.rotated",
        { userId: token.userId, tokenId: token.id },
        {
          newTokenId: next.id,
          graceSeconds,
        },
      ),
    );
    if (!rotated) throw new StewardError("conflict", "This token was already rotated or revoked.");
    return { token: next, value };
  }

  /**
   * Jenkins' legacy per-user token (changeToken): replaces the user's legacy token with a new 32-hex
   * value. Only its hash is kept, so unlike Jenkins the value is shown once, to its owner only.
   */
  async replaceLegacy(actor: Actor, owner: UserRecord): Promise<string> {
    const { deps } = this;
    if (!deps.settings.current.legacyTokensEnabled)
      throw new StewardError("forbidden", "Legacy tokens are disabled.");
    const now = deps.clock.now();
    for (const old of await deps.store.listTokens(owner.id)) {
      if (old.format === "legacy") await this.revoke(actor, old);
    }
    const value = deps.random.bytes(16).toString("hex");
    const token = freshToken({
      id: deps.random.uuid(),
      userId: owner.id,
      name: "Legacy API token",
      hash: storedHash(value),
      format: "legacy",
      createdAt: now,
      expiresAt: null,
      scopes: null,
      allowedCidrs: null,
    });
    await deps.store.createToken(
      token,
      auditEvent(deps, actor, "token.created", { userId: owner.id, tokenId: token.id }, tokenDetails(token)),
    );
    const isOwner = actor.principal.userId.toLowerCase() === owner.id.toLowerCase();
    return isOwner ? value : "Token is hidden";
  }

  async list(ownerId: string, options: { includeRevoked?: boolean } = {}): Promise<TokenRecord[]> {
    return this.deps.store.listTokens(ownerId, options);
  }
}

/** The parts of a new token that differ between ways of creating one; the rest starts empty. */
type NewTokenFields = Pick<
  TokenRecord,
  "id" | "userId" | "name" | "hash" | "format" | "createdAt" | "expiresAt" | "scopes" | "allowedCidrs"
>;

/** A fresh, live, unused token record. */
function freshToken(fields: NewTokenFields): TokenRecord {
  return { ...fields, revokedAt: null, lastUsedAt: null, useCount: 0, graceUntil: null, replacedBy: null };
}

/** The hash a freshly generated value is stored under (format-specific, see core/token-format). */
function storedHash(value: string): string {
  return parseToken(value)!.hash;
}

function tokenDetails(token: TokenRecord): Record<string, unknown> {
  return {
    name: token.name,
    format: token.format,
    expiresAt: token.expiresAt === null ? null : new Date(token.expiresAt).toISOString(),
    scopes: token.scopes,
    allowedCidrs: token.allowedCidrs,
  };
}

export function requireTokenScope(actor: Actor, write: boolean): void {
  requireScope(actor.principal, write ? "tokens:write" : "tokens:read");
}
