/**
 * Rate-limit state is shared (SPEC §7): several Steward instances on one database give an attacker one
 * failure budget per address and per user, not one per instance, and a restart does not reset it. Two
 * in-process instances (store, services, app) on one PostgreSQL database, and on one SQLite file.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../src/core/clock.js";
import { LEAK_REPORTS_PER_WINDOW } from "../src/http/routes/api-token-leak.js";
import { PostgresStore } from "../src/store/postgres/postgres-store.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { Store } from "../src/store/store.js";
import { basic, createTestApp, postLoginForm, type TestApp } from "./support/harness.js";
import { startPostgres, type TestPostgres } from "./support/postgres.js";

const PER_IP = 6;
const PER_USER = 10;
const WINDOW_MS = 60_000;
const ATTACKER = "203.0.113.66";
const GUESSED_TOKEN = "stw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000";

/** One database that several stores (instances) can open. */
interface SharedDatabase {
  open(): Promise<Store>;
  dispose(): Promise<void>;
}

let postgres: TestPostgres | undefined;
const DATABASE_PREFIX = `steward_limits_${process.pid}_${randomBytes(3).toString("hex")}`;
let databases = 0;

const BACKENDS: Array<[string, () => Promise<SharedDatabase>]> = [
  [
    "SQLite (one file)",
    async () => {
      const folder = await mkdtemp(join(tmpdir(), "steward-limits-"));
      return {
        open: async () => SqliteStore.open(join(folder, "steward.db")),
        dispose: () => rm(folder, { recursive: true, force: true }),
      };
    },
  ],
  [
    "PostgreSQL (one database)",
    async () => {
      postgres ??= await startPostgres();
      const server = postgres;
      const name = `${DATABASE_PREFIX}_${++databases}`;
      const url = await server.createDatabase(name);
      return {
        open: () => PostgresStore.open(url, { poolSize: 4 }),
        dispose: () => server.dropDatabase(name),
      };
    },
  ],
];

afterAll(async () => {
  await postgres?.stop();
});

describe.each(BACKENDS)("shared failure limits: %s", (_name, freshDatabase) => {
  let database: SharedDatabase;
  let clock: ManualClock;
  const running: TestApp[] = [];
  let A: TestApp;
  let B: TestApp;
  let aliceToken: string;

  /** A Steward instance on the shared database. */
  async function instance(): Promise<TestApp> {
    const t = await createTestApp({
      clock,
      store: await database.open(),
      config: { authFailuresPerIp: PER_IP, authFailuresPerUser: PER_USER, authFailureWindowMs: WINDOW_MS },
    });
    running.push(t);
    return t;
  }

  async function stop(t: TestApp): Promise<void> {
    running.splice(running.indexOf(t), 1);
    await t.close();
  }

  beforeAll(async () => {
    database = await freshDatabase();
    clock = new ManualClock(Date.UTC(2026, 10, 1, 12));
    A = await instance();
    B = await instance();
    await A.addUser("alice", "alice-password");
    await A.addUser("bob", "bob-password");
    aliceToken = (await A.addToken("alice")).value;
  });
  afterAll(async () => {
    for (const t of [...running]) await stop(t);
    await database?.dispose();
  });
  // Each test in a window of its own.
  beforeEach(() => clock.advance(WINDOW_MS));
  afterEach(() => vi.restoreAllMocks());

  function get(t: TestApp, url: string, authorization: string, remoteAddress: string) {
    return t.app.inject({ method: "GET", url, headers: { authorization }, remoteAddress });
  }

  function login(t: TestApp, user: string, password: string, remoteAddress: string) {
    return postLoginForm(t.app, user, password, remoteAddress);
  }

  function expectLimited(response: LightMyRequestResponse): void {
    expect(response.statusCode).toBe(429);
    const retryAfter = Number(response.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
  }

  it("adds up failures spread over both instances to one per-address budget", async () => {
    for (let i = 0; i < PER_IP; i++) {
      const t = i % 2 === 0 ? A : B;
      expect((await get(t, "/api/v1/me", basic(`user${i}`, `guess-${i}`), ATTACKER)).statusCode).toBe(401);
    }
    expectLimited(await get(A, "/api/v1/me", basic("bob", "bob-password"), ATTACKER));
    expectLimited(await get(B, "/api/v1/me", basic("bob", "bob-password"), ATTACKER));
    expectLimited(await get(B, "/whoAmI/api/json", basic("nobody", GUESSED_TOKEN), ATTACKER));
    // A valid token still works on both, from that very address.
    for (const t of [A, B])
      expect((await get(t, "/api/v1/me", basic("alice", aliceToken), ATTACKER)).statusCode).toBe(200);
    // Another address is not affected, on either instance.
    expect((await get(B, "/api/v1/me", basic("bob", "bob-password"), "192.0.2.1")).statusCode).toBe(200);
  });

  it("counts a concurrent burst over both instances exactly: no more 401s than the budget", async () => {
    const responses = await Promise.all(
      Array.from({ length: 4 * PER_IP }, (_, i) =>
        get(i % 2 === 0 ? A : B, "/api/v1/me", basic(`burst${i}`, "guess"), ATTACKER),
      ),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(PER_IP);
    expect(statuses.filter((s) => s === 429)).toHaveLength(3 * PER_IP);
  });

  it("adds up one user's failures from many addresses over both instances to one per-user budget", async () => {
    for (let i = 0; i < PER_USER; i++) {
      const t = i % 2 === 0 ? A : B;
      expect((await get(t, "/api/v1/me", basic("alice", `guess-${i}`), `198.18.0.${i + 1}`)).statusCode).toBe(
        401,
      );
    }
    expectLimited(await login(A, "alice", "alice-password", "192.0.2.10"));
    expectLimited(await get(B, "/api/v1/me", basic("ALICE", "alice-password"), "192.0.2.11"));
    for (const t of [A, B])
      expect((await get(t, "/api/v1/me", basic("alice", aliceToken), "192.0.2.12")).statusCode).toBe(200);
  });

  it("shares the login form's counter with Basic on the other instance", async () => {
    for (let i = 0; i < PER_IP; i++) {
      const failed = await login(i % 2 === 0 ? A : B, "bob", `guess-${i}`, ATTACKER);
      expect(failed.headers.location).toMatch(/^\/loginError/);
    }
    expectLimited(await login(A, "bob", "bob-password", ATTACKER));
    expectLimited(await get(B, "/api/v1/me", basic("bob", "bob-password"), ATTACKER));
  });

  it("keeps the count across a restart: a new instance sees the window's failures", async () => {
    for (let i = 0; i < PER_IP - 1; i++) {
      expect((await get(A, "/api/v1/me", basic("bob", `guess-${i}`), ATTACKER)).statusCode).toBe(401);
    }
    await stop(A);
    A = await instance();
    expect((await get(A, "/api/v1/me", basic("bob", "guess-last"), ATTACKER)).statusCode).toBe(401);
    expectLimited(await get(A, "/api/v1/me", basic("bob", "bob-password"), ATTACKER));
    await stop(A);
    A = await instance();
    expectLimited(await get(A, "/api/v1/me", basic("bob", "bob-password"), ATTACKER));
    // Until the window ends.
    clock.advance(WINDOW_MS);
    expect((await get(A, "/api/v1/me", basic("bob", "bob-password"), ATTACKER)).statusCode).toBe(200);
  });

  it("shares forward auth's and leak reports' per-address limits too", async () => {
    const verify = (t: TestApp, authorization: string) =>
      t.app.inject({
        method: "GET",
        url: "/auth/verify",
        headers: { authorization },
        remoteAddress: ATTACKER,
      });
    for (let i = 0; i < PER_IP; i++) {
      expect((await verify(i % 2 === 0 ? A : B, `Bearer ${GUESSED_TOKEN}`)).statusCode).toBe(401);
    }
    expectLimited(await verify(A, `Bearer ${GUESSED_TOKEN}`));
    expectLimited(await verify(B, `Bearer ${GUESSED_TOKEN}`));
    expect((await verify(B, `Bearer ${aliceToken}`)).statusCode).toBe(200);

    const report = (t: TestApp) =>
      t.app.inject({
        method: "POST",
        url: "/api/v1/tokens/report-leak",
        payload: { tokens: [] },
        remoteAddress: ATTACKER,
      });
    for (let i = 0; i < LEAK_REPORTS_PER_WINDOW; i++) {
      expect((await report(i % 2 === 0 ? A : B)).statusCode).toBe(202);
    }
    expect((await report(A)).statusCode).toBe(429);
    expect((await report(B)).statusCode).toBe(429);
  });

  it("never touches the counters for a valid token", async () => {
    const stores = [A.store, B.store];
    const calls = stores.flatMap((store) => [
      vi.spyOn(store, "countAuthFailures"),
      vi.spyOn(store, "recordAuthFailure"),
    ]);
    for (const t of [A, B]) {
      for (const address of [ATTACKER, "192.0.2.1"]) {
        expect((await get(t, "/api/v1/me", basic("alice", aliceToken), address)).statusCode).toBe(200);
        expect(
          (
            await t.app.inject({
              method: "GET",
              url: "/auth/verify",
              headers: { authorization: `Bearer ${aliceToken}` },
              remoteAddress: address,
            })
          ).statusCode,
        ).toBe(200);
      }
    }
    for (const spy of calls) expect(spy).not.toHaveBeenCalled();
  });

  it("answers 503, not 500, when the counters cannot be reached", async () => {
    const down = () =>
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    vi.spyOn(A.store, "countAuthFailures").mockImplementation(async () => {
      throw down();
    });
    vi.spyOn(A.store, "recordAuthFailure").mockImplementation(async () => {
      throw down();
    });
    const response = await get(A, "/api/v1/me", basic("bob", "wrong"), "192.0.2.99");
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: { code: "unavailable" } });
    expect((await login(A, "bob", "wrong", "192.0.2.99")).statusCode).toBe(503);
  });
});
