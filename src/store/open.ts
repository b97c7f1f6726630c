import { type Config, sqliteFile } from "../config.js";
import { PostgresStore } from "./postgres/postgres-store.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./store.js";

/** The store the config selects — PostgreSQL when a database URL is set, else SQLite in the data dir — migrated. */
export async function openStore(config: Pick<Config, "databaseUrl" | "dataDir">): Promise<Store> {
  const store = config.databaseUrl
    ? await PostgresStore.open(config.databaseUrl)
    : SqliteStore.open(sqliteFile(config));
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
