import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startPostgres, type TestPostgres } from "../../test/support/postgres.js";
import { audit, T0, token, user } from "../../test/support/store-records.js";
import { DEFAULT_SETTINGS } from "../core/settings.js";
import { migrationProvider } from "./migrations/index.js";
import { PostgresStore } from "./postgres/postgres-store.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type {
  AddressDelta,
  AuditInput,
  Invalidation,
  Store,
  TokenRecord,
  UsageDelta,
  UserRecord,
  WebhookRecord,
} from "./store.js";

/** A fresh, empty database for one test, on which several store instances can be opened. */
interface TestDatabase {
  /** Opens (and migrates) a store on this database; call again for a second instance sharing it. */
  open(): Promise<Store>;
  /** Runs one SQL statement directly, bypassing the store. */
  raw(statement: string): Promise<void>;
  /** Closes every store opened and removes the database. */
  dispose(): Promise<void>;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Polls until `condition` holds; returns how long it took. Fails after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs = 3_000): Promise<number> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return performance.now() - start;
}

function collect(store: Store): Invalidation[] {
  const seen: Invalidation[] = [];
  store.onInvalidate((change) => seen.push(change));
  return seen;
}

/**
 * One flush of usage for tokens t1..t3: "forward" from one instance, "backward" (other order, other
 * numbers) from another. See expectedUsage for the totals after n rounds of each.
 */
function usageRound(i: number, direction: "forward" | "backward"): UsageDelta[] {
  return direction === "forward"
    ? [
        { tokenId: "t1", count: 1, lastUsedAt: T0 + i },
        { tokenId: "t2", count: 2, lastUsedAt: T0 + 100 - i },
        { tokenId: "t3", count: 3, lastUsedAt: T0 + i },
      ]
    : [
        { tokenId: "t3", count: 30, lastUsedAt: T0 + 50 },
        { tokenId: "t2", count: 20, lastUsedAt: T0 + i },
        { tokenId: "t1", count: 10, lastUsedAt: T0 + 500 + i },
      ];
}

function expectedUsage(rounds: number): [string, number, number][] {
  return [
    ["t1", 11 * rounds, T0 + 500 + rounds - 1],
    ["t2", 22 * rounds, T0 + 100],
    ["t3", 33 * rounds, T0 + 50],
  ];
}

async function usageOf(store: Store): Promise<[string, number, number | null][]> {
  return (await store.listTokens("alice")).map((t) => [t.id, t.useCount, t.lastUsedAt]);
}

/**
 * The behaviour every Store adapter must have. `freshDatabase` gives each test its own empty database.
 */
function describeStoreContract(name: string, freshDatabase: () => Promise<TestDatabase>): void {
  describe(`Store contract: ${name}`, () => {
    let database: TestDatabase;
    let store: Store;

    beforeEach(async () => {
      database = await freshDatabase();
      store = await database.open();
    });
    afterEach(async () => {
      await database.dispose();
    });

    async function withUserAndToken(): Promise<TokenRecord> {
      await store.createUser(user("alice"), audit("user.create"));
      const t = token("t1", "alice", {
        scopes: ["tokens:read"],
        allowedCidrs: ["10.0.0.0/8"],
        expiresAt: T0 + HOUR,
      });
      await store.createToken(t, audit("token.create"));
      return t;
    }

    describe("basics", () => {
      it("migrates idempotently, answers ping, starts empty", async () => {
        await store.migrate();
        await store.ping();
        expect(await store.countUsers()).toBe(0);
        expect(await store.countTokens()).toBe(0);
        expect(store.invalidationsReliable()).toBe(true);
      });

      it("refuses, with a clear message, a database a newer Steward has migrated", async () => {
        await database.raw(
          "INSERT INTO kysely_migration (name, timestamp) VALUES ('9999_from_the_future', '2099-01-01')",
        );
        await expect(store.migrate()).rejects.toThrow(
          /upgraded by a newer version of Steward: its migrations 9999_from_the_future are unknown/,
        );
        await database.raw("DELETE FROM kysely_migration WHERE name = '9999_from_the_future'");
        await store.migrate();
      });

      it("reports migrations the database lacks (what /readyz checks)", async () => {
        expect(await store.pendingMigrations()).toEqual([]);
        const names = Object.keys(await migrationProvider(store.dialect).getMigrations()).sort();
        const last = names.at(-1)!;
        await database.raw(`DELETE FROM kysely_migration WHERE name = '${last}'`);
        expect(await store.pendingMigrations()).toEqual([last]);
        await database.raw(
          `INSERT INTO kysely_migration (name, timestamp) VALUES ('${last}', '2026-11-24T00:00:00.000Z')`,
        );
        expect(await store.pendingMigrations()).toEqual([]);
      });

      it("creates a server secret once", async () => {
        let calls = 0;
        const make = () => `secret-${++calls}`;
        expect(await store.getOrCreateSecret("crumb", make)).toBe("secret-1");
        expect(await store.getOrCreateSecret("crumb", make)).toBe("secret-1");
        const other = await database.open();
        expect(await other.getOrCreateSecret("crumb", make)).toBe("secret-1");
        expect(calls).toBe(1);
      });
    });

    describe("users", () => {
      it("round-trips a user and finds it case-insensitively", async () => {
        const alice = user("Alice", {
          roles: ["admin", "user"],
          passwordHash: "scrypt$x",
          mustChangePassword: true,
        });
        await store.createUser(alice, audit("user.create", { targetUserId: "Alice" }));
        expect(await store.getUser("Alice")).toEqual(alice);
        expect(await store.getUser("aLiCe")).toEqual(alice);
        expect(await store.getUser("bob")).toBeNull();
        expect(await store.countUsers()).toBe(1);
      });

      it("refuses a second user differing only in case, and writes no audit event for it", async () => {
        await store.createUser(user("Alice"), audit("user.create"));
        await expect(store.createUser(user("ALICE"), audit("user.create"))).rejects.toThrow();
        expect(await store.countUsers()).toBe(1);
        expect(await store.queryAudit({ limit: 10 })).toHaveLength(1);
      });

      it("updates a user, keeping unpatched fields", async () => {
        await store.createUser(user("alice"), audit("user.create"));
        const updated = await store.updateUser(
          "ALICE",
          { fullName: "Alice Liddell", roles: ["admin"] },
          audit("user.update"),
          T0 + 5,
        );
        expect(updated).toEqual({
          ...user("alice"),
          fullName: "Alice Liddell",
          roles: ["admin"],
          updatedAt: T0 + 5,
        });
        expect(await store.getUser("alice")).toEqual(updated);
        expect(await store.updateUser("nobody", { fullName: "x" }, null, T0)).toBeNull();
        expect((await store.queryAudit({ limit: 10 })).map((e) => e.action)).toEqual([
          "user.update",
          "user.create",
        ]);
      });

      it("ends the sessions of a user who is disabled", async () => {
        await store.createUser(user("alice"), audit("user.create"));
        await store.createSession({ idHash: "s1", userId: "alice", createdAt: T0, expiresAt: T0 + HOUR });
        const seen = collect(store);
        await store.updateUser("alice", { disabled: true }, audit("user.disable"), T0 + 1);
        expect(await store.getSession("s1")).toBeNull();
        expect(seen).toContainEqual({ type: "user", userId: "alice" });
      });

      it("lists users in key order with paging and kind filter", async () => {
        for (const id of ["carol", "Alice", "bob", "dave"])
          await store.createUser(user(id), audit("user.create"));
        await store.createUser(user("svc", { kind: "service", ownerId: "bob" }), audit("user.create"));
        const ids = async (q: Parameters<Store["listUsers"]>[0]) =>
          (await store.listUsers(q)).map((u) => u.id);
        expect(await ids({ limit: 10 })).toEqual(["Alice", "bob", "carol", "dave", "svc"]);
        expect(await ids({ limit: 2 })).toEqual(["Alice", "bob"]);
        expect(await ids({ limit: 2, after: "BOB" })).toEqual(["carol", "dave"]);
        expect(await ids({ limit: 10, kind: "service" })).toEqual(["svc"]);
        expect(await ids({ limit: 10, kind: "user", after: "carol" })).toEqual(["dave"]);
      });

      it("lists the accounts of one owner, in key order, up to the limit", async () => {
        for (const id of ["alice", "bob"]) await store.createUser(user(id), audit("user.create"));
        for (const [id, ownerId] of [
          ["svc-c", "bob"],
          ["svc-a", "bob"],
          ["svc-b", "alice"],
          ["svc-d", "bob"],
        ] as const) {
          await store.createUser(user(id, { kind: "service", ownerId }), audit("user.create"));
        }
        const ids = async (q: Parameters<Store["listUsers"]>[0]) =>
          (await store.listUsers(q)).map((u) => u.id);
        expect(await ids({ limit: 10, ownerId: "bob" })).toEqual(["svc-a", "svc-c", "svc-d"]);
        expect(await ids({ limit: 2, ownerId: "bob", kind: "service" })).toEqual(["svc-a", "svc-c"]);
        expect(await ids({ limit: 10, ownerId: "alice" })).toEqual(["svc-b"]);
        expect(await ids({ limit: 10, ownerId: "carol" })).toEqual([]);
      });

      it("searches ids, names and emails, treating LIKE wildcards as plain text", async () => {
        await store.createUser(user("a_b"), audit("user.create"));
        await store.createUser(user("axb"), audit("user.create"));
        await store.createUser(user("a%c", { email: null }), audit("user.create"));
        await store.createUser(user("abc", { fullName: "Zoë Back\\slash" }), audit("user.create"));
        await store.createUser(
          user("xyz", { email: "Someone@Example.ORG", fullName: "X" }),
          audit("user.create"),
        );
        const ids = async (search: string) =>
          (await store.listUsers({ search, limit: 10 })).map((u) => u.id).sort();
        expect(await ids("a_b")).toEqual(["a_b"]);
        expect(await ids("_")).toEqual(["a_b"]);
        expect(await ids("%")).toEqual(["a%c"]);
        expect(await ids("\\")).toEqual(["abc"]);
        expect(await ids("BACK")).toEqual(["abc"]);
        expect(await ids("example.org")).toEqual(["xyz"]);
        expect(await ids("nothing")).toEqual([]);
      });

      it("deletes a user with its tokens and sessions, keeping the audit trail", async () => {
        await withUserAndToken();
        await store.createUser(user("svc", { kind: "service", ownerId: "alice" }), audit("user.create"));
        await store.createSession({ idHash: "s1", userId: "alice", createdAt: T0, expiresAt: T0 + HOUR });
        const seen = collect(store);
        expect(await store.deleteUser("ALICE", audit("user.delete", { targetUserId: "alice" }))).toBe(true);
        expect(await store.getUser("alice")).toBeNull();
        expect(await store.findTokenByHash("hash-t1")).toBeNull();
        expect(await store.getToken("t1")).toBeNull();
        expect(await store.getSession("s1")).toBeNull();
        expect((await store.getUser("svc"))?.ownerId).toBeNull();
        expect(seen).toContainEqual({ type: "user", userId: "alice" });
        expect(await store.deleteUser("alice", audit("user.delete"))).toBe(false);
        expect((await store.queryAudit({ limit: 10 })).map((e) => e.action)).toEqual([
          "user.delete",
          "user.create",
          "token.create",
          "user.create",
        ]);
      });
    });

    describe("tokens", () => {
      it("finds a token by hash together with its owner", async () => {
        const t = await withUserAndToken();
        const found = await store.findTokenByHash("hash-t1");
        expect(found).toEqual({ token: t, owner: user("alice") });
        expect(typeof found?.token.createdAt).toBe("number");
        expect(await store.getToken("t1")).toEqual(t);
        expect(await store.findTokenByHash("hash-unknown")).toBeNull();
        expect(await store.countTokens()).toBe(1);
      });

      it("lists live tokens oldest first, revoked ones only on request", async () => {
        await store.createUser(user("alice"), audit("user.create"));
        await store.createToken(token("t2", "alice", { createdAt: T0 + 2 }), audit("token.create"));
        await store.createToken(token("t1", "alice", { createdAt: T0 + 1 }), audit("token.create"));
        await store.createToken(token("t3", "alice", { createdAt: T0 + 3 }), audit("token.create"));
        await store.revokeToken("t2", T0 + 10, audit("token.revoke"));
        expect((await store.listTokens("alice")).map((t) => t.id)).toEqual(["t1", "t3"]);
        expect((await store.listTokens("alice", { includeRevoked: true })).map((t) => t.id)).toEqual([
          "t1",
          "t2",
          "t3",
        ]);
        expect(await store.listTokens("bob")).toEqual([]);
      });

      it("counts the users holding a live legacy token", async () => {
        expect(await store.countLegacyTokenHolders()).toBe(0);
        for (const id of ["alice", "bob", "carol"]) await store.createUser(user(id), audit("user.create"));
        await store.createToken(token("a1", "alice", { format: "legacy" }), audit("token.create"));
        await store.createToken(token("a2", "alice", { format: "legacy" }), audit("token.create"));
        await store.createToken(token("b1", "bob", { format: "legacy" }), audit("token.create"));
        await store.createToken(token("c1", "carol"), audit("token.create"));
        expect(await store.countLegacyTokenHolders()).toBe(2);
        await store.revokeToken("b1", T0 + 1, audit("token.revoke"));
        expect(await store.countLegacyTokenHolders()).toBe(1);
      });

      it("renames a live token only", async () => {
        await withUserAndToken();
        expect(await store.renameToken("t1", "CI", audit("token.rename"))).toBe(true);
        expect((await store.getToken("t1"))?.name).toBe("CI");
        await store.revokeToken("t1", T0 + 1, audit("token.revoke"));
        expect(await store.renameToken("t1", "again", audit("token.rename"))).toBe(false);
        expect(await store.renameToken("missing", "x", audit("token.rename"))).toBe(false);
        const actions = (await store.queryAudit({ limit: 10 })).map((e) => e.action);
        expect(actions.filter((a) => a === "token.rename")).toHaveLength(1);
      });

      it("revokes a token once and announces it", async () => {
        await withUserAndToken();
        const seen = collect(store);
        expect(await store.revokeToken("t1", T0 + 5, audit("token.revoke"))).toBe(true);
        expect(seen).toContainEqual({ type: "token", hash: "hash-t1" });
        expect((await store.getToken("t1"))?.revokedAt).toBe(T0 + 5);
        expect(await store.revokeToken("t1", T0 + 6, audit("token.revoke"))).toBe(false);
        expect(await store.revokeToken("missing", T0 + 6, audit("token.revoke"))).toBe(false);
        const found = await store.findTokenByHash("hash-t1");
        expect(found?.token.revokedAt).toBe(T0 + 5);
      });

      it("revokes all live tokens of a user except one", async () => {
        await store.createUser(user("alice"), audit("user.create"));
        await store.createUser(user("bob"), audit("user.create"));
        for (const id of ["a1", "a2", "a3"])
          await store.createToken(token(id, "alice"), audit("token.create"));
        await store.createToken(token("b1", "bob"), audit("token.create"));
        await store.revokeToken("a3", T0 + 1, audit("token.revoke"));
        const seen = collect(store);
        const revoked = await store.revokeTokens("alice", "a1", T0 + 5, audit("token.revoke-all"));
        expect(revoked.map((t) => t.id)).toEqual(["a2"]);
        expect(revoked[0]?.revokedAt).toBe(T0 + 5);
        expect(seen).toContainEqual({ type: "token", hash: "hash-a2" });
        expect((await store.listTokens("alice")).map((t) => t.id)).toEqual(["a1"]);
        expect((await store.listTokens("bob")).map((t) => t.id)).toEqual(["b1"]);
        const [event] = await store.queryAudit({ action: "token.revoke-all", limit: 1 });
        expect(event?.details).toEqual({ tokenIds: ["a2"] });
        const all = await store.revokeTokens("alice", null, T0 + 6, audit("token.revoke-all"));
        expect(all.map((t) => t.id)).toEqual(["a1"]);
      });

      it("rotates with a grace period: the old value stays findable until graceUntil", async () => {
        await withUserAndToken();
        const next = token("t2", "alice", { createdAt: T0 + 10 });
        const seen = collect(store);
        expect(await store.rotateToken("t1", next, T0 + HOUR, audit("token.rotate"))).toBe(true);
        expect(seen).toContainEqual({ type: "token", hash: "hash-t1" });
        const old = await store.findTokenByHash("hash-t1");
        expect(old?.token).toMatchObject({ revokedAt: T0 + HOUR, graceUntil: T0 + HOUR, replacedBy: "t2" });
        expect(await store.getToken("t2")).toEqual(next);
        // Rotating the same token twice is refused, even during its grace period.
        expect(await store.rotateToken("t1", token("t3", "alice"), T0 + HOUR, audit("token.rotate"))).toBe(
          false,
        );
        expect(await store.getToken("t3")).toBeNull();
        // Revoking during the grace period ends it at once.
        expect(await store.revokeToken("t1", T0 + 20, audit("token.revoke"))).toBe(true);
        expect((await store.getToken("t1"))?.revokedAt).toBe(T0 + 20);
        expect((await store.getToken("t1"))?.graceUntil).toBeNull();
      });

      it("rotates without grace: the old value stops when the new one is created", async () => {
        await withUserAndToken();
        expect(
          await store.rotateToken("t1", token("t2", "alice", { createdAt: T0 + 10 }), null, audit("r")),
        ).toBe(true);
        expect(await store.getToken("t1")).toMatchObject({
          revokedAt: T0 + 10,
          graceUntil: null,
          replacedBy: "t2",
        });
        await store.revokeToken("t2", T0 + 11, audit("token.revoke"));
        expect(await store.rotateToken("t2", token("t3", "alice"), null, audit("r"))).toBe(false);
      });

      it("adds usage from two instances exactly, keeping the latest time", async () => {
        await store.createUser(user("alice"), audit("user.create"));
        for (const id of ["t1", "t2", "t3"])
          await store.createToken(token(id, "alice"), audit("token.create"));
        const other = await database.open();
        // Interleaved flushes, as two servers would make them (concurrent ones: see the PostgreSQL tests).
        for (let i = 0; i < 5; i++) {
          await store.addUsage(usageRound(i, "forward"));
          await other.addUsage(usageRound(i, "backward"));
        }
        await store.addUsage([]);
        await store.addUsage([{ tokenId: "missing", count: 1, lastUsedAt: T0 }]);
        expect(await usageOf(store)).toEqual(expectedUsage(5));
      });
    });

    describe("sessions", () => {
      it("creates, reads, deletes and expires sessions", async () => {
        await store.createUser(user("alice"), audit("user.create"));
        const session = { idHash: "s1", userId: "alice", createdAt: T0, expiresAt: T0 + HOUR };
        await store.createSession(session);
        await store.createSession({ idHash: "s2", userId: null, createdAt: T0, expiresAt: T0 + 10 });
        await store.createSession({ idHash: "s3", userId: "alice", createdAt: T0, expiresAt: T0 + 20 });
        expect(await store.getSession("s1")).toEqual(session);
        expect(await store.getSession("s2")).toMatchObject({ userId: null });
        expect(await store.deleteExpiredSessions(T0 + 20)).toBe(2);
        expect(await store.getSession("s3")).toBeNull();
        await store.deleteSession("s1");
        expect(await store.getSession("s1")).toBeNull();
        await store.deleteSession("s1");
      });
    });

    describe("authentication failures", () => {
      const WINDOW = 60_000;

      it("counts failures per key and window, and deletes the windows that have ended", async () => {
        expect(await store.countAuthFailures("ip:203.0.113.9", T0)).toBe(0);
        expect(await store.recordAuthFailure("ip:203.0.113.9", T0, T0 + WINDOW)).toBe(1);
        expect(await store.recordAuthFailure("ip:203.0.113.9", T0, T0 + WINDOW)).toBe(2);
        expect(await store.recordAuthFailure("user:alice", T0, T0 + WINDOW)).toBe(1);
        expect(await store.recordAuthFailure("ip:203.0.113.9", T0 + WINDOW, T0 + 2 * WINDOW)).toBe(1);
        expect(await store.countAuthFailures("ip:203.0.113.9", T0)).toBe(2);
        expect(await store.countAuthFailures("user:alice", T0)).toBe(1);
        expect(await store.countAuthFailures("user:bob", T0)).toBe(0);
        expect(await store.countAuthFailures("ip:203.0.113.9", T0 + WINDOW)).toBe(1);

        expect(await store.deleteExpiredAuthFailures(T0 + WINDOW - 1)).toBe(0);
        expect(await store.deleteExpiredAuthFailures(T0 + WINDOW)).toBe(2);
        expect(await store.countAuthFailures("ip:203.0.113.9", T0)).toBe(0);
        expect(await store.countAuthFailures("ip:203.0.113.9", T0 + WINDOW)).toBe(1);
      });

      it("adds up concurrent failures from several instances, each seeing a distinct count", async () => {
        const other = await database.open();
        const counts = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            (i % 2 === 0 ? store : other).recordAuthFailure("ip:198.51.100.7", T0, T0 + WINDOW),
          ),
        );
        expect(counts.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
        expect(await other.countAuthFailures("ip:198.51.100.7", T0)).toBe(40);
        expect(await store.countAuthFailures("ip:198.51.100.7", T0)).toBe(40);
      });
    });

    describe("settings", () => {
      it("starts from the defaults and stores updates", async () => {
        expect(await store.getSettings()).toEqual(DEFAULT_SETTINGS);
        const seen = collect(store);
        const updated = await store.updateSettings(
          { legacyTokensEnabled: true, maxTokenLifetimeSeconds: 86_400 },
          audit("settings.update"),
        );
        expect(updated).toEqual({
          ...DEFAULT_SETTINGS,
          legacyTokensEnabled: true,
          maxTokenLifetimeSeconds: 86_400,
        });
        expect(await store.getSettings()).toEqual(updated);
        expect(seen).toContainEqual({ type: "all" });
        await store.updateSettings({ maxTokenLifetimeSeconds: null }, audit("settings.update"));
        expect((await store.getSettings()).maxTokenLifetimeSeconds).toBeNull();
        expect(await store.queryAudit({ action: "settings.update", limit: 10 })).toHaveLength(2);
      });
    });

    describe("audit", () => {
      async function seed(): Promise<void> {
        const events: AuditInput[] = [
          audit("user.create", { at: T0 + 1, actorUserId: "admin", targetUserId: "alice" }),
          audit("token.create", {
            at: T0 + 2,
            actorUserId: "alice",
            targetTokenId: "t1",
            details: { name: "CI" },
          }),
          audit("auth.login", { at: T0 + 3, actorUserId: "alice", outcome: "failure", requestId: "r-1" }),
          audit("token.revoke", { at: T0 + 4, actorTokenId: "t1", targetTokenId: "t2", outcome: "denied" }),
          audit("tokenx.other", { at: T0 + 5, ip: null, userAgent: null }),
        ];
        for (const event of events) await store.appendAudit(event);
      }

      it("returns events newest first, with every field intact", async () => {
        await seed();
        const events = await store.queryAudit({ limit: 10 });
        expect(events.map((e) => e.at)).toEqual([T0 + 5, T0 + 4, T0 + 3, T0 + 2, T0 + 1]);
        const ids = events.map((e) => e.id);
        expect(ids).toEqual([...ids].sort((a, b) => b - a));
        expect(typeof ids[0]).toBe("number");
        const { id: _id, ...created } = events[3]!;
        expect(created).toEqual(
          audit("token.create", {
            at: T0 + 2,
            actorUserId: "alice",
            targetTokenId: "t1",
            details: { name: "CI" },
          }),
        );
      });

      it("filters by user, token, action, prefix and time", async () => {
        await seed();
        const actions = async (q: Omit<Parameters<Store["queryAudit"]>[0], "limit">) =>
          (await store.queryAudit({ limit: 10, ...q })).map((e) => e.action);
        expect(await actions({ userId: "alice" })).toEqual(["auth.login", "token.create", "user.create"]);
        expect(await actions({ tokenId: "t1" })).toEqual(["token.revoke", "token.create"]);
        expect(await actions({ action: "auth.login" })).toEqual(["auth.login"]);
        expect(await actions({ action: "token.*" })).toEqual(["token.revoke", "token.create"]);
        expect(await actions({ action: "TOKEN.*" })).toEqual([]);
        expect(await actions({ action: "t_ken.*" })).toEqual([]);
        expect(await actions({ action: "%.*" })).toEqual([]);
        expect(await actions({ since: T0 + 2, until: T0 + 4 })).toEqual(["auth.login", "token.create"]);
        expect(await actions({ userId: "alice", since: T0 + 2 })).toEqual(["auth.login", "token.create"]);
      });

      it("pages with `before`", async () => {
        await seed();
        const first = await store.queryAudit({ limit: 2 });
        const second = await store.queryAudit({ limit: 2, before: first.at(-1)!.id });
        const third = await store.queryAudit({ limit: 2, before: second.at(-1)!.id });
        expect([...first, ...second, ...third].map((e) => e.at)).toEqual([
          T0 + 5,
          T0 + 4,
          T0 + 3,
          T0 + 2,
          T0 + 1,
        ]);
        expect(await store.queryAudit({ limit: 2, before: third.at(-1)!.id })).toEqual([]);
      });

      it("cannot be changed or removed, even with direct SQL", async () => {
        await seed();
        await expect(database.raw("UPDATE audit_events SET action = 'forged'")).rejects.toThrow(
          /append-only/,
        );
        await expect(database.raw("DELETE FROM audit_events")).rejects.toThrow(/append-only/);
        expect(await store.queryAudit({ limit: 10 })).toHaveLength(5);
      });
    });

    describe("audit notifications", () => {
      const webhook = (id: string, events: string[], createdAt = T0): WebhookRecord => ({
        id,
        url: `http://127.0.0.1:9/${id}`,
        events,
        secret: `whsec_${id}`,
        createdAt,
        createdBy: "admin",
      });
      const uses = (tokenId: string, ip: string, count: number, at: number): AddressDelta => ({
        tokenId,
        ip,
        count,
        firstSeenAt: at,
        lastSeenAt: at,
      });
      const flush = (target: Store, deltas: AddressDelta[], granularity: "address" | "subnet" = "address") =>
        target.addUsage(
          deltas.map((d) => ({ tokenId: d.tokenId, count: d.count, lastUsedAt: d.lastSeenAt })),
          { deltas, granularity, keepPerToken: 3 },
        );
      const newIps = async (target: Store = store) =>
        (await target.queryAudit({ action: "token.used.new-ip", order: "asc", limit: 100 })).map(
          (e) => e.details.ip,
        );

      it("adds address counts from two instances and records each new address once", async () => {
        await withUserAndToken();
        const other = await database.open();
        await flush(store, [uses("t1", "192.0.2.1", 2, T0 + 1)]);
        await flush(other, [uses("t1", "192.0.2.1", 3, T0 + 5), uses("t1", "192.0.2.2", 1, T0 + 4)]);
        await flush(store, [uses("t1", "192.0.2.1", 1, T0 + 3)]);
        expect(await store.listTokenAddresses("t1")).toEqual([
          { ip: "192.0.2.1", firstSeenAt: T0 + 1, lastSeenAt: T0 + 5, useCount: 6 },
          { ip: "192.0.2.2", firstSeenAt: T0 + 4, lastSeenAt: T0 + 4, useCount: 1 },
        ]);
        expect(await newIps()).toEqual(["192.0.2.1", "192.0.2.2"]);
        const [first] = await store.queryAudit({ action: "token.used.new-ip", order: "asc", limit: 1 });
        expect(first).toMatchObject({
          at: T0 + 1,
          actorUserId: "alice",
          actorTokenId: "t1",
          targetTokenId: "t1",
          ip: "192.0.2.1",
          details: { ip: "192.0.2.1", tokenId: "t1", granularity: "address", firstUse: true },
        });
        expect((await store.getToken("t1"))?.useCount).toBe(7);
      });

      it("judges new addresses by /24 or /64 at subnet granularity", async () => {
        await withUserAndToken();
        await flush(store, [uses("t1", "192.0.2.1", 1, T0), uses("t1", "2001:db8:0:1::1", 1, T0)], "subnet");
        await flush(
          store,
          [uses("t1", "192.0.2.77", 1, T0 + 1), uses("t1", "2001:db8:0:1::ff", 1, T0 + 1)],
          "subnet",
        );
        await flush(store, [uses("t1", "192.0.3.1", 1, T0 + 2)], "subnet");
        expect(await newIps()).toEqual(["192.0.2.1", "2001:db8:0:1::1", "192.0.3.1"]);
        const events = await store.queryAudit({ action: "token.used.new-ip", order: "asc", limit: 10 });
        expect(events.map((e) => e.details.network)).toEqual([
          "192.0.2.0/24",
          "2001:db8:0:1::/64",
          "192.0.3.0/24",
        ]);
      });

      it("keeps the most recently seen addresses of a token, ignores unknown tokens, forgets on user deletion", async () => {
        await withUserAndToken();
        for (let i = 1; i <= 5; i++) await flush(store, [uses("t1", `198.51.100.${i}`, 1, T0 + i)]);
        expect((await store.listTokenAddresses("t1")).map((a) => a.ip)).toEqual([
          "198.51.100.5",
          "198.51.100.4",
          "198.51.100.3",
        ]);
        await flush(store, [uses("missing", "198.51.100.9", 1, T0)]);
        expect(await store.listTokenAddresses("missing")).toEqual([]);
        expect(await newIps()).toHaveLength(5);
        await store.deleteUser("alice", audit("user.delete"));
        expect(await store.listTokenAddresses("t1")).toEqual([]);
      });

      it("queues a delivery with the event, for each webhook whose filters match", async () => {
        await store.createWebhook(webhook("w-all", ["*"]), audit("webhook.created"));
        await store.createWebhook(webhook("w-tokens", ["token.*"], T0 + 1), audit("webhook.created"));
        await store.createWebhook(webhook("w-revoked", ["token.revoked"], T0 + 2), audit("webhook.created"));
        expect((await store.listWebhooks()).map((w) => w.id)).toEqual(["w-all", "w-tokens", "w-revoked"]);
        expect(await store.getWebhook("w-tokens")).toEqual(webhook("w-tokens", ["token.*"], T0 + 1));
        // Webhooks created later are not sent earlier events (w-all saw the creation of the two others).
        expect(await store.listDeliveries("w-all", { limit: 10 })).toHaveLength(2);
        await store.createUser(user("alice"), audit("user.created"));
        await store.createToken(token("t1", "alice"), audit("token.created"));
        await store.revokeToken("t1", T0 + 1, audit("token.revoked"));
        const actions = async (id: string) =>
          (await store.listDeliveries(id, { limit: 10 })).map((d) => d.action);
        expect(await actions("w-all")).toEqual([
          "token.revoked",
          "token.created",
          "user.created",
          "webhook.created",
          "webhook.created",
        ]);
        expect(await actions("w-tokens")).toEqual(["token.revoked", "token.created"]);
        expect(await actions("w-revoked")).toEqual(["token.revoked"]);
        // No change, no event, no delivery.
        await expect(store.createUser(user("ALICE"), audit("user.created"))).rejects.toThrow();
        expect(await store.revokeToken("t1", T0 + 2, audit("token.revoked"))).toBe(false);
        expect(await actions("w-revoked")).toEqual(["token.revoked"]);
        expect(await actions("w-all")).toHaveLength(5);
        const [delivery] = await store.listDeliveries("w-revoked", { limit: 1 });
        expect(delivery).toMatchObject({
          webhookId: "w-revoked",
          status: "pending",
          attempts: 0,
          nextAttemptAt: T0,
        });
      });

      it("sends a test delivery to its one webhook, and deletes a webhook with its deliveries", async () => {
        await store.createWebhook(webhook("w1", ["*"]), audit("webhook.created"));
        await store.createWebhook(webhook("w2", ["*"]), audit("webhook.created"));
        expect(await store.queueTestDelivery("w1", audit("webhook.tested"))).toBe(true);
        expect(await store.queueTestDelivery("missing", audit("webhook.tested"))).toBe(false);
        // w1 takes every event (the creation of w2 too); the test went to w1 only.
        expect((await store.listDeliveries("w1", { limit: 10 })).map((d) => d.action)).toEqual([
          "webhook.tested",
          "webhook.created",
        ]);
        expect((await store.listDeliveries("w2", { limit: 10 })).map((d) => d.action)).toEqual([]);
        expect(await store.deleteWebhook("w1", audit("webhook.deleted"))).toBe(true);
        expect(await store.deleteWebhook("w1", audit("webhook.deleted"))).toBe(false);
        expect(await store.getWebhook("w1")).toBeNull();
        expect(await store.listDeliveries("w1", { limit: 10 })).toEqual([]);
        expect((await store.listDeliveries("w2", { limit: 10 })).map((d) => d.action)).toEqual([
          "webhook.deleted",
        ]);
        expect(await store.queryAudit({ action: "webhook.*", limit: 10 })).toHaveLength(4);
      });

      it("claims due deliveries under a lease, records attempts, retries and finishes", async () => {
        await store.createWebhook(webhook("w1", ["token.*"]), audit("webhook.created"));
        await store.appendAudit(audit("token.revoked", { at: T0, details: { n: 1 } }));
        await store.appendAudit(audit("token.revoked", { at: T0 + 10, details: { n: 2 } }));
        expect(await store.claimDeliveries(T0 - 1, 10, 1000)).toEqual([]);
        const [claimed, ...rest] = await store.claimDeliveries(T0 + 5, 10, 1000);
        expect(rest).toEqual([]);
        expect(claimed).toMatchObject({
          url: "http://127.0.0.1:9/w1",
          secret: "whsec_w1",
          event: { action: "token.revoked", details: { n: 1 } },
          delivery: { webhookId: "w1", action: "token.revoked", attempts: 0 },
        });
        // Leased: not claimed again until the lease ends.
        expect((await store.claimDeliveries(T0 + 10, 10, 60_000)).map((c) => c.event.details.n)).toEqual([2]);
        expect(await store.claimDeliveries(T0 + 11, 10, 1000)).toEqual([]);
        const id = claimed!.delivery.id;
        await store.finishDelivery(id, {
          at: T0 + 6,
          status: "pending",
          nextAttemptAt: T0 + 2000,
          lastStatus: 500,
          lastError: "HTTP 500",
        });
        expect(await store.claimDeliveries(T0 + 1999, 10, 1000)).toEqual([]);
        const [retry] = await store.claimDeliveries(T0 + 2000, 10, 1000);
        expect(retry?.delivery).toMatchObject({ id, attempts: 1, lastStatus: 500, lastError: "HTTP 500" });
        await store.finishDelivery(id, {
          at: T0 + 2001,
          status: "delivered",
          nextAttemptAt: null,
          lastStatus: 204,
          lastError: null,
        });
        const log = await store.listDeliveries("w1", { limit: 10 });
        expect(log.map((d) => [d.status, d.attempts, d.deliveredAt])).toEqual([
          ["pending", 0, null],
          ["delivered", 2, T0 + 2001],
        ]);
        expect(await store.listDeliveries("w1", { limit: 10, before: log[0]!.id })).toHaveLength(1);
        // A delivered one is never claimed again, even after its lease would have ended.
        expect((await store.claimDeliveries(T0 + 99_999, 10, 1000)).map((c) => c.delivery.id)).not.toContain(
          id,
        );
      });

      it("hands each due delivery to one of several claiming instances", async () => {
        await store.createWebhook(webhook("w1", ["*"]), audit("webhook.created"));
        for (let i = 0; i < 60; i++) await store.appendAudit(audit("token.revoked", { details: { i } }));
        const instances = [store, await database.open(), await database.open()];
        const claims = await Promise.all(
          Array.from({ length: 12 }, (_, i) => instances[i % 3]!.claimDeliveries(T0, 7, 60_000)),
        );
        const ids = claims.flat().map((c) => c.delivery.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toHaveLength(60);
      });

      it("records an expiry notice once, and finds only tokens without one at that threshold or below", async () => {
        await store.createUser(user("alice"), audit("user.created"));
        await store.createToken(token("soon", "alice", { expiresAt: T0 + 2 * DAY }), audit("token.created"));
        await store.createToken(
          token("later", "alice", { expiresAt: T0 + 10 * DAY }),
          audit("token.created"),
        );
        await store.createToken(token("gone", "alice", { expiresAt: T0 + DAY }), audit("token.created"));
        await store.createToken(token("never", "alice"), audit("token.created"));
        await store.revokeToken("gone", T0, audit("token.revoked"));
        const due = async (thresholdDays: number, target: Store = store) =>
          (
            await target.findExpiryNoticesDue({
              thresholdDays,
              from: T0,
              to: T0 + thresholdDays * DAY,
              limit: 10,
            })
          ).map((t) => [t.token.id, t.owner.id]);
        expect(await due(7)).toEqual([["soon", "alice"]]);
        expect(await due(14)).toEqual([
          ["soon", "alice"],
          ["later", "alice"],
        ]);
        // Concurrent recording from several instances: see the PostgreSQL tests.
        const other = await database.open();
        expect(await store.recordExpiryNotice("soon", 7, audit("token.expiring"))).toBe(true);
        expect(await other.recordExpiryNotice("soon", 7, audit("token.expiring"))).toBe(false);
        expect(await store.queryAudit({ action: "token.expiring", limit: 10 })).toHaveLength(1);
        expect(await due(7)).toEqual([]);
        // A notice at 7 days covers 14 too; 1 day is still to come.
        expect(await due(14, other)).toEqual([["later", "alice"]]);
        expect(
          await store.findExpiryNoticesDue({ thresholdDays: 1, from: T0, to: T0 + 2 * DAY, limit: 10 }),
        ).toHaveLength(1);
        await store.deleteUser("alice", audit("user.deleted"));
        expect(await due(14)).toEqual([]);
      });

      it("pages the audit log oldest first with `after`", async () => {
        for (let i = 1; i <= 5; i++) await store.appendAudit(audit(`e.${i}`));
        const first = await store.queryAudit({ order: "asc", limit: 2 });
        const second = await store.queryAudit({ order: "asc", limit: 2, after: first.at(-1)!.id });
        const third = await store.queryAudit({ order: "asc", limit: 2, after: second.at(-1)!.id });
        expect([...first, ...second, ...third].map((e) => e.action)).toEqual([
          "e.1",
          "e.2",
          "e.3",
          "e.4",
          "e.5",
        ]);
      });

      it("writes a sign-in or sign-out event with its session, and none for a session already gone", async () => {
        await store.createUser(user("alice"), audit("user.created"));
        const session = { idHash: "s1", userId: "alice", createdAt: T0, expiresAt: T0 + HOUR };
        await store.createSession(session, audit("login.succeeded"));
        await expect(store.createSession(session, audit("login.succeeded"))).rejects.toThrow();
        await store.deleteSession("s1", audit("logout"));
        await store.deleteSession("s1", audit("logout"));
        expect(await store.getSession("s1")).toBeNull();
        expect(await store.queryAudit({ action: "login.succeeded", limit: 10 })).toHaveLength(1);
        expect(await store.queryAudit({ action: "logout", limit: 10 })).toHaveLength(1);
      });
    });

    describe("invalidations", () => {
      it("announces changes to local listeners after commit, until unsubscribed", async () => {
        await withUserAndToken();
        const seen: Invalidation[] = [];
        const unsubscribe = store.onInvalidate((change) => seen.push(change));
        await store.revokeToken("t1", T0 + 1, audit("token.revoke"));
        expect(seen).toContainEqual({ type: "token", hash: "hash-t1" });
        unsubscribe();
        const count = seen.length;
        await store.updateUser("alice", { disabled: true }, audit("user.disable"), T0 + 2);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(seen).toHaveLength(count);
      });

      it("announces nothing for a change that did not happen", async () => {
        await withUserAndToken();
        const seen = collect(store);
        expect(await store.revokeToken("missing", T0 + 1, audit("token.revoke"))).toBe(false);
        expect(await store.rotateToken("missing", token("t2", "alice"), null, audit("token.rotate"))).toBe(
          false,
        );
        expect(await store.revokeTokens("bob", null, T0 + 1, audit("token.revoke-all"))).toEqual([]);
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(seen).toEqual([]);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// SQLite: a temporary file per test (a second instance must be able to open the same database).

async function sqliteDatabase(): Promise<TestDatabase> {
  const folder = await mkdtemp(join(tmpdir(), "steward-sqlite-"));
  const file = join(folder, "steward.db");
  const opened: Store[] = [];
  return {
    async open() {
      const store = SqliteStore.open(file);
      opened.push(store);
      await store.migrate();
      return store;
    },
    async raw(statement) {
      const connection = new BetterSqlite3(file);
      try {
        connection.exec(statement);
      } finally {
        connection.close();
      }
    },
    async dispose() {
      for (const store of opened) await store.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

describeStoreContract("SQLite", sqliteDatabase);

describe("SqliteStore across processes", () => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await sqliteDatabase();
  });
  afterEach(() => database.dispose());

  it("drops every cached entry when another connection commits", async () => {
    const first = await database.open();
    const second = await database.open();
    const seen = collect(first);
    await second.createUser(user("alice"), audit("user.create"));
    const elapsed = await waitFor(() => seen.some((c) => c.type === "all"), 1_000);
    expect(elapsed).toBeLessThan(1_000);
  });
});

// ---------------------------------------------------------------------------------------------------
// PostgreSQL: one embedded server for this file, a fresh database per test.

let server: TestPostgres;
const DATABASE_PREFIX = `steward_test_${process.pid}_${randomBytes(3).toString("hex")}`;
let databaseCount = 0;

async function postgresDatabase(): Promise<TestDatabase & { url: string }> {
  const name = `${DATABASE_PREFIX}_${++databaseCount}`;
  const url = await server.createDatabase(name);
  const opened: Store[] = [];
  return {
    url,
    async open() {
      const store = await PostgresStore.open(url, { poolSize: 4 });
      opened.push(store);
      await store.migrate();
      return store;
    },
    async raw(statement) {
      await withClient(url, (client) => client.query(statement));
    },
    async dispose() {
      for (const store of opened) await store.close();
      await server.dropDatabase(name);
    },
  };
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe("PostgreSQL", () => {
  beforeAll(async () => {
    const start = performance.now();
    server = await startPostgres();
    console.info(`PostgreSQL ready in ${Math.round(performance.now() - start)} ms`);
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeStoreContract("PostgreSQL", postgresDatabase);

  describe("PostgresStore across instances", () => {
    let database: TestDatabase & { url: string };
    beforeEach(async () => {
      database = await postgresDatabase();
    });
    afterEach(() => database.dispose());

    it("delivers a revoke made on one instance to another within 100 ms", async () => {
      const a = await database.open();
      const b = await database.open();
      await a.createUser(user("alice"), audit("user.create"));
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const id = `t${i}`;
        await a.createToken(token(id, "alice"), audit("token.create"));
        const seen = collect(b);
        await a.revokeToken(id, T0 + i, audit("token.revoke"));
        latencies.push(await waitFor(() => seen.some((c) => c.type === "token" && c.hash === `hash-${id}`)));
      }
      console.info(`NOTIFY latency after commit (ms): ${latencies.map((l) => l.toFixed(1)).join(", ")}`);
      expect(Math.max(...latencies)).toBeLessThan(1_000);
    });

    it("adds usage from concurrent flushes on two instances without deadlock", async () => {
      const a = await database.open();
      const b = await database.open();
      await a.createUser(user("alice"), audit("user.create"));
      for (const id of ["t1", "t2", "t3"]) await a.createToken(token(id, "alice"), audit("token.create"));
      const rounds = 20;
      const flushes: Promise<void>[] = [];
      for (let i = 0; i < rounds; i++) {
        flushes.push(a.addUsage(usageRound(i, "forward")), b.addUsage(usageRound(i, "backward")));
      }
      await Promise.all(flushes);
      expect(await usageOf(a)).toEqual(expectedUsage(rounds));
    });

    it("records concurrent expiry notices and new addresses once across instances", async () => {
      const instances = [await database.open(), await database.open(), await database.open()];
      const [a] = instances;
      await a!.createUser(user("alice"), audit("user.create"));
      await a!.createToken(token("t1", "alice", { expiresAt: T0 + DAY }), audit("token.create"));
      const notices = await Promise.all(
        instances.flatMap((s) => [1, 2].map(() => s.recordExpiryNotice("t1", 1, audit("token.expiring")))),
      );
      expect(notices.filter(Boolean)).toHaveLength(1);
      // The same new address flushed by three instances at once: one event, all counts.
      await Promise.all(
        instances.map((s, i) =>
          s.addUsage([{ tokenId: "t1", count: i + 1, lastUsedAt: T0 + i }], {
            deltas: [
              { tokenId: "t1", ip: "203.0.113.9", count: i + 1, firstSeenAt: T0 + i, lastSeenAt: T0 + i },
            ],
            granularity: "address",
            keepPerToken: 20,
          }),
        ),
      );
      expect(await a!.queryAudit({ action: "token.used.new-ip", limit: 10 })).toHaveLength(1);
      expect(await a!.listTokenAddresses("t1")).toEqual([
        { ip: "203.0.113.9", firstSeenAt: T0, lastSeenAt: T0 + 2, useCount: 6 },
      ]);
    });

    it("reports invalidations unreliable while the listener is cut off, then recovers", async () => {
      const a = await database.open();
      const b = await database.open();
      await a.createUser(user("alice"), audit("user.create"));
      await a.createToken(token("t1", "alice"), audit("token.create"));
      const seen = collect(a);
      const terminated = await withClient(database.url, (client) =>
        client.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE application_name = 'steward-listener' AND datname = current_database()`,
        ),
      );
      expect(terminated.rowCount).toBe(2);
      await waitFor(() => !a.invalidationsReliable());
      expect(seen).toEqual([{ type: "all" }]);
      const downFor = await waitFor(() => a.invalidationsReliable());
      console.info(`listener back after ${Math.round(downFor)} ms`);
      expect(seen).toEqual([{ type: "all" }, { type: "all" }]);
      // Listening again: a revoke made elsewhere arrives.
      await waitFor(() => b.invalidationsReliable());
      await b.revokeToken("t1", T0 + 1, audit("token.revoke"));
      await waitFor(() => seen.some((c) => c.type === "token" && c.hash === "hash-t1"));
    });
  });

  describe("PostgresStore.open errors", () => {
    const closedPort = async () => {
      const { createServer } = await import("node:net");
      return new Promise<number>((resolve) => {
        const probe = createServer().listen(0, "127.0.0.1", () => {
          const address = probe.address();
          probe.close(() => resolve(typeof address === "object" && address ? address.port : 1));
        });
      });
    };

    it("explains a malformed URL", async () => {
      await expect(PostgresStore.open("not a url")).rejects.toThrow(/not valid/);
      await expect(PostgresStore.open("mysql://u:p@localhost/db")).rejects.toThrow(
        /must start with postgres/,
      );
    });

    it("explains a server that is not running, without showing the password", async () => {
      const port = await closedPort();
      const error = await PostgresStore.open(`postgres://steward:hunter2@127.0.0.1:${port}/steward`).catch(
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/connection refused/);
      expect((error as Error).message).toContain(`127.0.0.1:${port}/steward as steward`);
      expect((error as Error).message).not.toContain("hunter2");
      expect((error as Error).cause).toBeDefined();
    });

    it("explains a wrong password and a missing database", async () => {
      const url = new URL(server.url);
      url.password = "wrong";
      await expect(PostgresStore.open(url.toString())).rejects.toThrow(/wrong password/);
      const missing = new URL(server.url);
      missing.pathname = "/no_such_database";
      await expect(PostgresStore.open(missing.toString())).rejects.toThrow(/does not exist/);
    });

    it("explains missing permissions to connect and to create tables", async () => {
      const database = await postgresDatabase();
      const role = `${DATABASE_PREFIX}_limited`;
      const name = new URL(database.url).pathname.slice(1);
      try {
        await withClient(database.url, async (client) => {
          await client.query(`CREATE ROLE ${role} LOGIN PASSWORD 'limited'`);
          await client.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
        });
        const limited = new URL(database.url);
        limited.username = role;
        limited.password = "limited";
        const store = await PostgresStore.open(limited.toString());
        await expect(store.migrate()).rejects.toThrow(/may not create Steward's tables/);
        await store.close();
        await withClient(database.url, (client) =>
          client.query(`REVOKE CONNECT ON DATABASE ${name} FROM PUBLIC`),
        );
        await expect(PostgresStore.open(limited.toString())).rejects.toThrow(/permission denied/);
      } finally {
        await database.dispose();
        await withClient(server.url, (client) => client.query(`DROP ROLE IF EXISTS ${role}`));
      }
    });
  });
});
