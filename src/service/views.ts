import type { UsageRecorder } from "../auth/usage-recorder.js";
import type { TokenRecord, UserRecord } from "../store/store.js";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A token as the API shows it (SPEC §4.2): never the value or the hash. Counts include unflushed uses. */
export function tokenView(token: TokenRecord, usage?: UsageRecorder) {
  const pending = usage?.pendingFor(token.id);
  const lastUsedAt = Math.max(token.lastUsedAt ?? 0, pending?.lastUsedAt ?? 0);
  return {
    id: token.id,
    name: token.name,
    userId: token.userId,
    createdAt: iso(token.createdAt)!,
    expiresAt: iso(token.expiresAt),
    lastUsedAt: lastUsedAt === 0 ? null : iso(lastUsedAt),
    useCount: token.useCount + (pending?.count ?? 0),
    scopes: token.scopes,
    allowedCidrs: token.allowedCidrs,
    revokedAt: iso(token.revokedAt),
    format: token.format,
  };
}

export type TokenView = ReturnType<typeof tokenView>;

/** A user as the API shows it: never the password hash. */
export function userView(user: UserRecord) {
  return {
    id: user.id,
    fullName: user.fullName,
    email: user.email,
    roles: user.roles,
    kind: user.kind,
    ownerId: user.ownerId,
    disabled: user.disabled,
    hasPassword: user.passwordHash !== null,
    createdAt: iso(user.createdAt)!,
  };
}
