import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, type SqliteDatabase, SqliteDialect, sql } from "kysely";
import { LRUCache } from "lru-cache";
import {
  type AuditInsertRow,
  type ChangeWork,
  KyselyStore,
  OWNER_COLUMNS,
  type TokenOwnerRow,
  type Trx,
  tokenWithOwner,
  toUser,
} from "../kysely-store.js";
import type { Database, SessionsTable, TokensTable, UsersTable } from "../schema.js";
import type { Invalidation, SessionRecord, TokenWithOwner, UserRecord } from "../store.js";
import { GroupCommit } from "./group-commit.js";

/** How often to look for commits made by other processes (e.g. `steward token revoke` from the CLI). */
const EXTERNAL_CHANGE_POLL_MS = 50;

/** Distinct SQL texts kept prepared (`IN (…)` lists of varying length make new texts; the rest are few). */
const PREPARED_STATEMENTS = 256;

/** Each SQL text prepared once, on first use (the most recently used texts are kept). */
class PreparedStatements {
  private readonly prepared = new LRUCache<string, BetterSqlite3.Statement>({ max: PREPARED_STATEMENTS });

  constructor(private readonly raw: BetterSqlite3.Database) {}

  get(text: string): BetterSqlite3.Statement {
    let statement = this.prepared.get(text);
    if (statement === undefined) {
      statement = this.raw.prepare(text);
      this.prepared.set(text, statement);
    }
    return statement;
  }
}

/**
 * The connection as Kysely sees it, with each SQL text prepared once: Kysely prepares every query anew,
 * which costs more than running it. Safe because Kysely never streams here, so no statement is ever
 * still iterating when it runs again.
 */
function kyselyConnection(raw: BetterSqlite3.Database, statements: PreparedStatements): SqliteDatabase {
  return { close: () => raw.close(), prepare: (text) => statements.get(text) };
}

/**
 * SQLite adapter: one connection in WAL mode with full fsync, so an acknowledged change survives a crash.
 * Changes made by another process are detected through `PRAGMA data_version` and drop every cached
 * verification (they are rare: the CLI, or a second server on the same file).
 */
export class SqliteStore extends KyselyStore {
  private readonly poller: NodeJS.Timeout;
  private lastDataVersion: number;
  private hotStatements: ReturnType<SqliteStore["prepareHotReads"]> | null = null;
  private readonly commits: GroupCommit;

  private constructor(
    private readonly raw: BetterSqlite3.Database,
    private readonly statements: PreparedStatements,
    db: Kysely<Database>,
  ) {
    super(db, "sqlite");
    this.commits = new GroupCommit(db, (change) => this.emit(change));
    this.lastDataVersion = this.dataVersion();
    this.poller = setInterval(() => this.checkExternalChanges(), EXTERNAL_CHANGE_POLL_MS);
    this.poller.unref();
  }

  /** Opens (creating if needed) the database file; `:memory:` for a private in-memory database. */
  static open(filename: string): SqliteStore {
    if (filename !== ":memory:") {
      // Hashes and server secrets live here: a new folder and file are the owner's alone. SQLite gives
      // its -wal and -shm files the database file's permissions.
      mkdirSync(dirname(filename), { recursive: true, mode: 0o700 });
      closeSync(openSync(filename, "a", 0o600));
    }
    const raw = new BetterSqlite3(filename);
    raw.pragma("journal_mode = WAL");
    raw.pragma("synchronous = FULL");
    raw.pragma("busy_timeout = 5000");
    raw.pragma("foreign_keys = ON");
    // 64 MiB of page cache (the default is 2 MiB): keeps the token hash index hot with millions of tokens.
    raw.pragma("cache_size = -65536");
    const statements = new PreparedStatements(raw);
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: kyselyConnection(raw, statements) }),
    });
    return new SqliteStore(raw, statements, db);
  }

  /**
   * The reads on the request path — a token lookup on a cache miss, a browser request's session and
   * user — as statements prepared once: through Kysely each call would be compiled and prepared anew,
   * which costs several times the lookup itself. Prepared on first use (after migrations).
   */
  private prepareHotReads() {
    const owner = OWNER_COLUMNS.map((column) => `users.${column} AS u_${column}`).join(", ");
    return {
      token: this.raw.prepare<[string], TokenOwnerRow>(
        `SELECT tokens.*, ${owner} FROM tokens JOIN users ON users.id = tokens.user_id WHERE tokens.hash = ?`,
      ),
      user: this.raw.prepare<[string], UsersTable>("SELECT * FROM users WHERE id_key = ?"),
      session: this.raw.prepare<[string], SessionsTable>("SELECT * FROM sessions WHERE id_hash = ?"),
    };
  }

  /**
   * The prepared reads, or null while a transaction is open on the connection: it may belong to
   * another request between two awaits, and a read must never see a change that is not committed.
   * Kysely's path then waits its turn.
   */
  private hot() {
    if (this.raw.inTransaction || !this.raw.open) return null;
    this.hotStatements ??= this.prepareHotReads();
    return this.hotStatements;
  }

  /**
   * The inserts every token creation and every audit event make, and the webhook filters each event
   * reads, without Kysely's query building and compiling (several times the cost of the insert itself).
   * Only ever called inside a change, so they run in its transaction on the one connection.
   */
  protected override async insertToken(_trx: Trx, row: TokensTable): Promise<void> {
    this.insert("tokens", row);
  }

  /** The new event's id is the last inserted row id: RETURNING would cost several times the insert. */
  protected override async insertAuditEvent(_trx: Trx, row: AuditInsertRow): Promise<number> {
    return Number(this.insert("audit_events", row).lastInsertRowid);
  }

  protected override async webhookFilters(_trx: Trx): Promise<{ id: string; events: string }[]> {
    return this.statements.get("SELECT id, events FROM webhooks").all() as { id: string; events: string }[];
  }

  /**
   * `INSERT INTO table (…the row's columns…)`, values bound by name. Refused outside a transaction: a
   * change and its audit event must commit together, never one without the other.
   */
  private insert(table: string, row: object): BetterSqlite3.RunResult {
    if (!this.raw.inTransaction) throw new Error(`An insert into ${table} outside a transaction`);
    const columns = Object.keys(row);
    const text = `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((c) => `@${c}`).join(", ")})`;
    return this.statements.get(text).run(row);
  }

  override async findTokenByHash(hash: string): Promise<TokenWithOwner | null> {
    const hot = this.hot();
    if (!hot) return super.findTokenByHash(hash);
    const row = hot.token.get(hash);
    return row ? tokenWithOwner(row) : null;
  }

  override async getUser(id: string): Promise<UserRecord | null> {
    const hot = this.hot();
    if (!hot) return super.getUser(id);
    const row = hot.user.get(id.toLowerCase());
    return row ? toUser(row) : null;
  }

  override async getSession(idHash: string): Promise<SessionRecord | null> {
    const hot = this.hot();
    if (!hot) return super.getSession(idHash);
    const row = hot.session.get(idHash);
    return row
      ? {
          idHash: row.id_hash,
          userId: row.user_id,
          createdAt: Number(row.created_at),
          expiresAt: Number(row.expires_at),
        }
      : null;
  }

  private dataVersion(): number {
    return Number(this.raw.pragma("data_version", { simple: true }));
  }

  private checkExternalChanges(): void {
    if (!this.raw.open) return;
    const version = this.dataVersion();
    if (version !== this.lastDataVersion) {
      this.lastDataVersion = version;
      this.emit({ type: "all" });
    }
  }

  protected async publish(_trx: unknown, _changes: readonly Invalidation[]): Promise<void> {
    // Other processes notice through data_version; this process is told after commit.
  }

  /** Changes share commits (one fsync for all that arrive together): see GroupCommit. */
  protected override change<T>(work: ChangeWork<T>): Promise<T> {
    return this.commits.submit(work);
  }

  /**
   * Written on every failed authentication, so without an fsync: better-sqlite3 is synchronous, and an
   * fsync (~1 ms) would stall every request in the process, valid tokens included, during a flood of
   * failures from many addresses. In WAL mode, `synchronous = NORMAL` still keeps the write if the
   * process crashes; only a power loss can lose the last counts, which is harmless for a rate limit.
   * On one held connection, so that no other statement runs meanwhile with the weaker setting.
   */
  override async recordAuthFailure(key: string, windowStart: number, windowEnd: number): Promise<number> {
    return this.db.connection().execute(async (db) => {
      await sql`PRAGMA synchronous = NORMAL`.execute(db);
      try {
        return await this.addAuthFailure(db, key, windowStart, windowEnd);
      } finally {
        await sql`PRAGMA synchronous = FULL`.execute(db);
      }
    });
  }

  invalidationsReliable(): boolean {
    return true;
  }

  /** Runs SQLite's own consistency check; "ok" when the file is sound. */
  integrityCheck(): string {
    return String(this.raw.pragma("integrity_check", { simple: true }));
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    await this.db.destroy();
  }
}
