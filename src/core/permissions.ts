import { StewardError } from "./errors.js";

export const ROLES = ["admin", "user"] as const;
export type Role = (typeof ROLES)[number];

export const SCOPES = [
  "tokens:read",
  "tokens:write",
  "users:read",
  "users:write",
  "audit:read",
  "settings:write",
  "jenkins:api",
] as const;
export type Scope = (typeof SCOPES)[number];

export type UserKind = "user" | "service";
/** How a principal proved itself; `cli` is an operator with direct access to the database. */
export type AuthMethod = "token" | "password" | "session" | "anonymous" | "cli";

/** Who is making a request, as established by authentication. */
export interface Principal {
  userId: string;
  fullName: string;
  email: string | null;
  roles: readonly Role[];
  kind: UserKind;
  authenticatedBy: AuthMethod;
  /** Set when authenticated by a token. */
  tokenId?: string;
  /** The token's scopes; null means the owner's full permissions (Jenkins behaviour). */
  scopes?: readonly Scope[] | null;
  /** When the token expires (ms), if it does. */
  tokenExpiresAt?: number | null;
}

export const ANONYMOUS: Principal = Object.freeze({
  userId: "anonymous",
  fullName: "anonymous",
  email: null,
  roles: [],
  kind: "user",
  authenticatedBy: "anonymous",
});

export function isAnonymous(principal: Principal): boolean {
  return principal.authenticatedBy === "anonymous";
}

export function isAdmin(principal: Principal): boolean {
  return principal.roles.includes("admin");
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** Whether the principal's token (if any) carries `scope`. Unscoped tokens and non-token logins carry all. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return !principal.scopes || principal.scopes.includes(scope);
}

/** The scopes whose calls the `user` role may make; the `admin` role may make them all. */
const USER_ROLE_SCOPES: readonly Scope[] = ["tokens:read", "tokens:write", "jenkins:api"];

/**
 * The scopes a principal can exercise: its token's (all of them when unscoped) within what its roles
 * allow — a token acts with at most its owner's current permissions. What forward auth reports.
 */
export function effectiveScopes(principal: Principal): readonly Scope[] {
  const allowed = isAdmin(principal) ? SCOPES : USER_ROLE_SCOPES;
  return principal.scopes ? allowed.filter((scope) => hasScope(principal, scope)) : allowed;
}

/** Whether `scope` is among the principal's effective scopes (no allocation: the hot lane asks it). */
export function hasEffectiveScope(principal: Principal, scope: Scope): boolean {
  return hasScope(principal, scope) && (isAdmin(principal) || USER_ROLE_SCOPES.includes(scope));
}

/** Throws 403 naming the scope when the principal's token or its owner's roles do not allow it. */
export function requireEffectiveScope(principal: Principal, scope: Scope): void {
  requireScope(principal, scope);
  if (!hasEffectiveScope(principal, scope)) {
    throw new StewardError(
      "missing_scope",
      `The roles of ${principal.userId} do not allow the scope "${scope}".`,
      {
        scope,
      },
    );
  }
}

/** Throws 403 naming the missing scope when a scoped token is used outside its scopes. */
export function requireScope(principal: Principal, scope: Scope): void {
  if (!hasScope(principal, scope)) {
    throw new StewardError("missing_scope", `This token lacks the scope "${scope}".`, { scope });
  }
}

/**
 * The first scope in `scopes` (null = all of them) that the principal's token lacks, or null when it
 * holds them all: a scoped token may never obtain a value that can do more than it can.
 */
export function scopeBeyond(principal: Principal, scopes: readonly Scope[] | null): Scope | null {
  if (!principal.scopes) return null;
  const held = principal.scopes;
  return (scopes ?? SCOPES).find((scope) => !held.includes(scope)) ?? null;
}

export function requireAuthenticated(principal: Principal): void {
  if (isAnonymous(principal))
    throw new StewardError("login_required", "Authentication required: sign in or use an API token.");
}

/** Admin rights: the role, and for a scoped token the scope that the action needs. */
export function requireAdmin(principal: Principal, scope: Scope): void {
  requireAuthenticated(principal);
  if (!isAdmin(principal)) {
    throw new StewardError("forbidden", `${principal.userId} is missing the Overall/Administer permission.`, {
      permission: "Overall/Administer",
    });
  }
  requireScope(principal, scope);
}

/** May the principal manage (list, rename, revoke) the tokens of `ownerId`? The owner or an admin. */
export function canManageTokensOf(
  principal: Principal,
  ownerId: string,
  serviceOwnerId?: string | null,
): boolean {
  if (isAnonymous(principal)) return false;
  const me = principal.userId.toLowerCase();
  return (
    isAdmin(principal) ||
    me === ownerId.toLowerCase() ||
    (!!serviceOwnerId && me === serviceOwnerId.toLowerCase())
  );
}
