/**
 * Three real `steward serve` processes sharing one real PostgreSQL (SPEC §7, issue 6): tokens created on
 * one work on all at once, revokes and user deletions reach every instance's cache through LISTEN/NOTIFY,
 * a lost notification connection makes instances stop trusting their caches, a PostgreSQL outage is a
 * fast 503 with recovery without restarting Steward, and usage counts from all instances add up exactly.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type TestPostgres } from "./support/postgres.js";
import {
  ADMIN_PASSWORD,
  basicAuth,
  makeTempDir,
  removeDir,
  runCli,
  type ServerProcess,
  startServerProcess,
} from "./support/server-process.js";

const METHODS = "me/descriptorByName/jenkins.security.ApiTokenProperty";
/** The application_name of the instances' LISTEN connections (src/store/postgres/postgres-store.ts). */
const LISTENER = "steward-listener";
const DATABASE = "steward_cluster";

let postgres: TestPostgres;
let databaseUrl: string;
let cliDir: string;
const servers: ServerProcess[] = [];
let A: ServerProcess;
let B: ServerProcess;
let C: ServerProcess;
/** An API token of the first admin, used to create and revoke the tokens under test (no crumb needed). */
let adminToken: string;

function startInstance(): Promise<ServerProcess> {
  return startServerProcess({
    env: {
      STEWARD_DATABASE_URL: databaseUrl,
      STEWARD_USAGE_FLUSH_MS: "200",
      // Polling a revoked token counts as failed attempts (from 127.0.0.1, and as a wrong password for
      // admin): they must not turn into 429s.
      STEWARD_AUTH_FAILURES_PER_IP: "1000000",
      STEWARD_AUTH_FAILURES_PER_USER: "1000000",
    },
  });
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

/** How many Steward instances are LISTENing on the test database right now. */
async function listeners(): Promise<number> {
  return withClient(postgres.url, async (client) => {
    const result = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = $2",
      [LISTENER, DATABASE],
    );
    return result.rows[0]!.n;
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** GET `path` on `server`, as admin with `secret` (token or password) if given; status, headers, body. */
async function get(server: ServerProcess, path: string, secret?: string) {
  const headers: Record<string, string> = secret ? { authorization: basicAuth("admin", secret) } : {};
  const response = await fetch(`${server.url}/${path}`, { headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

/** A REST API call as admin (token, so no crumb); status and parsed JSON body (null when none). */
async function api(server: ServerProcess, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: basicAuth("admin", adminToken) };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${server.url}/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
}

/** Status of `GET /api/v1/me` with this token on this instance. */
async function meStatus(server: ServerProcess, token: string): Promise<number> {
  return (await get(server, "api/v1/me", token)).status;
}

interface Minted {
  value: string;
  uuid: string;
}

/** A user's token, the Jenkins way: password + a crumb bound to the session cookie, then generateNewToken. */
async function tokenWithPassword(server: ServerProcess, user: string, password: string, name: string) {
  const crumbResponse = await fetch(`${server.url}/crumbIssuer/api/json`, {
    headers: { authorization: basicAuth(user, password) },
  });
  expect(crumbResponse.status).toBe(200);
  const { crumb } = (await crumbResponse.json()) as { crumb: string };
  const cookie = crumbResponse.headers
    .getSetCookie()
    .map((c) => c.split(";", 1)[0])
    .join("; ");
  const created = await fetch(`${server.url}/${METHODS}/generateNewToken?newTokenName=${name}`, {
    method: "POST",
    headers: { authorization: basicAuth(user, password), "Jenkins-Crumb": crumb, cookie },
  });
  expect(created.status).toBe(200);
  return ((await created.json()) as { data: { tokenValue: string } }).data.tokenValue;
}

/** Changes the token policy on `server` and waits until every instance applies it. */
async function setPolicy(server: ServerProcess, patch: Record<string, unknown>): Promise<void> {
  expect((await api(server, "PATCH", "api/v1/settings", patch)).status).toBe(200);
  for (const other of servers) {
    await waitFor("the policy on every instance", async () => {
      const current = (await api(other, "GET", "api/v1/settings")).body as Record<string, unknown>;
      return Object.entries(patch).every(([key, value]) => current[key] === value) ? true : undefined;
    });
  }
}

/** Jenkins' generateNewToken on `server`, authenticated with the admin token. */
async function mint(server: ServerProcess, name: string): Promise<Minted> {
  const response = await fetch(`${server.url}/${METHODS}/generateNewToken?newTokenName=${name}`, {
    method: "POST",
    headers: { authorization: basicAuth("admin", adminToken) },
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { data: { tokenValue: string; tokenUuid: string } };
  return { value: body.data.tokenValue, uuid: body.data.tokenUuid };
}

/** Jenkins' revoke on `server`; resolves when the server has acknowledged it. */
async function revoke(server: ServerProcess, uuid: string): Promise<void> {
  const response = await fetch(`${server.url}/${METHODS}/revoke?tokenUuid=${uuid}`, {
    method: "POST",
    headers: { authorization: basicAuth("admin", adminToken) },
  });
  await response.arrayBuffer();
  expect(response.status).toBe(200);
}

/** When a revoked token stopped working on an instance, in ms after `since` (the revoke's acknowledgment). */
interface Refusal {
  /** The first refusal arrived: an upper bound (it includes that request's own database check). */
  refusedBy: number;
  /** The last acceptance was sent (0 when there was none): a lower bound. */
  acceptedUntil: number;
}

/** Polls `/api/v1/me` with a revoked token, back to back, until it is refused. */
async function refusal(server: ServerProcess, token: string, since: number): Promise<Refusal> {
  let acceptedUntil = 0;
  for (;;) {
    const sent = performance.now();
    const status = await meStatus(server, token);
    if (status === 401) return { refusedBy: performance.now() - since, acceptedUntil };
    expect(status).toBe(200);
    acceptedUntil = Math.max(0, sent - since);
    if (performance.now() - since > 5_000) throw new Error("a revoked token still works after 5 s");
  }
}

async function refusedAfter(server: ServerProcess, token: string, since: number): Promise<number> {
  return (await refusal(server, token, since)).refusedBy;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

beforeAll(async () => {
  postgres = await startPostgres();
  databaseUrl = await postgres.createDatabase(DATABASE);
  cliDir = makeTempDir("steward-cluster-cli-");
  // A migrates the empty database and creates the first admin; B and C find both done.
  A = await startInstance();
  servers.push(A);
  [B, C] = await Promise.all([startInstance(), startInstance()]);
  servers.push(B, C);

  adminToken = await tokenWithPassword(A, "admin", ADMIN_PASSWORD, "cluster-admin");
  await waitFor("three listeners", async () => ((await listeners()) === 3 ? true : undefined));
}, 90_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
  for (const server of servers) removeDir(server.dataDir);
  if (cliDir) removeDir(cliDir);
  await postgres?.stop();
});

// Child processes start slowly on a busy shared machine.
describe("three Steward instances on one PostgreSQL", { timeout: 120_000 }, () => {
  it("a token created on A works on B and C at once", async () => {
    const token = await mint(A, "at-once");
    const statuses = await Promise.all([B, C, A].map((server) => meStatus(server, token.value)));
    expect(statuses).toEqual([200, 200, 200]);
    const me = await get(C, "api/v1/me", token.value);
    expect(JSON.parse(me.text)).toMatchObject({ id: "admin", authenticatedBy: "token", tokenId: token.uuid });
  });

  it("a token revoked on C is refused by A and B, which had it cached, within 100 ms", async () => {
    const cycles = 30;
    const refusals: Refusal[] = [];
    // A refused token then fails fast (no password check as a fallback), so the figures measure the
    // revocation rather than scrypt. The change itself reaches every instance through the same channel.
    await setPolicy(B, { passwordBasicAuthEnabled: false });
    try {
      for (let i = 0; i < cycles; i++) {
        const token = await mint(A, `cycle-${i}`);
        // Used twice on A and B: the second use is answered from their caches.
        for (const server of [A, B, A, B, C]) expect(await meStatus(server, token.value)).toBe(200);
        await revoke(C, token.uuid);
        const acknowledged = performance.now();
        // Polled back to back on A and B at once, from the moment C acknowledged.
        refusals.push(
          ...(await Promise.all([A, B].map((server) => refusal(server, token.value, acknowledged)))),
        );
        expect(await meStatus(C, token.value)).toBe(401);
      }
    } finally {
      await setPolicy(C, { passwordBasicAuthEnabled: true });
    }
    const upper = refusals.map((r) => r.refusedBy);
    const lower = refusals.map((r) => r.acceptedUntil);
    const stale = refusals.filter((r) => r.acceptedUntil > 0).length;
    console.info(
      [
        `revocation on C → refused on A and B (${refusals.length} measurements, ${cycles} cycles):`,
        `  first refusal received: p50 ${ms(percentile(upper, 50))}, p99 ${ms(percentile(upper, 99))}, max ${ms(Math.max(...upper))}`,
        `  still accepted by a request sent at: p50 ${ms(percentile(lower, 50))}, p99 ${ms(percentile(lower, 99))} (${stale} of ${refusals.length} pollers saw it accepted after the acknowledgment at all)`,
      ].join("\n"),
    );
    // The target is 100 ms p99; the bound is generous for a shared CI machine.
    expect(percentile(upper, 99)).toBeLessThan(1_000);
  });

  it("the hot lane (whoAmI, forward auth) on A and B refuses a token revoked on C as soon as their caches hear of it", async () => {
    const token = await mint(A, "hot-lane");
    const verify = (server: ServerProcess) =>
      fetch(`${server.url}/auth/verify`, { headers: { authorization: `Bearer ${token.value}` } });
    const whoAmI = async (server: ServerProcess) =>
      (await get(server, "whoAmI/api/json", token.value)).status;
    const laneAnswers = async (server: ServerProcess) =>
      Number(/^steward_hot_lane_answers_total (\d+)$/m.exec((await get(server, "metrics")).text)?.[1]);
    const before = await Promise.all([A, B].map(laneAnswers));
    for (const server of [A, B, A, B]) {
      expect(await whoAmI(server)).toBe(200);
      expect((await verify(server)).status).toBe(200);
    }
    const after = await Promise.all([A, B].map(laneAnswers));
    // The second round on each instance was answered from its cache, by the lane.
    expect(after[0]! - before[0]!).toBeGreaterThanOrEqual(2);
    expect(after[1]! - before[1]!).toBeGreaterThanOrEqual(2);
    await revoke(C, token.uuid);
    const acknowledged = performance.now();
    const refusedWithin = async (status: () => Promise<number>) => {
      while ((await status()) !== 401) {
        if (performance.now() - acknowledged > 5_000)
          throw new Error("a revoked token still works after 5 s");
      }
      return performance.now() - acknowledged;
    };
    const delays = await Promise.all(
      [A, B].flatMap((server) => [
        refusedWithin(() => whoAmI(server)),
        refusedWithin(async () => (await verify(server)).status),
      ]),
    );
    console.info(`hot lane: revoked on C, refused on A and B within ${delays.map(ms).join(", ")}`);
    expect(Math.max(...delays)).toBeLessThan(1_000);
  });

  it("a user deleted on B loses its tokens on A at once", async () => {
    // Created on A, its token issued on C, deleted on B.
    expect((await api(A, "POST", "api/v1/users", { id: "bob", password: "bob-password-123" })).status).toBe(
      201,
    );
    const bobToken = await tokenWithPassword(C, "bob", "bob-password-123", "bob-ci");
    const asBob = (server: ServerProcess) =>
      fetch(`${server.url}/api/v1/me`, { headers: { authorization: basicAuth("bob", bobToken) } }).then(
        async (r) => {
          await r.arrayBuffer();
          return r.status;
        },
      );
    // Cached on A (two uses) and known to B.
    expect([await asBob(A), await asBob(A), await asBob(B)]).toEqual([200, 200, 200]);

    expect((await api(B, "DELETE", "api/v1/users/bob")).status).toBe(204);
    const done = performance.now();
    const statuses: number[] = [];
    for (;;) {
      const status = await asBob(A);
      statuses.push(status);
      if (status === 401 || performance.now() - done > 5_000) break;
    }
    const latency = performance.now() - done;
    console.info(
      `user deleted on B → its token refused on A after ${ms(latency)} (${statuses.length} polls)`,
    );
    expect(statuses.at(-1)).toBe(401);
    expect(latency).toBeLessThan(1_000);
    expect([await asBob(B), await asBob(C)]).toEqual([401, 401]);
  });

  it("a revoke made while the notification connections are down is still refused everywhere", async () => {
    const doomed = await mint(B, "deaf-revoked");
    const kept = await mint(B, "deaf-kept");
    for (const server of [A, B, C, A, B, C]) {
      expect(await meStatus(server, doomed.value)).toBe(200);
      expect(await meStatus(server, kept.value)).toBe(200);
    }
    await waitFor("three listeners", async () => ((await listeners()) === 3 ? true : undefined));

    const admin = (statement: string) => withClient(postgres.url, (client) => client.query(statement));
    // No new connection to the database while this lasts, so no instance can LISTEN again: a window as
    // long as a slow network's, made deterministic. Pooled connections already open keep working.
    await admin(`ALTER DATABASE ${DATABASE} ALLOW_CONNECTIONS false`);
    try {
      // Kill every instance's LISTEN connection and wait until the backends are gone (PostgreSQL 14+).
      const killed = await admin(
        `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = '${LISTENER}' AND datname = '${DATABASE}'`,
      );
      expect(killed.rowCount).toBe(3);
      const missesBefore = await Promise.all(servers.map((server) => cacheCounter(server, "misses")));

      // Revoked on C: no instance hears the notification of this revoke.
      await revoke(C, doomed.uuid);
      const refused = await Promise.all(servers.map((server) => meStatus(server, doomed.value)));
      expect(refused).toEqual([401, 401, 401]);
      // The cache is bypassed, not just dropped: a valid token is checked against the database every time.
      for (const server of [A, B, C, A, B, C]) expect(await meStatus(server, kept.value)).toBe(200);
      const missesAfter = await Promise.all(servers.map((server) => cacheCounter(server, "misses")));
      for (const [i, before] of missesBefore.entries())
        expect(missesAfter[i]! - before).toBeGreaterThanOrEqual(3);
      expect(await listeners()).toBe(0);
    } finally {
      await admin(`ALTER DATABASE ${DATABASE} ALLOW_CONNECTIONS true`);
    }

    // They reconnect, resynchronise and trust their caches again: a new revoke travels by NOTIFY.
    const down = performance.now();
    await waitFor("three listeners again", async () => ((await listeners()) === 3 ? true : undefined));
    console.info(
      `listeners killed: all three listening again ${ms(performance.now() - down)} after connections were allowed`,
    );
    for (const server of [A, B, C]) expect(await meStatus(server, doomed.value)).toBe(401);
    const hitsBefore = await cacheCounter(A, "hits");
    for (const server of [A, B, A, B]) expect(await meStatus(server, kept.value)).toBe(200);
    expect(await cacheCounter(A, "hits")).toBeGreaterThan(hitsBefore);
    await revoke(C, kept.uuid);
    const since = performance.now();
    const [onA, onB] = await Promise.all([
      refusedAfter(A, kept.value, since),
      refusedAfter(B, kept.value, since),
    ]);
    expect(Math.max(onA, onB)).toBeLessThan(1_000);
  });

  it("PostgreSQL stopped: fast 503s (cached tokens too), /readyz 503, no crash; restarted: works again", async (context) => {
    if (!postgres.restartable) context.skip();
    const token = await mint(A, "outage");
    const logBefore = servers.map((server) => server.output().length);
    for (const server of [A, B, C, A, B, C]) expect(await meStatus(server, token.value)).toBe(200);

    await postgres.halt();
    const outageStarted = performance.now();
    const timed = async <T>(work: () => Promise<T>) => {
      const start = performance.now();
      const value = await work();
      return { value, ms: performance.now() - start };
    };
    // REST surface: JSON error, code "unavailable". The token was cached, but without the notification
    // channel the cache is not trusted: the check needs the database.
    const api = await timed(() => get(A, "api/v1/me", token.value));
    expect(api.value.status).toBe(503);
    expect(JSON.parse(api.value.text)).toMatchObject({ error: { code: "unavailable" } });
    expect(api.value.headers.get("retry-after")).toBe("5");
    // Jenkins surface: Jenkins' HTML error page, with the X-Jenkins header.
    const jenkins = await timed(() => get(B, "me/api/json", token.value));
    expect(jenkins.value.status).toBe(503);
    expect(jenkins.value.headers.get("content-type")).toMatch(/^text\/html/);
    expect(jenkins.value.headers.get("x-jenkins")).toBeTruthy();
    expect(jenkins.value.text).toContain("Error 503");
    const ready = await timed(() => get(C, "readyz"));
    expect(ready.value.status).toBe(503);
    expect(JSON.parse(ready.value.text)).toMatchObject({ error: { code: "unavailable" } });
    // Token creation (a write) and a password sign-in fail the same way.
    const write = await timed(async () => {
      const response = await fetch(`${C.url}/${METHODS}/generateNewToken?newTokenName=x`, {
        method: "POST",
        headers: { authorization: basicAuth("admin", adminToken) },
      });
      await response.arrayBuffer();
      return response.status;
    });
    expect(write.value).toBe(503);
    // A burst while down: every answer a quick 503, never a 500, never a hang.
    const burst = await timed(() =>
      Promise.all(Array.from({ length: 30 }, (_, i) => meStatus(servers[i % 3]!, token.value))),
    );
    expect(new Set(burst.value)).toEqual(new Set([503]));
    const slowest = Math.max(api.ms, jenkins.ms, ready.ms, write.ms, burst.ms);
    console.info(
      `database down: 503 in ${ms(api.ms)} (REST), ${ms(jenkins.ms)} (Jenkins), ${ms(ready.ms)} (/readyz), ${ms(write.ms)} (create), 30 requests in ${ms(burst.ms)}`,
    );
    expect(slowest).toBeLessThan(3_000);
    for (const server of servers) {
      expect((await get(server, "healthz")).status).toBe(200);
    }
    // Let the instances' reconnection attempts and usage flushes fail a few times.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    await postgres.resume();
    const resumed = performance.now();
    const recovery = await Promise.all(
      servers.map((server) =>
        waitFor(
          "a working token again",
          async () =>
            (await meStatus(server, token.value)) === 200 ? performance.now() - resumed : undefined,
          20_000,
        ),
      ),
    );
    console.info(
      `database back after ${ms(resumed - outageStarted)} down: requests succeed again ${recovery.map(ms).join(", ")} after PostgreSQL was ready`,
    );
    for (const server of servers) expect((await get(server, "readyz")).status).toBe(200);
    // Alive (no crash on the pool's or the listener's errors), and never a 500 during the outage.
    for (const [i, server] of servers.entries()) {
      expect((await get(server, "healthz")).status).toBe(200);
      expect(server.output().slice(logBefore[i])).not.toMatch(
        /"unhandled error"|Unhandled 'error' event|uncaught/i,
      );
    }

    // Cache coherence is back too, once the listeners have reconnected.
    await waitFor("three listeners after the restart", async () =>
      (await listeners()) === 3 ? true : undefined,
    );
    const fresh = await mint(B, "after-outage");
    for (const server of [A, C, A, C]) expect(await meStatus(server, fresh.value)).toBe(200);
    await revoke(B, fresh.uuid);
    const since = performance.now();
    const [onA, onC] = await Promise.all([
      refusedAfter(A, fresh.value, since),
      refusedAfter(C, fresh.value, since),
    ]);
    expect(Math.max(onA, onC)).toBeLessThan(1_000);
  });

  it("usage counts from all three instances add up exactly after a graceful stop", async () => {
    const token = await mint(A, "usage");
    const perInstance = 40;
    // Interleaved and partly concurrent, across several 200 ms flush intervals.
    for (let round = 0; round < perInstance / 4; round++) {
      const statuses = await Promise.all(
        servers.flatMap((server) => Array.from({ length: 4 }, () => meStatus(server, token.value))),
      );
      expect(new Set(statuses)).toEqual(new Set([200]));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const exits = await Promise.all(servers.map((server) => server.stop("SIGTERM")));
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0]);

    const listed = await runCli(["--database-url", databaseUrl, "--json", "token", "list", "admin"], {
      dataDir: cliDir,
    });
    expect(listed.code, listed.stderr).toBe(0);
    const views = JSON.parse(listed.stdout) as Array<{ id: string; useCount: number }>;
    const counted = views.find((view) => view.id === token.uuid);
    expect(counted?.useCount).toBe(perInstance * servers.length);
  });
});

/** steward_token_cache_hits_total or …_misses_total of an instance. */
async function cacheCounter(server: ServerProcess, which: "hits" | "misses"): Promise<number> {
  const metrics = await get(server, "metrics");
  const match = new RegExp(`^steward_token_cache_${which}_total (\\d+)$`, "m").exec(metrics.text);
  if (!match) throw new Error(`no cache ${which} in /metrics`);
  return Number(match[1]);
}
