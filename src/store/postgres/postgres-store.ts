import { Kysely, PostgresDialect, sql, type Transaction } from "kysely";
import pg from "pg";
import { KyselyStore } from "../kysely-store.js";
import type { Database } from "../schema.js";
import type { Invalidation } from "../store.js";
import { INVALIDATION_CHANNEL, InvalidationListener } from "./invalidation-listener.js";

export interface PostgresOptions {
  /** Most connections the pool opens (the listener uses one more). Default 10. */
  poolSize?: number;
  /** The server cancels any statement running longer than this. Default 30 s. */
  statementTimeoutMs?: number;
  /** Give up connecting (or waiting for a free pooled connection) after this long. Default 5 s. */
  connectTimeoutMs?: number;
}

const DEFAULTS: Required<PostgresOptions> = {
  poolSize: 10,
  statementTimeoutMs: 10_000,
  connectTimeoutMs: 5_000,
};

/** Shows up in pg_stat_activity, so operators (and tests) can tell Steward's connections apart. */
const APPLICATION_NAME = "steward";
const LISTENER_APPLICATION_NAME = "steward-listener";

/**
 * Times and counters are `bigint` columns, which pg returns as strings by default. They are
 * milliseconds and use counts, far below 2^53, so plain numbers are exact. Set on these connections
 * only, not through pg's process-wide `setTypeParser`, which would change every other pg user too.
 */
function typeParsers(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  return types;
}

/**
 * PostgreSQL adapter, for several Steward instances sharing one database. Each change publishes its
 * invalidations with NOTIFY inside its own transaction (so they are sent exactly when it commits), and
 * every instance LISTENs on a dedicated connection to drop its cached verifications.
 *
 * @example
 * const store = await PostgresStore.open("postgres://steward:secret@db:5432/steward");
 * await store.migrate();
 */
export class PostgresStore extends KyselyStore {
  private readonly listener: InvalidationListener;

  private constructor(db: Kysely<Database>, listenerConfig: pg.ClientConfig) {
    super(db, "postgres");
    this.listener = new InvalidationListener(listenerConfig, (change) => this.emit(change));
  }

  /** Connects and starts listening; throws an Error with a readable message (and `cause`) if it cannot. */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const settings = { ...DEFAULTS };
    for (const [key, value] of Object.entries(options) as [keyof PostgresOptions, number | undefined][]) {
      if (value !== undefined) settings[key] = value;
    }
    const where = describeUrl(url);
    const base: pg.ClientConfig = {
      connectionString: url,
      connectionTimeoutMillis: settings.connectTimeoutMs,
      types: typeParsers(),
    };
    const pool = new pg.Pool({
      ...base,
      max: settings.poolSize,
      statement_timeout: settings.statementTimeoutMs,
      // Client-side bound too: on a network partition the server never answers, so only this ends the wait.
      query_timeout: settings.statementTimeoutMs + 1000,
      application_name: APPLICATION_NAME,
      keepAlive: true,
    });
    // An idle pooled connection that dies (server restart, admin kill) is only reported here; the pool
    // replaces it on next use. Unhandled, the event would crash the process.
    pool.on("error", () => undefined);
    // While a connection is checked out the pool does not listen for its errors, and pg emits 'error'
    // when the socket closes even after failing the query in flight (a restart kills every connection):
    // without this listener that would crash the process. The failed query reports the problem; the
    // broken connection is dropped by the pool when released.
    pool.on("connect", (client) => {
      client.on("error", () => undefined);
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const store = new PostgresStore(db, {
      ...base,
      keepAlive: true,
      application_name: LISTENER_APPLICATION_NAME,
    });
    try {
      // Fail at start, not on first use, if the server cannot be reached. Through Kysely, so that from
      // here on it owns the pool and `close()` always ends it.
      await sql`SELECT 1`.execute(db);
      await store.listener.start();
    } catch (error) {
      await store.close();
      throw connectionError(error, where);
    }
    return store;
  }

  /** Same migrations, with a clearer message when the database user may not create tables. */
  override async migrate(): Promise<void> {
    try {
      await super.migrate();
    } catch (error) {
      if (sqlState(error) !== "42501") throw error;
      throw new Error(
        "The PostgreSQL user may not create Steward's tables. Grant it CREATE on the schema (e.g. " +
          '"GRANT CREATE ON SCHEMA public TO steward"), or run `steward migrate` once as the owner.',
        { cause: error },
      );
    }
  }

  /**
   * Runs a change like every adapter, but retries it (up to 3 attempts) when PostgreSQL aborted it as a
   * deadlock victim or for a serialization failure: two instances touching the same rows at once (a user
   * deleted while another instance flushes its tokens' usage) is normal here, and PostgreSQL's advice is
   * to retry. A change's work is database statements only, so running it again is safe.
   */
  protected override async change<T>(
    work: (trx: Transaction<Database>, changes: Invalidation[]) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await super.change(work);
      } catch (error) {
        const state = sqlState(error);
        if (attempt >= 3 || (state !== "40P01" && state !== "40001")) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40 * attempt));
      }
    }
  }

  /** One NOTIFY per change, all in one statement; delivered to listeners only if the transaction commits. */
  protected async publish(trx: Transaction<Database>, changes: readonly Invalidation[]): Promise<void> {
    const payloads = changes.map((change) => JSON.stringify(change));
    const notify = sql`SELECT pg_notify(${INVALIDATION_CHANNEL}, p) FROM unnest(${payloads}::text[]) AS p`;
    await notify.execute(trx);
  }

  invalidationsReliable(): boolean {
    return this.listener.reliable;
  }

  async close(): Promise<void> {
    await this.listener.stop();
    await this.db.destroy();
  }
}

/** "host:port/database as user" without the password, for messages. */
function describeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new Error("The PostgreSQL URL is not valid (expected postgres://user:password@host:5432/db)", {
      cause: error,
    });
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new Error(`The PostgreSQL URL must start with postgres:// (got "${parsed.protocol}//").`);
  }
  const user = decodeURIComponent(parsed.username) || "(default user)";
  return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}${parsed.pathname} as ${user}`;
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause ? sqlState(cause) : undefined;
}

/** Turns a start-up failure into a message an operator can act on; the original stays as `cause`. */
function connectionError(error: unknown, where: string): Error {
  // Phrased to read well with the driver's own message appended (as the CLI does with `cause`).
  const reasons: Record<string, string> = {
    ECONNREFUSED: "connection refused (is the server running and listening on that host and port?)",
    ENOTFOUND: "host not found (check the host name in the URL)",
    EAI_AGAIN: "host name lookup failed (check the host name and DNS)",
    ETIMEDOUT: "timed out (check the host, port and firewall)",
    "28P01": "wrong password for that user",
    "28000": "the server refused this user or connection (check pg_hba.conf and whether TLS is required)",
    "3D000": "that database does not exist (create it first)",
    "42501": "permission denied (the user needs CONNECT on the database)",
    "53300": "the server has too many connections",
    "57P03": "the server is starting up or shutting down",
  };
  const code = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  const reason =
    (code ? reasons[code] : undefined) ?? (/timeout/i.test(message) ? reasons.ETIMEDOUT : message);
  return new Error(`Cannot connect to PostgreSQL at ${where}: ${reason}`, { cause: error });
}
