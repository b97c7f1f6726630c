/**
 * Database outage (SPEC §10): while the database cannot be reached, requests get a clear 503
 * (`{"error":{"code":"unavailable"}}` on the API, `Retry-After`) within a bounded time — never a 500,
 * never a stale "valid" from a cache — and once it is back Steward recovers by itself, no restart.
 *
 * SQLite: the store fails with the errors a lost or locked database raises (and a real lock held by
 * another process). PostgreSQL: a real server behind a TCP relay that is cut (connections reset, new
 * ones refused) and restored, against a real Steward process.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { ManualClock } from "../src/core/clock.js";
import { createPasswordHasher } from "../src/core/password.js";
import { systemRandom } from "../src/core/random.js";
import { createApp } from "../src/http/app.js";
import { buildServices } from "../src/service/services.js";
import { KyselyStore } from "../src/store/kysely-store.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { Store } from "../src/store/store.js";
import { basic, createTestApp, SYSTEM_ACTOR, signIn, type TestApp } from "./support/harness.js";
import { startPostgres, type TestPostgres } from "./support/postgres.js";
import {
  ADMIN_PASSWORD,
  basicAuth,
  makeTempDir,
  removeDir,
  type ServerProcess,
  startServerProcess,
} from "./support/server-process.js";

/** How fast a request must be refused while the database is down. */
const BOUND_MS = 3000;
const METHODS = "/me/descriptorByName/jenkins.security.ApiTokenProperty";

/** Errors as the drivers raise them when the database is gone, locked or overloaded. */
function outageErrors(): Array<[string, () => Error]> {
  const withCode = (message: string, code: string) => () => Object.assign(new Error(message), { code });
  return [
    ["connection refused", withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED")],
    ["connection reset", withCode("read ECONNRESET", "ECONNRESET")],
    [
      "server shutting down (57P01)",
      withCode("terminating connection due to administrator command", "57P01"),
    ],
    ["connection failure (08006)", withCode("connection failure", "08006")],
    ["too many connections (53300)", withCode("sorry, too many clients already", "53300")],
    ["connection lost (no code)", () => new Error("Connection terminated unexpectedly")],
    ["pool exhausted (no code)", () => new Error("timeout exceeded when trying to connect")],
    ["SQLite locked (SQLITE_BUSY)", withCode("database is locked", "SQLITE_BUSY")],
    ["SQLite I/O error (SQLITE_IOERR)", withCode("disk I/O error", "SQLITE_IOERR_READ")],
    ["SQLite cannot open (SQLITE_CANTOPEN)", withCode("unable to open database file", "SQLITE_CANTOPEN")],
  ];
}

/** Makes every store operation (the Store interface, as KyselyStore implements it) throw `error()`. */
function breakStore(store: Store, error: () => Error): () => void {
  const target = store as unknown as Record<string, unknown>;
  const internal = new Set(["constructor", "change", "emit", "publish", "migrate", "close", "onInvalidate"]);
  const names = Object.getOwnPropertyNames(KyselyStore.prototype).filter(
    (name) => !internal.has(name) && typeof target[name] === "function",
  );
  for (const name of names) {
    target[name] = async () => {
      throw error();
    };
  }
  return () => {
    for (const name of names) delete target[name];
  };
}

describe("database outage, in memory (every kind of connection error)", () => {
  let t: TestApp;
  let token: string;
  let cookie: string;
  beforeAll(async () => {
    t = await createTestApp();
    await t.addUser("alice", "alice-password");
    token = (await t.addToken("alice")).value;
    cookie = await signIn(t.app, "alice", "alice-password");
  });
  afterAll(async () => t.close());

  it.each(outageErrors())(
    "%s → 503 unavailable on every surface, then recovery without restart",
    async (_label, error) => {
      const repair = breakStore(t.store, error);
      try {
        const api = await t.app.inject({
          method: "GET",
          url: "/api/v1/me",
          headers: { authorization: basic("alice", "not-a-token") },
        });
        expect(api.statusCode).toBe(503);
        expect(api.json()).toEqual({ error: { code: "unavailable", message: expect.any(String) } });
        expect(api.headers["retry-after"]).toMatch(/^\d+$/);
        expect(api.body).not.toMatch(/ECONN|SQLITE|57P01|terminated|timeout/i);

        const ready = await t.app.inject({ method: "GET", url: "/readyz" });
        expect(ready.statusCode).toBe(503);
        expect(ready.json()).toMatchObject({ error: { code: "unavailable" } });

        const jenkins = await t.app.inject({
          method: "POST",
          url: `${METHODS}/generateNewToken?newTokenName=during-outage`,
          headers: { authorization: basic("alice", `stw_${"B".repeat(30)}000000`) },
        });
        expect(jenkins.statusCode).toBe(503);
        const page = await t.app.inject({ method: "GET", url: "/account/tokens", headers: { cookie } });
        expect(page.statusCode).toBe(503);
        const login = await t.app.inject({
          method: "POST",
          url: "/j_spring_security_check",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          payload: "j_username=alice&j_password=alice-password",
        });
        expect(login.statusCode).toBe(503);
      } finally {
        repair();
      }
      expect((await t.app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
      const back = await t.app.inject({
        method: "GET",
        url: "/api/v1/me",
        headers: { authorization: basic("alice", token) },
      });
      expect(back.statusCode).toBe(200);
    },
  );

  it("still answers 500 (not 503) for a programming error: the mapping is not a blanket", async () => {
    const repair = breakStore(
      t.store,
      () => new TypeError("Cannot read properties of undefined (reading 'id')"),
    );
    try {
      const api = await t.app.inject({
        method: "GET",
        url: "/api/v1/me",
        headers: { authorization: basic("alice", "x") },
      });
      expect(api.statusCode).toBe(500);
      expect(api.json()).toMatchObject({ error: { code: "internal" } });
    } finally {
      repair();
    }
  });
});

describe("not an outage", () => {
  it("an upload the client aborts (ECONNRESET) is a 400, not a 503 logged as 'database unavailable'", async () => {
    const store = SqliteStore.open(":memory:");
    await store.migrate();
    const services = await buildServices({
      store,
      config: loadConfig({}, { usageFlushMs: 60_000 }),
      clock: new ManualClock(),
      random: systemRandom,
      passwords: createPasswordHasher(10),
    });
    let logs = "";
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        logs += String(chunk);
        done();
      },
    });
    const app = await createApp(services, { logStream });
    try {
      let reads = 0;
      const payload = new Readable({
        read() {
          if (reads++ === 0) this.push("j_username=alice&j_pass");
          else this.destroy(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));
        },
      });
      const response = await app.inject({
        method: "POST",
        url: "/j_spring_security_check",
        headers: { "content-type": "application/x-www-form-urlencoded", "content-length": "100" },
        payload,
      });
      expect(response.statusCode).toBe(400);
      expect(logs).not.toContain("database unavailable");
    } finally {
      await app.close();
      await store.close();
    }
  });
});

describe("database outage, SQLite locked by another process", () => {
  let dir: string;
  let close: () => Promise<void>;
  afterEach(async () => {
    await close?.();
    if (dir) removeDir(dir);
  });

  it("answers a write 503 after the busy timeout (5 s) while another process holds the lock, and recovers when it goes", async () => {
    dir = makeTempDir("steward-locked-");
    const file = join(dir, "steward.db");
    const store = SqliteStore.open(file);
    await store.migrate();
    const config = loadConfig({}, { dataDir: dir, usageFlushMs: 60_000 });
    const services = await buildServices({
      store,
      config,
      clock: new ManualClock(),
      random: systemRandom,
      passwords: createPasswordHasher(10),
    });
    const app = await createApp(services, { logger: false });
    close = async () => {
      await app.close();
      await store.close();
    };
    await services.users.create(SYSTEM_ACTOR, { id: "alice", password: "alice-password", roles: ["user"] });
    const issued = await services.tokens.create(SYSTEM_ACTOR, await services.users.get("alice"), {
      name: "ci",
    });
    const auth = { authorization: basic("alice", issued.value) };

    // Another process (say, a long `steward import`) holds the write lock.
    const other = new BetterSqlite3(file);
    other.pragma("busy_timeout = 0");
    other.exec("BEGIN IMMEDIATE");
    try {
      expect((await app.inject({ method: "GET", url: "/api/v1/me", headers: auth })).statusCode).toBe(200);
      const started = Date.now();
      const write = await app.inject({
        method: "POST",
        url: `${METHODS}/generateNewToken?newTokenName=x`,
        headers: auth,
      });
      expect(write.statusCode).toBe(503);
      expect(write.headers["retry-after"]).toBeDefined();
      // Bounded by SQLite's busy timeout (5 s), not forever.
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    const after = await app.inject({
      method: "POST",
      url: `${METHODS}/generateNewToken?newTokenName=y`,
      headers: auth,
    });
    expect(after.statusCode).toBe(200);
  }, 30_000);
});

/** A TCP relay to PostgreSQL that can be cut (connections reset, new ones refused) and restored. */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    this.port = typeof address === "object" && address ? address.port : 0;
    this.server = server;
  }

  /** The database "goes down": every connection is reset, new ones are refused. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

describe("database outage, PostgreSQL down and back (real server process)", () => {
  let postgres: TestPostgres;
  let relay: Relay;
  let server: ServerProcess | null = null;
  let dataDir: string;

  beforeAll(async () => {
    postgres = await startPostgres();
    const direct = new URL(await postgres.createDatabase("steward_outage"));
    relay = new Relay({ host: direct.hostname, port: Number(direct.port) });
    await relay.open();
    const viaRelay = new URL(direct);
    viaRelay.port = String(relay.port);
    dataDir = makeTempDir("steward-outage-");
    server = await startServerProcess({
      dataDir,
      env: { STEWARD_DATABASE_URL: viaRelay.toString(), STEWARD_DATABASE_CONNECT_TIMEOUT_MS: "1000" },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop().catch(() => undefined);
    await relay?.cut();
    await postgres?.stop();
    if (dataDir) removeDir(dataDir);
  });

  async function timed(method: string, path: string, headers: Record<string, string> = {}) {
    const started = Date.now();
    const response = await fetch(`${server!.url}${path}`, { method, headers });
    const text = await response.text();
    return { status: response.status, text, headers: response.headers, ms: Date.now() - started };
  }

  it(`answers 503 within ${BOUND_MS} ms while PostgreSQL is down, and recovers without a restart`, async () => {
    const admin = basicAuth("admin", ADMIN_PASSWORD);
    const crumb = await fetch(`${server!.url}/crumbIssuer/api/json`, { headers: { authorization: admin } });
    const cookie = crumb.headers.getSetCookie()[0]!.split(";", 1)[0]!;
    const generated = await fetch(`${server!.url}${METHODS}/generateNewToken?newTokenName=before`, {
      method: "POST",
      headers: {
        authorization: admin,
        cookie,
        "jenkins-crumb": ((await crumb.json()) as { crumb: string }).crumb,
      },
    });
    const token = ((await generated.json()) as { data: { tokenValue: string } }).data.tokenValue;
    const auth = { authorization: basicAuth("admin", token) };
    // The token is verified (and cached) while all is well.
    for (let i = 0; i < 3; i++) expect((await timed("GET", "/api/v1/me", auth)).status).toBe(200);
    expect((await timed("GET", "/readyz")).status).toBe(200);
    const pid = server!.pid;

    await relay.cut();
    const during = [
      await timed("GET", "/readyz"),
      await timed("GET", "/api/v1/me", auth),
      await timed("GET", "/me/api/json", auth),
      await timed("POST", `${METHODS}/generateNewToken?newTokenName=during`, auth),
      await timed("GET", "/api/v1/tokens", auth),
    ];
    for (const answer of during) {
      // Never a stale "valid" from the cache, never a 500: a clear 503, fast.
      expect({ status: answer.status, fast: answer.ms < BOUND_MS }).toEqual({ status: 503, fast: true });
    }
    expect(JSON.parse(during[1]!.text)).toEqual({
      error: { code: "unavailable", message: expect.any(String) },
    });
    expect(during[1]!.headers.get("retry-after")).toMatch(/^\d+$/);

    await relay.open();
    // Back within a few seconds, by itself.
    const deadline = Date.now() + 15_000;
    let ready = await timed("GET", "/readyz");
    while (ready.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      ready = await timed("GET", "/readyz");
    }
    expect(ready.status).toBe(200);
    expect((await timed("GET", "/api/v1/me", auth)).status).toBe(200);
    const after = await timed("POST", `${METHODS}/generateNewToken?newTokenName=after`, auth);
    expect(after.status).toBe(200);
    const fresh = (JSON.parse(after.text) as { data: { tokenValue: string } }).data.tokenValue;
    expect(
      (await timed("GET", "/whoAmI/api/json", { authorization: basicAuth("admin", fresh) })).text,
    ).toContain('"name":"admin"');
    expect(server!.pid).toBe(pid);
    expect(server!.output()).not.toMatch(/unhandled error/);
  }, 90_000);

  // A database that stops answering without closing connections (a network partition): new connections
  // time out (STEWARD_DATABASE_CONNECT_TIMEOUT_MS) and get 503, but a request on an already pooled
  // connection waits until TCP gives up, minutes later. Needs a client-side query timeout in the pool.
  it.todo("answers 503 within a bounded time when PostgreSQL stops answering without closing connections");
});
