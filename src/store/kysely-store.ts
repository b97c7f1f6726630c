import { DEFAULT_MIGRATION_TABLE, type Kysely, Migrator, sql, type Transaction } from "kysely";
import { addressKey } from "../core/address-key.js";
import { matchesEventFilter } from "../core/event-filter.js";
import { isRole, isScope, type Role, type Scope, type UserKind } from "../core/permissions.js";
import { DEFAULT_SETTINGS, type Settings } from "../core/settings.js";
import type { TokenFormat } from "../core/token-format.js";
import { migrationProvider } from "./migrations/index.js";
import type { AuditTable, Database, TokensTable, UsersTable, WebhookDeliveriesTable } from "./schema.js";
import type {
  AddressDelta,
  AddressUsage,
  AuditEvent,
  AuditInput,
  AuditQuery,
  ClaimedDelivery,
  DeliveryOutcome,
  DeliveryRecord,
  DeliveryStatus,
  ExpiryNoticeQuery,
  Invalidation,
  SessionRecord,
  Store,
  TokenAddress,
  TokenRecord,
  TokenWithOwner,
  UsageDelta,
  UserPatch,
  UserQuery,
  UserRecord,
  WebhookRecord,
} from "./store.js";

/** Most values bound in one `IN (…)` list (SQLite allows 32,766 variables per statement). */
const IN_LIST_CHUNK = 10_000;

export type Trx = Transaction<Database>;

/** A change to the database: its statements, and the invalidations they cause (published after commit). */
export type ChangeWork<T> = (trx: Trx, changes: Invalidation[]) => Promise<T>;

function parseJsonList<T extends string>(text: string | null, accept: (v: string) => v is T): T[] | null {
  if (text === null) return null;
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed.filter((v): v is T => typeof v === "string" && accept(v)) : null;
}

const anyString = (v: string): v is string => true;
const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

export function toUser(row: UsersTable): UserRecord {
  return {
    id: row.id,
    fullName: row.full_name,
    email: row.email,
    passwordHash: row.password_hash,
    roles: row.roles.split(",").filter((r): r is Role => isRole(r)),
    kind: row.kind as UserKind,
    ownerId: row.owner_id,
    disabled: Number(row.disabled) === 1,
    mustChangePassword: Number(row.must_change_password) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function fromUser(user: UserRecord): UsersTable {
  return {
    id: user.id,
    id_key: user.id.toLowerCase(),
    full_name: user.fullName,
    email: user.email,
    password_hash: user.passwordHash,
    roles: user.roles.join(","),
    kind: user.kind,
    owner_id: user.ownerId,
    disabled: user.disabled ? 1 : 0,
    must_change_password: user.mustChangePassword ? 1 : 0,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
  };
}

function toToken(row: TokensTable): TokenRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    hash: row.hash,
    format: row.format as TokenFormat,
    createdAt: Number(row.created_at),
    expiresAt: num(row.expires_at),
    revokedAt: num(row.revoked_at),
    lastUsedAt: num(row.last_used_at),
    useCount: Number(row.use_count),
    scopes: parseJsonList<Scope>(row.scopes, isScope),
    allowedCidrs: parseJsonList(row.allowed_cidrs, anyString),
    graceUntil: num(row.grace_until),
    replacedBy: row.replaced_by,
  };
}

/** The owner's columns in a token lookup, prefixed `u_` so they do not clash with the token's. */
export const OWNER_COLUMNS = [
  "id",
  "id_key",
  "full_name",
  "email",
  "password_hash",
  "roles",
  "kind",
  "owner_id",
  "disabled",
  "must_change_password",
  "created_at",
  "updated_at",
] as const satisfies readonly (keyof UsersTable)[];

type OwnerPrefixed = { [K in (typeof OWNER_COLUMNS)[number] as `u_${K}`]: UsersTable[K] };
/** A token row joined with its owner's columns. */
export type TokenOwnerRow = TokensTable & OwnerPrefixed;

/** A token row joined with its owner's `u_`-prefixed columns → the token and its owner. */
export function tokenWithOwner(row: TokenOwnerRow): TokenWithOwner {
  const owner = Object.fromEntries(
    OWNER_COLUMNS.map((column) => [column, row[`u_${column}`]]),
  ) as unknown as UsersTable;
  return { token: toToken(row), owner: toUser(owner) };
}

function fromToken(token: TokenRecord): TokensTable {
  return {
    id: token.id,
    user_id: token.userId,
    name: token.name,
    hash: token.hash,
    format: token.format,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    revoked_at: token.revokedAt,
    last_used_at: token.lastUsedAt,
    use_count: token.useCount,
    scopes: token.scopes ? JSON.stringify(token.scopes) : null,
    allowed_cidrs: token.allowedCidrs ? JSON.stringify(token.allowedCidrs) : null,
    grace_until: token.graceUntil,
    replaced_by: token.replacedBy,
  };
}

export type AuditInsertRow = ReturnType<typeof auditRow>;

function auditRow(event: AuditInput) {
  return {
    at: event.at,
    action: event.action,
    actor_user_id: event.actorUserId,
    actor_token_id: event.actorTokenId,
    target_user_id: event.targetUserId,
    target_token_id: event.targetTokenId,
    ip: event.ip,
    user_agent: event.userAgent,
    outcome: event.outcome,
    request_id: event.requestId,
    details: JSON.stringify(event.details),
  };
}

type AuditRow = Omit<AuditTable, "id"> & { id: number | string };

function toEvent(row: AuditRow): AuditEvent {
  return {
    id: Number(row.id),
    at: Number(row.at),
    action: row.action,
    actorUserId: row.actor_user_id,
    actorTokenId: row.actor_token_id,
    targetUserId: row.target_user_id,
    targetTokenId: row.target_token_id,
    ip: row.ip,
    userAgent: row.user_agent,
    outcome: row.outcome as AuditEvent["outcome"],
    requestId: row.request_id,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}

function toDelivery(
  row: Omit<WebhookDeliveriesTable, "id"> & { id: number | string; action: string },
): DeliveryRecord {
  return {
    id: Number(row.id),
    webhookId: row.webhook_id,
    eventId: Number(row.event_id),
    action: row.action,
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
    nextAttemptAt: Number(row.next_attempt_at),
    lastAttemptAt: num(row.last_attempt_at),
    lastStatus: num(row.last_status),
    lastError: row.last_error,
    deliveredAt: num(row.delivered_at),
  };
}

function newDelivery(webhookId: string, eventId: number, at: number) {
  return {
    webhook_id: webhookId,
    event_id: eventId,
    status: "pending",
    attempts: 0,
    created_at: at,
    next_attempt_at: at,
    locked_until: null,
    last_attempt_at: null,
    last_status: null,
    last_error: null,
    delivered_at: null,
  };
}

function toWebhook(row: {
  id: string;
  url: string;
  events: string;
  secret: string;
  created_at: number;
  created_by: string | null;
}): WebhookRecord {
  return {
    id: row.id,
    url: row.url,
    events: parseJsonList(row.events, anyString) ?? [],
    secret: row.secret,
    createdAt: Number(row.created_at),
    createdBy: row.created_by,
  };
}

/** Actions that webhook filters never pick up: a test delivery goes to the one webhook being tested. */
const NOT_BROADCAST = new Set(["webhook.tested"]);

const byId = <T extends { tokenId: string }>(a: T, b: T) =>
  a.tokenId < b.tokenId ? -1 : a.tokenId > b.tokenId ? 1 : 0;

/** Escapes LIKE wildcards so a search for "a_b" matches only that text. */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The Store on Kysely. The queries are the same on SQLite and PostgreSQL; the adapters supply the
 * connection and how invalidations travel to other processes.
 */
export abstract class KyselyStore implements Store {
  private readonly listeners = new Set<(change: Invalidation) => void>();

  protected constructor(
    protected readonly db: Kysely<Database>,
    readonly dialect: "sqlite" | "postgres",
  ) {}

  /** Sends invalidations to other processes, inside the transaction that made the change. */
  protected abstract publish(trx: Trx, changes: readonly Invalidation[]): Promise<void>;
  abstract invalidationsReliable(): boolean;
  abstract close(): Promise<void>;

  protected emit(change: Invalidation): void {
    for (const listener of this.listeners) listener(change);
  }

  onInvalidate(listener: (change: Invalidation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `work` in a transaction; invalidations it collects are published with it and emitted here after commit. */
  protected async change<T>(work: ChangeWork<T>): Promise<T> {
    const changes: Invalidation[] = [];
    const result = await this.db.transaction().execute(async (trx) => {
      const value = await work(trx, changes);
      if (changes.length > 0) await this.publish(trx, changes);
      return value;
    });
    for (const change of changes) this.emit(change);
    return result;
  }

  /**
   * Writes an audit event inside the transaction of the change it records, and queues one delivery of it
   * to every webhook whose filters match: a notification exists exactly when its event does.
   */
  protected async record(trx: Trx, event: AuditInput): Promise<number> {
    const eventId = await this.insertAuditEvent(trx, auditRow(event));
    if (NOT_BROADCAST.has(event.action)) return eventId;
    const hooks = await this.webhookFilters(trx);
    const matching = hooks.filter((hook) =>
      matchesEventFilter(parseJsonList(hook.events, anyString) ?? [], event.action),
    );
    if (matching.length > 0) {
      await trx
        .insertInto("webhook_deliveries")
        .values(matching.map((hook) => newDelivery(hook.id, eventId, event.at)))
        .execute();
    }
    return eventId;
  }

  /** The new event's id. */
  protected async insertAuditEvent(trx: Trx, row: AuditInsertRow): Promise<number> {
    return Number(
      (await trx.insertInto("audit_events").values(row).returning("id").executeTakeFirstOrThrow()).id,
    );
  }

  /** Every webhook's id and event filter (read for each audit event, to queue its deliveries). */
  protected async webhookFilters(trx: Trx): Promise<{ id: string; events: string }[]> {
    return trx.selectFrom("webhooks").select(["id", "events"]).execute();
  }

  protected async insertToken(trx: Trx, row: TokensTable): Promise<void> {
    await trx.insertInto("tokens").values(row).execute();
  }

  async migrate(): Promise<void> {
    const provider = migrationProvider(this.dialect);
    const known = new Set(Object.keys(await provider.getMigrations()));
    const unknown = (await this.appliedMigrations()).filter((name) => !known.has(name));
    if (unknown.length > 0) {
      throw new Error(
        `This database was upgraded by a newer version of Steward: its migrations ${unknown.join(", ")} ` +
          "are unknown to this one. Run that newer version (or a later one), or restore a backup made before the upgrade.",
      );
    }
    const migrator = new Migrator({ db: this.db, provider });
    const { error } = await migrator.migrateToLatest();
    if (error) throw new Error("Database migration failed", { cause: error });
  }

  /** The migrations recorded in the database; none when it has never been migrated. */
  private async appliedMigrations(): Promise<string[]> {
    const tables = await this.db.introspection.getTables({ withInternalKyselyTables: true });
    if (!tables.some((table) => table.name === DEFAULT_MIGRATION_TABLE)) return [];
    const { rows } = await sql<{
      name: string;
    }>`SELECT name FROM ${sql.table(DEFAULT_MIGRATION_TABLE)}`.execute(this.db);
    return rows.map((row) => row.name);
  }

  async ping(): Promise<void> {
    await this.db.selectFrom("settings").select("name").limit(1).execute();
  }

  async pendingMigrations(): Promise<string[]> {
    const known = Object.keys(await migrationProvider(this.dialect).getMigrations());
    const applied = new Set(await this.appliedMigrations());
    return known.filter((name) => !applied.has(name));
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    const existing = await this.db
      .selectFrom("server_secrets")
      .select("value")
      .where("name", "=", name)
      .executeTakeFirst();
    if (existing) return existing.value;
    await this.db
      .insertInto("server_secrets")
      .values({ name, value: create() })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    const row = await this.db
      .selectFrom("server_secrets")
      .select("value")
      .where("name", "=", name)
      .executeTakeFirstOrThrow();
    return row.value;
  }

  async countUsers(): Promise<number> {
    const row = await this.db
      .selectFrom("users")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async createUser(user: UserRecord, event: AuditInput): Promise<void> {
    await this.change(async (trx) => {
      await trx.insertInto("users").values(fromUser(user)).execute();
      await this.record(trx, event);
    });
  }

  async getUser(id: string): Promise<UserRecord | null> {
    const row = await this.db
      .selectFrom("users")
      .selectAll()
      .where("id_key", "=", id.toLowerCase())
      .executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async listUsers(query: UserQuery): Promise<UserRecord[]> {
    let q = this.db.selectFrom("users").selectAll().orderBy("id_key").limit(query.limit);
    if (query.after !== undefined) q = q.where("id_key", ">", query.after.toLowerCase());
    if (query.kind) q = q.where("kind", "=", query.kind);
    if (query.ownerId !== undefined) q = q.where("owner_id", "=", query.ownerId);
    if (query.search) {
      const pattern = likePattern(query.search);
      q = q.where(
        sql<boolean>`(id_key LIKE ${pattern} ESCAPE '\\' OR lower(full_name) LIKE ${pattern} ESCAPE '\\' OR lower(coalesce(email, '')) LIKE ${pattern} ESCAPE '\\')`,
      );
    }
    return (await q.execute()).map(toUser);
  }

  async updateUser(
    id: string,
    patch: UserPatch,
    event: AuditInput | null,
    at: number,
  ): Promise<UserRecord | null> {
    return this.change(async (trx, changes) => {
      const current = await trx
        .selectFrom("users")
        .selectAll()
        .where("id_key", "=", id.toLowerCase())
        .executeTakeFirst();
      if (!current) return null;
      const next = { ...toUser(current), ...patch, updatedAt: at };
      await trx.updateTable("users").set(fromUser(next)).where("id", "=", current.id).execute();
      if (event) await this.record(trx, event);
      // Roles, disabling and ownership change what cached principals may do.
      changes.push({ type: "user", userId: current.id });
      if (patch.disabled || patch.passwordHash !== undefined) {
        await trx.deleteFrom("sessions").where("user_id", "=", current.id).execute();
      }
      return next;
    });
  }

  async deleteUser(id: string, event: AuditInput): Promise<boolean> {
    return this.change(async (trx, changes) => {
      const current = await trx
        .selectFrom("users")
        .select("id")
        .where("id_key", "=", id.toLowerCase())
        .executeTakeFirst();
      if (!current) return false;
      // Lock the user's token rows first, in id order, as addUsage does: the same lock order in both
      // transactions means a delete racing a usage flush waits instead of deadlocking.
      if (this.dialect === "postgres") {
        await trx
          .selectFrom("tokens")
          .select("id")
          .where("user_id", "=", current.id)
          .orderBy("id")
          .forUpdate()
          .execute();
      }
      const tokenIds = trx.selectFrom("tokens").select("id").where("user_id", "=", current.id);
      await trx.deleteFrom("token_addresses").where("token_id", "in", tokenIds).execute();
      await trx.deleteFrom("token_expiry_notices").where("token_id", "in", tokenIds).execute();
      await trx.deleteFrom("tokens").where("user_id", "=", current.id).execute();
      await trx.deleteFrom("sessions").where("user_id", "=", current.id).execute();
      await trx.updateTable("users").set({ owner_id: null }).where("owner_id", "=", current.id).execute();
      await trx.deleteFrom("users").where("id", "=", current.id).execute();
      await this.record(trx, event);
      changes.push({ type: "user", userId: current.id });
      return true;
    });
  }

  async createToken(token: TokenRecord, event: AuditInput): Promise<void> {
    await this.change(async (trx) => {
      await this.insertToken(trx, fromToken(token));
      await this.record(trx, event);
    });
  }

  async findTokenByHash(hash: string): Promise<TokenWithOwner | null> {
    const row = await this.db
      .selectFrom("tokens")
      .innerJoin("users", "users.id", "tokens.user_id")
      .selectAll("tokens")
      .select(OWNER_COLUMNS.map((column) => `users.${column} as u_${column}` as const))
      .where("tokens.hash", "=", hash)
      .executeTakeFirst();
    // The mapped column list is beyond Kysely's inference; the shape is exactly OWNER_COLUMNS prefixed.
    return row ? tokenWithOwner(row as unknown as TokenOwnerRow) : null;
  }

  async getToken(id: string): Promise<TokenRecord | null> {
    const row = await this.db.selectFrom("tokens").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toToken(row) : null;
  }

  async listTokens(userId: string, options: { includeRevoked?: boolean } = {}): Promise<TokenRecord[]> {
    let q = this.db
      .selectFrom("tokens")
      .selectAll()
      .where("user_id", "=", userId)
      .orderBy("created_at")
      .orderBy("id");
    if (!options.includeRevoked) q = q.where("revoked_at", "is", null);
    return (await q.execute()).map(toToken);
  }

  async countLegacyTokenHolders(): Promise<number> {
    const row = await this.db
      .selectFrom("tokens")
      .select((eb) => eb.fn.count<number | string>("user_id").distinct().as("holders"))
      .where("format", "=", "legacy")
      .where("revoked_at", "is", null)
      .executeTakeFirstOrThrow();
    return Number(row.holders);
  }

  async renameToken(id: string, name: string, event: AuditInput): Promise<boolean> {
    return this.change(async (trx) => {
      const result = await trx
        .updateTable("tokens")
        .set({ name })
        .where("id", "=", id)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await this.record(trx, event);
      return true;
    });
  }

  async revokeToken(id: string, at: number, event: AuditInput): Promise<boolean> {
    return this.change(async (trx, changes) => {
      const row = await trx
        .updateTable("tokens")
        .set({ revoked_at: at, grace_until: null })
        .where("id", "=", id)
        .where((eb) => eb.or([eb("revoked_at", "is", null), eb("revoked_at", ">", at)]))
        .returning("hash")
        .executeTakeFirst();
      if (!row) return false;
      await this.record(trx, event);
      changes.push({ type: "token", hash: row.hash });
      return true;
    });
  }

  async revokeTokens(
    userId: string,
    exceptId: string | null,
    at: number,
    event: AuditInput,
  ): Promise<TokenRecord[]> {
    return this.change(async (trx, changes) => {
      let q = trx
        .updateTable("tokens")
        .set({ revoked_at: at, grace_until: null })
        .where("user_id", "=", userId)
        .where((eb) => eb.or([eb("revoked_at", "is", null), eb("revoked_at", ">", at)]));
      if (exceptId !== null) q = q.where("id", "!=", exceptId);
      const rows = (await q.returningAll().execute()).map(toToken);
      await this.record(trx, { ...event, details: { ...event.details, tokenIds: rows.map((t) => t.id) } });
      for (const token of rows) changes.push({ type: "token", hash: token.hash });
      return rows;
    });
  }

  async rotateToken(
    oldId: string,
    next: TokenRecord,
    graceUntil: number | null,
    event: AuditInput,
  ): Promise<boolean> {
    return this.change(async (trx, changes) => {
      const revokedAt = graceUntil ?? next.createdAt;
      const old = await trx
        .updateTable("tokens")
        .set({ revoked_at: revokedAt, grace_until: graceUntil, replaced_by: next.id })
        .where("id", "=", oldId)
        .where("revoked_at", "is", null)
        .where("replaced_by", "is", null)
        .returning("hash")
        .executeTakeFirst();
      if (!old) return false;
      await this.insertToken(trx, fromToken(next));
      await this.record(trx, event);
      changes.push({ type: "token", hash: old.hash });
      return true;
    });
  }

  async addUsage(deltas: readonly UsageDelta[], addresses?: AddressUsage): Promise<void> {
    if (deltas.length === 0) return;
    // Rows are locked in id order, the same in every instance: two instances flushing the same tokens
    // in different orders would otherwise deadlock on PostgreSQL.
    const ordered = [...deltas].sort(byId);
    await this.db.transaction().execute(async (trx) => {
      const owners = new Map<string, string>();
      for (const delta of ordered) {
        const row = await trx
          .updateTable("tokens")
          .set({
            use_count: sql`use_count + ${delta.count}`,
            last_used_at: sql`CASE WHEN last_used_at IS NULL OR last_used_at < ${delta.lastUsedAt} THEN ${delta.lastUsedAt} ELSE last_used_at END`,
          })
          .where("id", "=", delta.tokenId)
          .returning("user_id")
          .executeTakeFirst();
        if (row) owners.set(delta.tokenId, row.user_id);
      }
      if (addresses && addresses.deltas.length > 0) await this.addAddresses(trx, addresses, owners);
    });
  }

  /**
   * The per-address part of a usage flush. The token rows are locked already (above), so two instances
   * flushing the same token take turns here and each sees what the other stored: a new address raises
   * its event once.
   */
  private async addAddresses(trx: Trx, usage: AddressUsage, owners: Map<string, string>): Promise<void> {
    const deltas = usage.deltas
      .filter((d) => owners.has(d.tokenId))
      .sort((a, b) => byId(a, b) || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
    if (deltas.length === 0) return;
    const tokenIds = [...new Set(deltas.map((d) => d.tokenId))];
    const stored: { token_id: string; ip: string }[] = [];
    // In chunks: SQLite refuses more than 32,766 bound values in one statement, and a busy flush
    // interval can touch more tokens than that.
    for (let i = 0; i < tokenIds.length; i += IN_LIST_CHUNK) {
      const chunk = tokenIds.slice(i, i + IN_LIST_CHUNK);
      stored.push(
        ...(await trx
          .selectFrom("token_addresses")
          .select(["token_id", "ip"])
          .where("token_id", "in", chunk)
          .execute()),
      );
    }
    const known = new Map<string, { keys: Set<string>; ips: Set<string> }>();
    const knownOf = (tokenId: string) => {
      let entry = known.get(tokenId);
      if (!entry) {
        entry = { keys: new Set(), ips: new Set() };
        known.set(tokenId, entry);
      }
      return entry;
    };
    for (const row of stored) {
      const entry = knownOf(row.token_id);
      entry.keys.add(addressKey(row.ip, usage.granularity));
      entry.ips.add(row.ip);
    }
    for (const delta of deltas) {
      const entry = knownOf(delta.tokenId);
      const key = addressKey(delta.ip, usage.granularity);
      const firstUse = entry.ips.size === 0;
      await this.upsertAddress(trx, delta);
      entry.ips.add(delta.ip);
      if (entry.keys.has(key)) continue;
      entry.keys.add(key);
      const owner = owners.get(delta.tokenId)!;
      await this.record(trx, {
        at: delta.firstSeenAt,
        action: "token.used.new-ip",
        actorUserId: owner,
        actorTokenId: delta.tokenId,
        targetUserId: owner,
        targetTokenId: delta.tokenId,
        ip: delta.ip,
        userAgent: null,
        outcome: "success",
        requestId: null,
        details: {
          ip: delta.ip,
          tokenId: delta.tokenId,
          granularity: usage.granularity,
          ...(usage.granularity === "subnet" ? { network: key } : {}),
          firstUse,
        },
      });
    }
    for (const [tokenId, entry] of known) {
      if (entry.ips.size > usage.keepPerToken) await this.pruneAddresses(trx, tokenId, usage.keepPerToken);
    }
  }

  /** Adds to an address's counts (never overwrites them: another instance may have added its own). */
  private async upsertAddress(trx: Trx, delta: AddressDelta): Promise<void> {
    await trx
      .insertInto("token_addresses")
      .values({
        token_id: delta.tokenId,
        ip: delta.ip,
        first_seen_at: delta.firstSeenAt,
        last_seen_at: delta.lastSeenAt,
        use_count: delta.count,
      })
      .onConflict((oc) =>
        oc.columns(["token_id", "ip"]).doUpdateSet({
          use_count: sql`token_addresses.use_count + excluded.use_count`,
          last_seen_at: sql`CASE WHEN excluded.last_seen_at > token_addresses.last_seen_at THEN excluded.last_seen_at ELSE token_addresses.last_seen_at END`,
          first_seen_at: sql`CASE WHEN excluded.first_seen_at < token_addresses.first_seen_at THEN excluded.first_seen_at ELSE token_addresses.first_seen_at END`,
        }),
      )
      .execute();
  }

  /** Keeps the `keep` most recently seen addresses of a token. */
  private async pruneAddresses(trx: Trx, tokenId: string, keep: number): Promise<void> {
    await trx
      .deleteFrom("token_addresses")
      .where("token_id", "=", tokenId)
      .where("ip", "not in", (eb) =>
        eb
          .selectFrom("token_addresses")
          .select("ip")
          .where("token_id", "=", tokenId)
          .orderBy("last_seen_at", "desc")
          .orderBy("ip")
          .limit(keep),
      )
      .execute();
  }

  async listTokenAddresses(tokenId: string): Promise<TokenAddress[]> {
    const rows = await this.db
      .selectFrom("token_addresses")
      .selectAll()
      .where("token_id", "=", tokenId)
      .orderBy("last_seen_at", "desc")
      .orderBy("ip")
      .execute();
    return rows.map((row) => ({
      ip: row.ip,
      firstSeenAt: Number(row.first_seen_at),
      lastSeenAt: Number(row.last_seen_at),
      useCount: Number(row.use_count),
    }));
  }

  async countTokens(): Promise<number> {
    const row = await this.db
      .selectFrom("tokens")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async createSession(session: SessionRecord, event?: AuditInput): Promise<void> {
    const row = {
      id_hash: session.idHash,
      user_id: session.userId,
      created_at: session.createdAt,
      expires_at: session.expiresAt,
    };
    if (!event) {
      await this.db.insertInto("sessions").values(row).execute();
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto("sessions").values(row).execute();
      await this.record(trx, event);
    });
  }

  async getSession(idHash: string): Promise<SessionRecord | null> {
    const row = await this.db
      .selectFrom("sessions")
      .selectAll()
      .where("id_hash", "=", idHash)
      .executeTakeFirst();
    if (!row) return null;
    return {
      idHash: row.id_hash,
      userId: row.user_id,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    };
  }

  async deleteSession(idHash: string, event?: AuditInput): Promise<void> {
    if (!event) {
      await this.db.deleteFrom("sessions").where("id_hash", "=", idHash).execute();
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom("sessions").where("id_hash", "=", idHash).executeTakeFirst();
      if (Number(result.numDeletedRows) > 0) await this.record(trx, event);
    });
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    const result = await this.db.deleteFrom("sessions").where("expires_at", "<=", now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async recordAuthFailure(key: string, windowStart: number, windowEnd: number): Promise<number> {
    return this.addAuthFailure(this.db, key, windowStart, windowEnd);
  }

  /** One statement: concurrent failures on several instances each add 1 and see the sum so far. */
  protected async addAuthFailure(
    db: Kysely<Database>,
    key: string,
    windowStart: number,
    windowEnd: number,
  ): Promise<number> {
    const row = await db
      .insertInto("auth_failures")
      .values({ key, window_start: windowStart, window_end: windowEnd, failures: 1 })
      .onConflict((oc) =>
        oc.columns(["key", "window_start"]).doUpdateSet({ failures: sql`auth_failures.failures + 1` }),
      )
      .returning("failures")
      .executeTakeFirstOrThrow();
    return Number(row.failures);
  }

  async countAuthFailures(key: string, windowStart: number): Promise<number> {
    const row = await this.db
      .selectFrom("auth_failures")
      .select("failures")
      .where("key", "=", key)
      .where("window_start", "=", windowStart)
      .executeTakeFirst();
    return row ? Number(row.failures) : 0;
  }

  async deleteExpiredAuthFailures(now: number): Promise<number> {
    const result = await this.db
      .deleteFrom("auth_failures")
      .where("window_end", "<=", now)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async getSettings(): Promise<Settings> {
    const rows = await this.db.selectFrom("settings").selectAll().execute();
    const stored = Object.fromEntries(rows.map((r) => [r.name, JSON.parse(r.value) as unknown]));
    const settings: Settings = { ...DEFAULT_SETTINGS };
    for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof Settings)[]) {
      if (key in stored) (settings as unknown as Record<string, unknown>)[key] = stored[key];
    }
    return settings;
  }

  async updateSettings(patch: Partial<Settings>, event: AuditInput): Promise<Settings> {
    await this.change(async (trx, changes) => {
      for (const [name, value] of Object.entries(patch)) {
        await trx
          .insertInto("settings")
          .values({ name, value: JSON.stringify(value) })
          .onConflict((oc) => oc.column("name").doUpdateSet({ value: JSON.stringify(value) }))
          .execute();
      }
      await this.record(trx, event);
      // Policy changes (e.g. password over Basic, legacy tokens) affect what cached verifications allow.
      changes.push({ type: "all" });
    });
    return this.getSettings();
  }

  async appendAudit(event: AuditInput): Promise<void> {
    await this.db.transaction().execute((trx) => this.record(trx, event));
  }

  async queryAudit(query: AuditQuery): Promise<AuditEvent[]> {
    let q = this.db
      .selectFrom("audit_events")
      .selectAll()
      .orderBy("id", query.order === "asc" ? "asc" : "desc")
      .limit(query.limit);
    if (query.userId) {
      const user = query.userId;
      q = q.where((eb) => eb.or([eb("actor_user_id", "=", user), eb("target_user_id", "=", user)]));
    }
    if (query.tokenId) {
      const token = query.tokenId;
      q = q.where((eb) => eb.or([eb("actor_token_id", "=", token), eb("target_token_id", "=", token)]));
    }
    if (query.action) {
      // "token.*" is a prefix, compared exactly: LIKE would treat "_" and "%" in it as wildcards, and is
      // case-insensitive on SQLite but not on PostgreSQL.
      const prefix = query.action.endsWith(".*") ? query.action.slice(0, -1) : null;
      q =
        prefix === null
          ? q.where("action", "=", query.action)
          : q.where(sql<boolean>`substr(action, 1, ${[...prefix].length}) = ${prefix}`);
    }
    if (query.since !== undefined) q = q.where("at", ">=", query.since);
    if (query.until !== undefined) q = q.where("at", "<", query.until);
    if (query.before !== undefined) q = q.where("id", "<", query.before);
    if (query.after !== undefined) q = q.where("id", ">", query.after);
    return (await q.execute()).map(toEvent);
  }

  async createWebhook(webhook: WebhookRecord, event: AuditInput): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // The event first: a new webhook is not sent the news of its own creation.
      await this.record(trx, event);
      await trx
        .insertInto("webhooks")
        .values({
          id: webhook.id,
          url: webhook.url,
          events: JSON.stringify(webhook.events),
          secret: webhook.secret,
          created_at: webhook.createdAt,
          created_by: webhook.createdBy,
        })
        .execute();
    });
  }

  async getWebhook(id: string): Promise<WebhookRecord | null> {
    const row = await this.db.selectFrom("webhooks").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toWebhook(row) : null;
  }

  async listWebhooks(): Promise<WebhookRecord[]> {
    const rows = await this.db
      .selectFrom("webhooks")
      .selectAll()
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(toWebhook);
  }

  async deleteWebhook(id: string, event: AuditInput): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom("webhooks").where("id", "=", id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await trx.deleteFrom("webhook_deliveries").where("webhook_id", "=", id).execute();
      await this.record(trx, event);
      return true;
    });
  }

  async queueTestDelivery(webhookId: string, event: AuditInput): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const hook = await trx
        .selectFrom("webhooks")
        .select("id")
        .where("id", "=", webhookId)
        .executeTakeFirst();
      if (!hook) return false;
      const eventId = await this.record(trx, event);
      await trx
        .insertInto("webhook_deliveries")
        .values(newDelivery(hook.id, eventId, event.at))
        .execute();
      return true;
    });
  }

  async claimDeliveries(now: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    let due = this.db
      .selectFrom("webhook_deliveries")
      .select("id")
      .where("status", "=", "pending")
      .where("next_attempt_at", "<=", now)
      .where((eb) => eb.or([eb("locked_until", "is", null), eb("locked_until", "<=", now)]))
      .orderBy("next_attempt_at")
      .orderBy("id")
      .limit(limit);
    // One statement, so the claim is atomic. Several instances poll one queue: on PostgreSQL each skips
    // the rows another is claiming at that moment, and the lease keeps the others away while that one
    // sends them (a sender that dies lets its lease run out, and the delivery is sent by another).
    // SQLite has a single writer.
    if (this.dialect === "postgres") due = due.forUpdate().skipLocked();
    const claimed = await this.db
      .updateTable("webhook_deliveries")
      .set({ locked_until: now + leaseMs })
      .where("id", "in", due)
      .returning("id")
      .execute();
    const ids = claimed.map((row) => Number(row.id));
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom("webhook_deliveries as d")
      .innerJoin("webhooks as w", "w.id", "d.webhook_id")
      .innerJoin("audit_events as e", "e.id", "d.event_id")
      .selectAll("e")
      .select([
        "d.id as d_id",
        "d.webhook_id as d_webhook_id",
        "d.event_id as d_event_id",
        "d.status as d_status",
        "d.attempts as d_attempts",
        "d.created_at as d_created_at",
        "d.next_attempt_at as d_next_attempt_at",
        "d.locked_until as d_locked_until",
        "d.last_attempt_at as d_last_attempt_at",
        "d.last_status as d_last_status",
        "d.last_error as d_last_error",
        "d.delivered_at as d_delivered_at",
        "w.url as w_url",
        "w.secret as w_secret",
      ])
      .where("d.id", "in", ids)
      .orderBy("d.id")
      .execute();
    return rows.map((row) => ({
      delivery: toDelivery({
        id: row.d_id,
        webhook_id: row.d_webhook_id,
        event_id: row.d_event_id,
        status: row.d_status,
        attempts: row.d_attempts,
        created_at: row.d_created_at,
        next_attempt_at: row.d_next_attempt_at,
        locked_until: row.d_locked_until,
        last_attempt_at: row.d_last_attempt_at,
        last_status: row.d_last_status,
        last_error: row.d_last_error,
        delivered_at: row.d_delivered_at,
        action: row.action,
      }),
      url: row.w_url,
      secret: row.w_secret,
      event: toEvent(row),
    }));
  }

  async finishDelivery(id: number, outcome: DeliveryOutcome): Promise<void> {
    await this.db
      .updateTable("webhook_deliveries")
      .set({
        status: outcome.status,
        attempts: sql`attempts + 1`,
        last_attempt_at: outcome.at,
        last_status: outcome.lastStatus,
        last_error: outcome.lastError === null ? null : outcome.lastError.slice(0, 500),
        delivered_at: outcome.status === "delivered" ? outcome.at : null,
        locked_until: null,
        ...(outcome.nextAttemptAt === null ? {} : { next_attempt_at: outcome.nextAttemptAt }),
      })
      .where("id", "=", id)
      .execute();
  }

  async listDeliveries(
    webhookId: string,
    query: { before?: number; limit: number },
  ): Promise<DeliveryRecord[]> {
    let q = this.db
      .selectFrom("webhook_deliveries as d")
      .innerJoin("audit_events as e", "e.id", "d.event_id")
      .selectAll("d")
      .select("e.action as action")
      .where("d.webhook_id", "=", webhookId)
      .orderBy("d.id", "desc")
      .limit(query.limit);
    if (query.before !== undefined) q = q.where("d.id", "<", query.before);
    return (await q.execute()).map(toDelivery);
  }

  async findExpiryNoticesDue(query: ExpiryNoticeQuery): Promise<TokenWithOwner[]> {
    const rows = await this.db
      .selectFrom("tokens")
      .selectAll()
      .where("revoked_at", "is", null)
      .where("expires_at", ">", query.from)
      .where("expires_at", "<=", query.to)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("token_expiry_notices as n")
              .select("n.token_id")
              .whereRef("n.token_id", "=", "tokens.id")
              .where("n.threshold_days", "<=", query.thresholdDays),
          ),
        ),
      )
      .orderBy("expires_at")
      .orderBy("id")
      .limit(query.limit)
      .execute();
    if (rows.length === 0) return [];
    const owners = await this.db
      .selectFrom("users")
      .selectAll()
      .where("id", "in", [...new Set(rows.map((r) => r.user_id))])
      .execute();
    const ownerById = new Map(owners.map((row) => [row.id, toUser(row)]));
    return rows.flatMap((row) => {
      const owner = ownerById.get(row.user_id);
      return owner ? [{ token: toToken(row), owner }] : [];
    });
  }

  async recordExpiryNotice(tokenId: string, thresholdDays: number, event: AuditInput): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .insertInto("token_expiry_notices")
        .values({ token_id: tokenId, threshold_days: thresholdDays, sent_at: event.at })
        .onConflict((oc) => oc.columns(["token_id", "threshold_days"]).doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      await this.record(trx, event);
      return true;
    });
  }
}
