import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AuditInput, TokenRecord, UserRecord } from "../store.js";
import { SqliteStore } from "./sqlite-store.js";

const NOW = Date.UTC(2026, 10, 1);
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

function event(action: string, tokenId: string | null = null): AuditInput {
  return {
    at: NOW,
    action,
    actorUserId: "alice",
    actorTokenId: null,
    targetUserId: "alice",
    targetTokenId: tokenId,
    ip: null,
    userAgent: null,
    outcome: "success",
    requestId: null,
    details: {},
  };
}

const alice: UserRecord = {
  id: "alice",
  fullName: "Alice",
  email: null,
  passwordHash: null,
  roles: ["user"],
  kind: "user",
  ownerId: null,
  disabled: false,
  mustChangePassword: false,
  createdAt: NOW,
  updatedAt: NOW,
};

function token(id: string, hash: string): TokenRecord {
  return {
    id,
    userId: "alice",
    name: id,
    hash,
    format: "steward",
    createdAt: NOW,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    useCount: 0,
    scopes: null,
    allowedCidrs: null,
    graceUntil: null,
    replacedBy: null,
  };
}

describe("SQLite group commit", () => {
  it("commits concurrent changes together; one that fails is rolled back alone, with its audit event", async () => {
    const { store, file } = openFileStore();
    await store.migrate();
    await store.createUser(alice, event("user.created"));
    const results = await Promise.allSettled([
      store.createToken(token("t1", "1".repeat(64)), event("token.created", "t1")),
      store.createToken(token("t2", "2".repeat(64)), event("token.created", "t2")),
      // Same hash as t1: the unique index refuses it, inside the same batch as t1.
      store.createToken(token("t3", "1".repeat(64)), event("token.created", "t3")),
      store.createToken(token("t4", "4".repeat(64)), event("token.created", "t4")),
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
    await store.createUser(alice, event("user.created"));
    const seen: string[] = [];
    store.onInvalidate((change) => seen.push(change.type === "token" ? change.hash : change.type));
    const [, revoked] = await Promise.all([
      store.createToken(token("t1", "1".repeat(64)), event("token.created", "t1")),
      store.revokeToken("t1", NOW, event("token.revoked", "t1")),
    ]);
    expect(revoked).toBe(true);
    expect((await store.getToken("t1"))?.revokedAt).toBe(NOW);
    // The revoke's invalidation is announced after the commit.
    expect(seen).toContain("1".repeat(64));
    await store.close();
  });
});
