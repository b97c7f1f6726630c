import type { AddressGranularity } from "../core/address-key.js";
import type { Role, Scope, UserKind } from "../core/permissions.js";
import type { Settings } from "../core/settings.js";
import type { TokenFormat } from "../core/token-format.js";

export interface UserRecord {
  id: string;
  fullName: string;
  email: string | null;
  passwordHash: string | null;
  roles: Role[];
  kind: UserKind;
  /** For a service account: the human user who manages its tokens. */
  ownerId: string | null;
  disabled: boolean;
  /** Set for the first admin until the printed password is changed. */
  mustChangePassword: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface TokenRecord {
  id: string;
  userId: string;
  name: string;
  /** SHA-256 hex of the value (see core/token-format). Never leaves the server. */
  hash: string;
  format: TokenFormat;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
  useCount: number;
  scopes: Scope[] | null;
  allowedCidrs: string[] | null;
  /** For the old value of a rotated token: it keeps working until this time. */
  graceUntil: number | null;
  /** For the old value of a rotated token: the id of the token that replaced it. */
  replacedBy: string | null;
}

/** What a token lookup returns: the token and its owner, in one query. */
export interface TokenWithOwner {
  token: TokenRecord;
  owner: UserRecord;
}

export interface SessionRecord {
  /** SHA-256 of the cookie value; the cookie value itself is never stored. */
  idHash: string;
  userId: string | null;
  createdAt: number;
  expiresAt: number;
}

export type AuditOutcome = "success" | "failure" | "denied";

/** An audit event as recorded; never contains a secret. */
export interface AuditInput {
  at: number;
  action: string;
  actorUserId: string | null;
  actorTokenId: string | null;
  targetUserId: string | null;
  targetTokenId: string | null;
  ip: string | null;
  userAgent: string | null;
  outcome: AuditOutcome;
  requestId: string | null;
  details: Record<string, unknown>;
}

export interface AuditEvent extends AuditInput {
  id: number;
}

export interface AuditQuery {
  userId?: string;
  tokenId?: string;
  action?: string;
  since?: number;
  until?: number;
  /** Return events with an id below this (newest first). */
  before?: number;
  /** Return events with an id above this (use with `order: "asc"` to page oldest first). */
  after?: number;
  /** Newest first (default) or oldest first. */
  order?: "asc" | "desc";
  limit: number;
}

export interface UserQuery {
  search?: string;
  kind?: UserKind;
  /** Only the accounts owned by this user (its exact id). */
  ownerId?: string;
  /** Return users whose key sorts after this. */
  after?: string;
  limit: number;
}

export interface UsageDelta {
  tokenId: string;
  count: number;
  lastUsedAt: number;
}

/** Uses of one token from one client address since the last flush. */
export interface AddressDelta {
  tokenId: string;
  /** Canonical text (core/address-key). */
  ip: string;
  count: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

/** The per-address part of a usage flush, and how to judge which addresses are new. */
export interface AddressUsage {
  deltas: readonly AddressDelta[];
  granularity: AddressGranularity;
  /** Addresses kept per token: the most recently seen. */
  keepPerToken: number;
}

/** A client address a token was used from. */
export interface TokenAddress {
  ip: string;
  firstSeenAt: number;
  lastSeenAt: number;
  useCount: number;
}

export interface WebhookRecord {
  id: string;
  url: string;
  /** Event filters: an action (`token.revoked`), a prefix (`token.*`) or `*`. */
  events: string[];
  /** The HMAC key of its signatures. Shown once at creation; never in a list, a log or an event. */
  secret: string;
  createdAt: number;
  createdBy: string | null;
}

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface DeliveryRecord {
  id: number;
  webhookId: string;
  eventId: number;
  action: string;
  status: DeliveryStatus;
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  lastAttemptAt: number | null;
  /** HTTP status of the last attempt; null when it got no answer. */
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
}

/** A delivery claimed for sending, with what sending it needs. */
export interface ClaimedDelivery {
  delivery: DeliveryRecord;
  url: string;
  secret: string;
  event: AuditEvent;
}

/** The result of one attempt: delivered, to be retried at `nextAttemptAt`, or given up. */
export interface DeliveryOutcome {
  at: number;
  status: DeliveryStatus;
  nextAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
}

/** Live tokens expiring in (from, to] that have had no notice at `thresholdDays` or a smaller one. */
export interface ExpiryNoticeQuery {
  thresholdDays: number;
  from: number;
  to: number;
  limit: number;
}

export type UserPatch = Partial<
  Pick<
    UserRecord,
    "fullName" | "email" | "passwordHash" | "roles" | "disabled" | "mustChangePassword" | "ownerId"
  >
>;

/** A change other code must react to: cached verifications of these tokens are no longer valid. */
export type Invalidation =
  | { type: "token"; hash: string }
  | { type: "user"; userId: string }
  | { type: "all" };

/**
 * The one storage interface, in domain words. Every change that has an audit event takes it as an
 * argument and writes it in the same transaction: no change without its event, no event without its change.
 */
export interface Store {
  readonly dialect: "sqlite" | "postgres";
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Throws when the database cannot be reached. */
  ping(): Promise<void>;
  /** Migrations this version knows that the database has not applied (empty when up to date). */
  pendingMigrations(): Promise<string[]>;

  /** A named server secret, created once with `create` if missing (race-safe across instances). */
  getOrCreateSecret(name: string, create: () => string): Promise<string>;

  countUsers(): Promise<number>;
  createUser(user: UserRecord, event: AuditInput): Promise<void>;
  getUser(id: string): Promise<UserRecord | null>;
  listUsers(query: UserQuery): Promise<UserRecord[]>;
  updateUser(id: string, patch: UserPatch, event: AuditInput | null, at: number): Promise<UserRecord | null>;
  /** Deletes the user, its tokens and its sessions. */
  deleteUser(id: string, event: AuditInput): Promise<boolean>;

  createToken(token: TokenRecord, event: AuditInput): Promise<void>;
  findTokenByHash(hash: string): Promise<TokenWithOwner | null>;
  getToken(id: string): Promise<TokenRecord | null>;
  /** Live (unrevoked) tokens of a user, oldest first; with `includeRevoked`, all of them. */
  listTokens(userId: string, options?: { includeRevoked?: boolean }): Promise<TokenRecord[]>;
  /** How many users hold a live legacy token (through a partial index: no scan of all tokens). */
  countLegacyTokenHolders(): Promise<number>;
  renameToken(id: string, name: string, event: AuditInput): Promise<boolean>;
  /** Revokes one live token (ending any rotation grace at once); false when it was not live. */
  revokeToken(id: string, at: number, event: AuditInput): Promise<boolean>;
  /** Revokes every live token of a user except `exceptId`; returns the revoked tokens. */
  revokeTokens(
    userId: string,
    exceptId: string | null,
    at: number,
    event: AuditInput,
  ): Promise<TokenRecord[]>;
  /**
   * Replaces a token by `next`: the old value keeps working until `graceUntil` (or stops now when null)
   * and is marked replaced. False when the old token was not live or was already rotated.
   */
  rotateToken(
    oldId: string,
    next: TokenRecord,
    graceUntil: number | null,
    event: AuditInput,
  ): Promise<boolean>;
  /**
   * Adds usage counts (additive, so several instances never overwrite each other), and, in the same
   * transaction, the client addresses: an address (or network, by granularity) not among the token's
   * stored ones is recorded as a `token.used.new-ip` event. Addresses beyond `keepPerToken` are pruned,
   * oldest first.
   */
  addUsage(deltas: readonly UsageDelta[], addresses?: AddressUsage): Promise<void>;
  /** The stored client addresses of a token, most recently seen first. */
  listTokenAddresses(tokenId: string): Promise<TokenAddress[]>;
  countTokens(): Promise<number>;

  /** With an event (a sign-in), both are written in one transaction. */
  createSession(session: SessionRecord, event?: AuditInput): Promise<void>;
  getSession(idHash: string): Promise<SessionRecord | null>;
  /** With an event (a sign-out), both are written in one transaction. */
  deleteSession(idHash: string, event?: AuditInput): Promise<void>;
  deleteExpiredSessions(now: number): Promise<number>;

  /**
   * Adds one failed authentication to `key` in the fixed window [windowStart, windowEnd) and returns the
   * window's count, this one included. Additive (one atomic upsert), so instances sharing the database
   * never overwrite each other's counts. Keys name a client address or a user (`ip:203.0.113.9`,
   * `user:alice`), never a secret.
   */
  recordAuthFailure(key: string, windowStart: number, windowEnd: number): Promise<number>;
  /** The failed authentications of `key` in the window starting at `windowStart`; 0 when none. */
  countAuthFailures(key: string, windowStart: number): Promise<number>;
  /** Deletes the counts of windows that have ended by `now`; returns how many. */
  deleteExpiredAuthFailures(now: number): Promise<number>;

  getSettings(): Promise<Settings>;
  updateSettings(patch: Partial<Settings>, event: AuditInput): Promise<Settings>;

  /**
   * Records an event that goes with no change (a failed sign-in, a refused request). Like every event,
   * it queues a delivery to each webhook whose filters match it, in the same transaction.
   */
  appendAudit(event: AuditInput): Promise<void>;
  queryAudit(query: AuditQuery): Promise<AuditEvent[]>;

  createWebhook(webhook: WebhookRecord, event: AuditInput): Promise<void>;
  getWebhook(id: string): Promise<WebhookRecord | null>;
  listWebhooks(): Promise<WebhookRecord[]>;
  /** Deletes a webhook with its delivery log and queue. */
  deleteWebhook(id: string, event: AuditInput): Promise<boolean>;
  /** Records `event` and queues it for this one webhook only (a test delivery); false when it does not exist. */
  queueTestDelivery(webhookId: string, event: AuditInput): Promise<boolean>;
  /**
   * Claims up to `limit` deliveries due at `now` for `leaseMs`: no other instance takes them meanwhile
   * (on PostgreSQL `FOR UPDATE SKIP LOCKED`); a claim not finished in time is taken over.
   */
  claimDeliveries(now: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]>;
  finishDelivery(id: number, outcome: DeliveryOutcome): Promise<void>;
  /** A webhook's deliveries, newest first. */
  listDeliveries(webhookId: string, query: { before?: number; limit: number }): Promise<DeliveryRecord[]>;

  /** Tokens (with owners) due for an expiry notice at a threshold; see ExpiryNoticeQuery. */
  findExpiryNoticesDue(query: ExpiryNoticeQuery): Promise<TokenWithOwner[]>;
  /**
   * Records that a token's notice at `thresholdDays` (0 = expired) was sent, with its event, once: false
   * (and no event) when it was already recorded, here or by another instance.
   */
  recordExpiryNotice(tokenId: string, thresholdDays: number, event: AuditInput): Promise<boolean>;

  /** Subscribes to invalidations made by this or any other process sharing the database. */
  onInvalidate(listener: (change: Invalidation) => void): () => void;
  /** False while changes made elsewhere may be missed (e.g. the notification channel is down): do not trust caches. */
  invalidationsReliable(): boolean;
}
