import { type Config, sqliteFile } from "../config.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./store.js";

/** What opening a store needs: where it is, and (optional, else defaults) the PostgreSQL pool settings. */
export type StoreConfig = Pick<Config, "databaseUrl" | "dataDir"> &
  Partial<Pick<Config, "databasePoolSize" | "databaseConnectTimeoutMs" | "databaseStatementTimeoutMs">>;

/** The store the config selects — PostgreSQL when a database URL is set, else SQLite in the data dir — migrated. */
export async function openStore(config: StoreConfig, options: { migrate?: boolean } = {}): Promise<Store> {
  // The PostgreSQL driver is loaded only when it is used: it adds ~150 ms to every SQLite start-up.
  const store = config.databaseUrl
    ? await (await import("./postgres/postgres-store.js")).PostgresStore.open(config.databaseUrl, {
        poolSize: config.databasePoolSize,
        connectTimeoutMs: config.databaseConnectTimeoutMs,
        statementTimeoutMs: config.databaseStatementTimeoutMs,
      })
    : SqliteStore.open(sqliteFile(config));
  if (options.migrate === false) return store;
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** A private, empty, migrated SQLite database in memory: for a dry run that must create no file. */
export async function openMemoryStore(): Promise<Store> {
  const store = SqliteStore.open(":memory:");
  await store.migrate();
  return store;
}
