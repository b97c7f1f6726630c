import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { audit, T0, token, user } from "../../../test/support/store-records.js";
import { SqliteStore } from "./sqlite-store.js";

const folders: string[] = [];

afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function openFileStore(): { store: SqliteStore; file: string } {
  const folder = mkdtempSync(join(tmpdir(), "steward-group-commit-"));
  folders.push(folder);
  const file = join(folder, "steward.db");
  return { store: SqliteStore.open(file), file };
}

const tokenCreated = (tokenId: string) => audit("token.created", { targetTokenId: tokenId });

describe("SQLite group commit", () => {
  it("commits concurrent changes together; one that fails is rolled back alone, with its audit event", async () => {
    const { store, file } = openFileStore();
    await store.migrate();
    await store.createUser(user("alice"), audit("user.created"));
    const results = await Promise.allSettled([
      store.createToken(token("t1", "alice", { hash: "1".repeat(64) }), tokenCreated("t1")),
      store.createToken(token("t2", "alice", { hash: "2".repeat(64) }), tokenCreated("t2")),
      // Same hash as t1: the unique index refuses it, inside the same batch as t1.
      store.createToken(token("t3", "alice", { hash: "1".repeat(64) }), tokenCreated("t3")),
      store.createToken(token("t4", "alice", { hash: "4".repeat(64) }), tokenCreated("t4")),
    ]);
    expect(results.map((result) => result.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    await store.close();

    // Reopened from the file: exactly what was acknowledged is there, the refused change left nothing.
    const reopened = SqliteStore.open(file);
    const tokens = await reopened.listTokens("alice");
    expect(tokens.map((t) => t.id).sort()).toEqual(["t1", "t2", "t4"]);
    const created = await reopened.queryAudit({ action: "token.created", limit: 10 });
    expect(created.map((e) => e.targetTokenId).sort()).toEqual(["t1", "t2", "t4"]);
    expect(reopened.integrityCheck()).toBe("ok");
    await reopened.close();
  });

  it("lets a later change in a batch see the earlier ones, as if they ran one by one", async () => {
    const { store } = openFileStore();
    await store.migrate();
    await store.createUser(user("alice"), audit("user.created"));
    const seen: string[] = [];
    store.onInvalidate((change) => seen.push(change.type === "token" ? change.hash : change.type));
    const [, revoked] = await Promise.all([
      store.createToken(token("t1", "alice", { hash: "1".repeat(64) }), tokenCreated("t1")),
      store.revokeToken("t1", T0, audit("token.revoked", { targetTokenId: "t1" })),
    ]);
    expect(revoked).toBe(true);
    expect((await store.getToken("t1"))?.revokedAt).toBe(T0);
    // The revoke's invalidation is announced after the commit.
    expect(seen).toContain("1".repeat(64));
    await store.close();
  });
});
