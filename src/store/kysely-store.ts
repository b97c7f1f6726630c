import { type Kysely, Migrator, sql, type Transaction } from "kysely";
import { isRole, isScope, type Role, type Scope, type UserKind } from "../core/permissions.js";
import { DEFAULT_SETTINGS, type Settings } from "../core/settings.js";
import type { TokenFormat } from "../core/token-format.js";
import { migrationProvider } from "./migrations/index.js";
import type { Database, TokensTable, UsersTable } from "./schema.js";
import type {
  AuditEvent,
  AuditInput,
  AuditQuery,
  Invalidation,
  SessionRecord,
  Store,
  TokenRecord,
  TokenWithOwner,
  UsageDelta,
  UserPatch,
  UserQuery,
  UserRecord,
} from "./store.js";

type Trx = Transaction<Database>;

function parseJsonList<T extends string>(text: string | null, accept: (v: string) => v is T): T[] | null {
  if (text === null) return null;
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed.filter((v): v is T => typeof v === "string" && accept(v)) : null;
}

const anyString = (v: string): v is string => true;
const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

function toUser(row: UsersTable): UserRecord {
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
  protected async change<T>(work: (trx: Trx, changes: Invalidation[]) => Promise<T>): Promise<T> {
    const changes: Invalidation[] = [];
    const result = await this.db.transaction().execute(async (trx) => {
      const value = await work(trx, changes);
      if (changes.length > 0) await this.publish(trx, changes);
      return value;
    });
    for (const change of changes) this.emit(change);
    return result;
  }

  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.db, provider: migrationProvider(this.dialect) });
    const { error } = await migrator.migrateToLatest();
    if (error) throw new Error("Database migration failed", { cause: error });
  }

  async ping(): Promise<void> {
    await this.db.selectFrom("settings").select("name").limit(1).execute();
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
      await trx.insertInto("audit_events").values(auditRow(event)).execute();
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
      if (event) await trx.insertInto("audit_events").values(auditRow(event)).execute();
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
      await trx.deleteFrom("tokens").where("user_id", "=", current.id).execute();
      await trx.deleteFrom("sessions").where("user_id", "=", current.id).execute();
      await trx.updateTable("users").set({ owner_id: null }).where("owner_id", "=", current.id).execute();
      await trx.deleteFrom("users").where("id", "=", current.id).execute();
      await trx.insertInto("audit_events").values(auditRow(event)).execute();
      changes.push({ type: "user", userId: current.id });
      return true;
    });
  }

  async createToken(token: TokenRecord, event: AuditInput): Promise<void> {
    await this.change(async (trx) => {
      await trx.insertInto("tokens").values(fromToken(token)).execute();
      await trx.insertInto("audit_events").values(auditRow(event)).execute();
    });
  }

  async findTokenByHash(hash: string): Promise<TokenWithOwner | null> {
    const row = await this.db
      .selectFrom("tokens")
      .innerJoin("users", "users.id", "tokens.user_id")
      .selectAll("tokens")
      .select([
        "users.id as u_id",
        "users.id_key as u_id_key",
        "users.full_name as u_full_name",
        "users.email as u_email",
        "users.password_hash as u_password_hash",
        "users.roles as u_roles",
        "users.kind as u_kind",
        "users.owner_id as u_owner_id",
        "users.disabled as u_disabled",
        "users.must_change_password as u_must_change_password",
        "users.created_at as u_created_at",
        "users.updated_at as u_updated_at",
      ])
      .where("tokens.hash", "=", hash)
      .executeTakeFirst();
    if (!row) return null;
    const owner = toUser({
      id: row.u_id,
      id_key: row.u_id_key,
      full_name: row.u_full_name,
      email: row.u_email,
      password_hash: row.u_password_hash,
      roles: row.u_roles,
      kind: row.u_kind,
      owner_id: row.u_owner_id,
      disabled: row.u_disabled,
      must_change_password: row.u_must_change_password,
      created_at: row.u_created_at,
      updated_at: row.u_updated_at,
    });
    return { token: toToken(row), owner };
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

  async renameToken(id: string, name: string, event: AuditInput): Promise<boolean> {
    return this.change(async (trx) => {
      const result = await trx
        .updateTable("tokens")
        .set({ name })
        .where("id", "=", id)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await trx.insertInto("audit_events").values(auditRow(event)).execute();
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
      await trx.insertInto("audit_events").values(auditRow(event)).execute();
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
      await trx
        .insertInto("audit_events")
        .values(auditRow({ ...event, details: { ...event.details, tokenIds: rows.map((t) => t.id) } }))
        .execute();
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
      await trx.insertInto("tokens").values(fromToken(next)).execute();
      await trx.insertInto("audit_events").values(auditRow(event)).execute();
      changes.push({ type: "token", hash: old.hash });
      return true;
    });
  }

  async addUsage(deltas: readonly UsageDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    // Rows are locked in id order, the same in every instance: two instances flushing the same tokens
    // in different orders would otherwise deadlock on PostgreSQL.
    const ordered = [...deltas].sort((a, b) => (a.tokenId < b.tokenId ? -1 : a.tokenId > b.tokenId ? 1 : 0));
    await this.db.transaction().execute(async (trx) => {
      for (const delta of ordered) {
        await trx
          .updateTable("tokens")
          .set({
            use_count: sql`use_count + ${delta.count}`,
            last_used_at: sql`CASE WHEN last_used_at IS NULL OR last_used_at < ${delta.lastUsedAt} THEN ${delta.lastUsedAt} ELSE last_used_at END`,
          })
          .where("id", "=", delta.tokenId)
          .execute();
      }
    });
  }

  async countTokens(): Promise<number> {
    const row = await this.db
      .selectFrom("tokens")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async createSession(session: SessionRecord): Promise<void> {
    await this.db
      .insertInto("sessions")
      .values({
        id_hash: session.idHash,
        user_id: session.userId,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
      })
      .execute();
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

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom("sessions").where("id_hash", "=", idHash).execute();
  }

  async deleteExpiredSessions(now: number): Promise<number> {
    const result = await this.db.deleteFrom("sessions").where("expires_at", "<=", now).executeTakeFirst();
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
      await trx.insertInto("audit_events").values(auditRow(event)).execute();
      // Policy changes (e.g. password over Basic, legacy tokens) affect what cached verifications allow.
      changes.push({ type: "all" });
    });
    return this.getSettings();
  }

  async appendAudit(event: AuditInput): Promise<void> {
    await this.db.insertInto("audit_events").values(auditRow(event)).execute();
  }

  async queryAudit(query: AuditQuery): Promise<AuditEvent[]> {
    let q = this.db.selectFrom("audit_events").selectAll().orderBy("id", "desc").limit(query.limit);
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
    const rows = await q.execute();
    return rows.map((row) => ({
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
    }));
  }
}
