/**
 * PostgreSQL failures: `steward serve` refuses to start, with one clear line and a non-zero exit code
 * (never a stack trace), when the URL is wrong, the server is down, or the database user lacks
 * permissions; and a pooled connection killed in the middle of a statement neither crashes the process
 * nor breaks the store.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresStore } from "../src/store/postgres/postgres-store.js";
import { isDatabaseUnavailable } from "../src/store/postgres/unavailable.js";
import { startPostgres, type TestPostgres } from "./support/postgres.js";
import { makeTempDir, removeDir, runCli } from "./support/server-process.js";
import { audit, token, user } from "./support/store-records.js";

let postgres: TestPostgres;
let dataDir: string;
/** A role that may log in but owns nothing; random, since roles are server-wide. */
const limitedRole = `steward_limited_${randomBytes(4).toString("hex")}`;
const limitedPassword = randomBytes(12).toString("hex");

/** `postgres.url` with another user, password and/or database. */
function urlWith(changes: { user?: string; password?: string; database?: string; port?: number }): string {
  const url = new URL(postgres.url);
  if (changes.user !== undefined) url.username = changes.user;
  if (changes.password !== undefined) url.password = changes.password;
  if (changes.database !== undefined) url.pathname = `/${changes.database}`;
  if (changes.port !== undefined) url.port = String(changes.port);
  return url.toString();
}

async function admin(url: string, statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A port nothing listens on (asked from the kernel, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Runs `steward serve` with this database URL; it must exit on its own, and quickly. */
async function serve(databaseUrl: string) {
  const started = performance.now();
  const result = await runCli(["serve"], {
    dataDir,
    env: { STEWARD_DATABASE_URL: databaseUrl, STEWARD_PORT: "0", STEWARD_ADMIN_PASSWORD: "unused-password" },
  });
  return { ...result, ms: performance.now() - started };
}

/** A refusal: non-zero exit, nothing served, exactly one line on stderr, no stack trace, no password. */
function expectOneLineRefusal(result: Awaited<ReturnType<typeof serve>>, message: RegExp): void {
  expect(result.code, result.stderr).not.toBe(0);
  expect(result.code).not.toBeNull();
  expect(result.stdout).not.toContain("Steward listening");
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^steward: /);
  expect(lines[0]).toMatch(message);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).not.toContain(limitedPassword);
}

beforeAll(async () => {
  postgres = await startPostgres();
  dataDir = makeTempDir("steward-pg-startup-");
  await postgres.createDatabase("steward_no_create");
  await postgres.createDatabase("steward_no_connect");
  await admin(postgres.url, [
    `CREATE ROLE ${limitedRole} LOGIN PASSWORD '${limitedPassword}'`,
    "REVOKE CONNECT ON DATABASE steward_no_connect FROM PUBLIC",
  ]);
  // The default since PostgreSQL 15, made explicit for older servers.
  await admin(urlWith({ database: "steward_no_create" }), ["REVOKE CREATE ON SCHEMA public FROM PUBLIC"]);
}, 60_000);

afterAll(async () => {
  if (postgres) {
    await postgres.dropDatabase("steward_no_create").catch(() => undefined);
    await postgres.dropDatabase("steward_no_connect").catch(() => undefined);
    await admin(postgres.url, [`DROP ROLE IF EXISTS ${limitedRole}`]).catch(() => undefined);
    await postgres.stop();
  }
  if (dataDir) removeDir(dataDir);
});

// Child processes start slowly on a busy shared machine.
describe("steward serve refuses to start on PostgreSQL with a clear message", { timeout: 60_000 }, () => {
  it("when the database server is down (nothing listens on the port)", async () => {
    const port = await closedPort();
    const result = await serve(urlWith({ port, database: "steward" }));
    expectOneLineRefusal(
      result,
      new RegExp(
        `Cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}/steward as postgres: connection refused`,
      ),
    );
    console.info(`database down: serve exited ${result.code} after ${result.ms.toFixed(0)} ms`);
  });

  it("when the URL is not a PostgreSQL URL, or not a URL at all", async () => {
    const mysql = await serve("mysql://steward@127.0.0.1/steward");
    expectOneLineRefusal(
      mysql,
      /STEWARD_DATABASE_URL \(--database-url\) must start with postgres:\/\/ or postgresql:\/\//,
    );
    expect(mysql.code).toBe(2);
    for (const url of [
      "postgres://steward@[not-a-host/steward",
      "postgres://steward@127.0.0.1:99999/steward",
    ]) {
      const garbled = await serve(url);
      expectOneLineRefusal(garbled, /STEWARD_DATABASE_URL \(--database-url\) is not a valid URL/);
      expect(garbled.code).toBe(2);
    }
  });

  it("when the host does not exist", async () => {
    const result = await serve("postgres://steward:secret@steward-test.invalid:5432/steward");
    expectOneLineRefusal(
      result,
      /Cannot connect to PostgreSQL at steward-test\.invalid:5432\/steward .*host/,
    );
  });

  it("when the password is wrong or the database does not exist", async () => {
    const [password, database] = await Promise.all([
      serve(urlWith({ password: "wrong-password" })),
      serve(urlWith({ database: "steward_missing" })),
    ]);
    expectOneLineRefusal(password, /wrong password for that user/);
    expect(password.stderr).not.toContain("wrong-password");
    expectOneLineRefusal(database, /that database does not exist \(create it first\)/);
  });

  it("when the user may not connect to the database, or may not create tables in it", async () => {
    const [connect, create] = await Promise.all([
      serve(urlWith({ user: limitedRole, password: limitedPassword, database: "steward_no_connect" })),
      serve(urlWith({ user: limitedRole, password: limitedPassword, database: "steward_no_create" })),
    ]);
    expectOneLineRefusal(connect, /permission denied \(the user needs CONNECT on the database\)/);
    expectOneLineRefusal(create, /may not create Steward's tables\. Grant it CREATE on the schema/);
  });

  it("and `steward migrate` says the same", async () => {
    const port = await closedPort();
    const result = await runCli(["--database-url", urlWith({ port }), "migrate"], { dataDir });
    expect(result.code).not.toBe(0);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^steward: Cannot connect to PostgreSQL at .*: connection refused/);
  });
});

describe("a pooled connection killed in the middle of a statement", () => {
  it("fails that statement as 'unavailable', does not crash the process, and the store carries on", async () => {
    const url = await postgres.createDatabase("steward_killed");
    const store = await PostgresStore.open(url);
    const holder = new pg.Client({ connectionString: url });
    try {
      await store.migrate();
      const now = Date.now();
      await store.createUser(user("alice", { createdAt: now, updatedAt: now }), audit("user.created"));
      await store.createToken(
        token("t1", "alice", { name: "ci", hash: "0".repeat(64), createdAt: now }),
        audit("token.created"),
      );

      // Hold the token's row so that the store's usage update waits, in flight, on its connection…
      await holder.connect();
      await holder.query("BEGIN");
      await holder.query("SELECT id FROM tokens WHERE id = 't1' FOR UPDATE");
      const flush = store.addUsage([{ tokenId: "t1", count: 1, lastUsedAt: now }]);
      const outcome = flush.then(
        () => null,
        (error: unknown) => error,
      );
      const waiting = async () => {
        const result = await holder.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'steward' AND wait_event_type = 'Lock'",
        );
        return result.rows[0]?.pid;
      };
      let pid: number | undefined;
      for (let i = 0; i < 250 && pid === undefined; i++) {
        pid = await waiting();
        if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(pid).toBeDefined();
      // …and kill that connection: the server sends FATAL, then closes the socket, which node-postgres
      // reports as an 'error' event on a client the pool has lent out (fatal without a listener).
      await holder.query("SELECT pg_terminate_backend($1, 5000)", [pid]);
      const error = await outcome;
      expect(error).toBeInstanceOf(Error);
      expect(isDatabaseUnavailable(error)).toBe(true);
      await holder.query("ROLLBACK");
      // Give the closed socket's events time to fire (an unhandled one would fail this test file).
      await new Promise((resolve) => setTimeout(resolve, 200));

      await store.addUsage([{ tokenId: "t1", count: 2, lastUsedAt: now }]);
      expect((await store.getToken("t1"))?.useCount).toBe(2);
      await store.ping();
    } finally {
      await holder.end().catch(() => undefined);
      await store.close();
      await postgres.dropDatabase("steward_killed");
    }
  });
});
