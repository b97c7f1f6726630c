import type { AuditInput, TokenRecord, UserRecord } from "../../src/store/store.js";

/** Fixed times (milliseconds) for store records, so that nothing depends on the clock. */
export const T0 = 1_700_000_000_000;

/** Store records for tests: a complete record with plain defaults, and the fields a test cares about. */
export function user(id: string, overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id,
    fullName: `${id} Example`,
    email: `${id.toLowerCase()}@example.com`,
    passwordHash: null,
    roles: ["user"],
    kind: "user",
    ownerId: null,
    disabled: false,
    mustChangePassword: false,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function token(id: string, userId: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    id,
    userId,
    name: `token ${id}`,
    hash: `hash-${id}`,
    format: "steward",
    createdAt: T0,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    useCount: 0,
    scopes: null,
    allowedCidrs: null,
    graceUntil: null,
    replacedBy: null,
    ...overrides,
  };
}

export function audit(action: string, overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    at: T0,
    action,
    actorUserId: null,
    actorTokenId: null,
    targetUserId: null,
    targetTokenId: null,
    ip: "192.0.2.1",
    userAgent: "contract-test",
    outcome: "success",
    requestId: null,
    details: {},
    ...overrides,
  };
}
