import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { KyselyStore } from "../kysely-store.js";
import type { Database } from "../schema.js";
import type { Invalidation } from "../store.js";

/** How often to look for commits made by other processes (e.g. `steward token revoke` from the CLI). */
const EXTERNAL_CHANGE_POLL_MS = 50;

/**
 * SQLite adapter: one connection in WAL mode with full fsync, so an acknowledged change survives a crash.
 * Changes made by another process are detected through `PRAGMA data_version` and drop every cached
 * verification (they are rare: the CLI, or a second server on the same file).
 */
export class SqliteStore extends KyselyStore {
  private readonly poller: NodeJS.Timeout;
  private lastDataVersion: number;

  private constructor(
    private readonly raw: BetterSqlite3.Database,
    db: Kysely<Database>,
  ) {
    super(db, "sqlite");
    this.lastDataVersion = this.dataVersion();
    this.poller = setInterval(() => this.checkExternalChanges(), EXTERNAL_CHANGE_POLL_MS);
    this.poller.unref();
  }

  /** Opens (creating if needed) the database file; `:memory:` for a private in-memory database. */
  static open(filename: string): SqliteStore {
    if (filename !== ":memory:") mkdirSync(dirname(filename), { recursive: true });
    const raw = new BetterSqlite3(filename);
    raw.pragma("journal_mode = WAL");
    raw.pragma("synchronous = FULL");
    raw.pragma("busy_timeout = 5000");
    raw.pragma("foreign_keys = ON");
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
    return new SqliteStore(raw, db);
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
