import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { describe, expect, it } from "vitest";
import type { Database } from "../schema.js";
import { SqliteStore } from "./sqlite-store.js";

const NOW = Date.UTC(2026, 10, 1);
const USER = {
  id: "alice",
  id_key: "alice",
  full_name: "Alice",
  email: null,
  password_hash: null,
  roles: "user",
  kind: "user",
  owner_id: null,
  disabled: 0,
  must_change_password: 0,
  created_at: NOW,
  updated_at: NOW,
};

function token(id: string, hash: string) {
  return {
    id,
    user_id: "alice",
    name: id,
    hash,
    format: "steward",
    created_at: NOW,
    expires_at: null,
    revoked_at: null,
    last_used_at: null,
    use_count: 0,
    scopes: null,
    allowed_cidrs: null,
    grace_until: null,
    replaced_by: null,
  };
}

describe("SqliteStore prepared hot reads", () => {
  it("answer the same as the Kysely path", async () => {
    const store = SqliteStore.open(":memory:");
    await store.migrate();
    const db = (store as unknown as { db: Kysely<Database> }).db;
    await db.insertInto("users").values(USER).execute();
    await db
      .insertInto("tokens")
      .values(token("t1", "a".repeat(64)))
      .execute();
    const found = await store.findTokenByHash("a".repeat(64));
    expect(found?.token.id).toBe("t1");
    expect(found?.owner).toMatchObject({ id: "alice", fullName: "Alice", roles: ["user"], disabled: false });
    expect((await store.getUser("ALICE"))?.id).toBe("alice");
    expect(await store.findTokenByHash("b".repeat(64))).toBeNull();
    await store.close();
  });

  it("never see another request's uncommitted change: a rolled-back token never authenticates", async () => {
    const store = SqliteStore.open(":memory:");
    await store.migrate();
    const db = (store as unknown as { db: Kysely<Database> }).db;
    await db.insertInto("users").values(USER).execute();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inserted!: () => void;
    const insertedSignal = new Promise<void>((resolve) => {
      inserted = resolve;
    });
    const transaction = db
      .transaction()
      .execute(async (trx) => {
        await trx
          .insertInto("tokens")
          .values(token("t2", "c".repeat(64)))
          .execute();
        inserted();
        await gate;
        throw new Error("roll back");
      })
      .catch(() => "rolled back");
    await insertedSignal;
    // The transaction is open (between two awaits of another flow) with the row written but not committed.
    const lookup = store.findTokenByHash("c".repeat(64));
    release();
    expect(await transaction).toBe("rolled back");
    expect(await lookup).toBeNull();
    await store.close();
  });
});

describe("SqliteStore files", () => {
  it("creates a new data folder and database that only their owner can read (hashes and secrets live there)", async () => {
    const root = mkdtempSync(join(tmpdir(), "steward-perm-"));
    const file = join(root, "data", "steward.db");
    const store = SqliteStore.open(file);
    try {
      await store.migrate();
      expect(statSync(join(root, "data")).mode & 0o777).toBe(0o700);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      // SQLite gives the write-ahead log the database file's permissions.
      expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    } finally {
      await store.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
