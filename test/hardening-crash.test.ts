/**
 * Crash safety (SPEC §10): a storm of token creations, rotations and revocations against a real
 * server process (both the Jenkins surface and the REST API), killed with SIGKILL at a random moment,
 * several rounds, on SQLite and on PostgreSQL. After every kill:
 * - the database is sound (SQLite `PRAGMA integrity_check`; PostgreSQL amcheck when available);
 * - no row is half-written: every token has its owner and the audit event that created it, every
 *   revoked token the event that revoked it, every creation event its token;
 * after every restart:
 * - every token whose creation was acknowledged exists and authenticates (unless revoked since);
 * - every acknowledged revocation (and the old value of every acknowledged rotation) holds: 401.
 * Outcomes the kill left unknown (request sent, no answer) may go either way, consistently.
 */
import { randomInt } from "node:crypto";
import BetterSqlite3 from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPostgres, type TestPostgres } from "./support/postgres.js";
import {
  ADMIN_PASSWORD,
  basicAuth,
  makeTempDir,
  removeDir,
  type ServerProcess,
  startServerProcess,
} from "./support/server-process.js";

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 5);
const WORKERS = 8;
const ALICE_PASSWORD = "alice-crash-password";
const METHODS = "/me/descriptorByName/jenkins.security.ApiTokenProperty";
/** Failed checks of revoked tokens during verification must not be rate-limited into 429s. */
const SERVER_ENV = { STEWARD_AUTH_FAILURES_PER_IP: "1000000", STEWARD_AUTH_FAILURES_PER_USER: "1000000" };

type Owner = "admin" | "alice";

interface Tracked {
  owner: Owner;
  value: string;
  state: "live" | "busy" | "revoked" | "uncertain";
}

/** What the clients were told: the promises the server made before it died. */
class Ledger {
  readonly tokens = new Map<string, Tracked>();
  readonly masters: Record<Owner, string> = { admin: "", alice: "" };
  acknowledged = { created: 0, revoked: 0, rotated: 0 };
  unanswered = 0;
  unexpected: string[] = [];

  /** A live token of the storm for the next revoke or rotation, taken so no other worker picks it. */
  take(): [string, Tracked] | null {
    const live = [...this.tokens].filter(([, t]) => t.state === "live");
    if (live.length === 0) return null;
    const picked = live[randomInt(live.length)]!;
    picked[1].state = "busy";
    return picked;
  }
}

async function send(
  server: ServerProcess,
  method: string,
  path: string,
  authorization: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // Acknowledged means the whole answer arrived: reading it fails if the server died meanwhile.
  return { status: response.status, text: await response.text() };
}

/** One storm operation; resolves whatever happens (the kill makes requests fail). */
async function operate(server: ServerProcess, ledger: Ledger): Promise<void> {
  const owner: Owner = randomInt(2) === 0 ? "admin" : "alice";
  const auth = basicAuth(owner, ledger.masters[owner]);
  const roll = randomInt(100);
  const target = roll >= 60 ? ledger.take() : null;
  const kind =
    target === null
      ? roll % 2 === 0
        ? "generate"
        : "create"
      : roll < 75
        ? "revoke"
        : roll < 85
          ? "delete"
          : "rotate";
  const [id, token] = target ?? ["", null];
  const tokenAuth = token ? basicAuth(token.owner, ledger.masters[token.owner]) : auth;
  try {
    if (kind === "generate") {
      const answer = await send(
        server,
        "POST",
        `${METHODS}/generateNewToken?newTokenName=storm-${randomInt(1e9)}`,
        auth,
      );
      if (answer.status !== 200)
        throw new Unexpected(`generate ${answer.status} ${answer.text.slice(0, 200)}`);
      const data = (JSON.parse(answer.text) as { data: { tokenUuid: string; tokenValue: string } }).data;
      ledger.tokens.set(data.tokenUuid, { owner, value: data.tokenValue, state: "live" });
      ledger.acknowledged.created++;
    } else if (kind === "create") {
      const answer = await send(server, "POST", "/api/v1/tokens", auth, {
        name: `storm rest ${randomInt(1e9)}`,
      });
      if (answer.status !== 201) throw new Unexpected(`create ${answer.status} ${answer.text.slice(0, 200)}`);
      const issued = JSON.parse(answer.text) as { token: { id: string }; value: string };
      ledger.tokens.set(issued.token.id, { owner, value: issued.value, state: "live" });
      ledger.acknowledged.created++;
    } else if (kind === "revoke" || kind === "delete") {
      const answer =
        kind === "revoke"
          ? await send(server, "POST", `${METHODS}/revoke?tokenUuid=${id}`, tokenAuth)
          : await send(server, "DELETE", `/api/v1/tokens/${id}`, tokenAuth);
      if (answer.status !== 200 && answer.status !== 204)
        throw new Unexpected(`${kind} ${answer.status} ${answer.text.slice(0, 200)}`);
      token!.state = "revoked";
      ledger.acknowledged.revoked++;
    } else {
      const answer = await send(server, "POST", `/api/v1/tokens/${id}/rotate`, tokenAuth, {});
      if (answer.status !== 200) throw new Unexpected(`rotate ${answer.status} ${answer.text.slice(0, 200)}`);
      const issued = JSON.parse(answer.text) as { token: { id: string }; value: string };
      token!.state = "revoked";
      ledger.tokens.set(issued.token.id, { owner: token!.owner, value: issued.value, state: "live" });
      ledger.acknowledged.rotated++;
    }
  } catch (error) {
    if (error instanceof Unexpected) {
      ledger.unexpected.push(error.message);
    } else if (refused(error)) {
      // Never reached the server (it was already dead): nothing happened.
      if (token) token.state = "live";
      return;
    } else {
      ledger.unanswered++;
    }
    if (token) token.state = "uncertain";
  }
}

class Unexpected extends Error {}

function refused(error: unknown): boolean {
  return (error as { cause?: { code?: unknown } }).cause?.code === "ECONNREFUSED";
}

/** Changes acknowledged in a round before the kill may come (so a slow machine still gets a storm). */
const MIN_ACKS_PER_ROUND = 12;

/**
 * Runs the storm and kills the server at a random moment once it is under way (at least
 * MIN_ACKS_PER_ROUND acknowledged changes, or 5 s); returns how long the storm ran.
 */
async function stormAndKill(server: ServerProcess, ledger: Ledger): Promise<number> {
  const started = Date.now();
  const acks = () => ledger.acknowledged.created + ledger.acknowledged.revoked + ledger.acknowledged.rotated;
  const before = acks();
  let dead = false;
  const workers = Array.from({ length: WORKERS }, async () => {
    while (!dead) await operate(server, ledger);
  });
  while (acks() - before < MIN_ACKS_PER_ROUND && Date.now() - started < 5000) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, randomInt(0, 500)));
  dead = true;
  const exit = await server.kill();
  await Promise.all(workers);
  expect(exit.signal).toBe("SIGKILL");
  return Date.now() - started;
}

/** After a restart: every acknowledged token works, every acknowledged revoke holds. */
async function verifyPromises(
  server: ServerProcess,
  ledger: Ledger,
): Promise<{ live: number; revoked: number }> {
  const failures: string[] = [];
  const checks = [...ledger.tokens].filter(([, t]) => t.state === "live" || t.state === "revoked");
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < checks.length) {
        const [id, token] = checks[next++]!;
        const answer = await send(server, "GET", "/whoAmI/api/json", basicAuth(token.owner, token.value));
        const name = answer.status === 200 ? (JSON.parse(answer.text) as { name: string }).name : null;
        if (token.state === "live" && name !== token.owner)
          failures.push(`acknowledged token ${id} does not work (${answer.status})`);
        if (token.state === "revoked" && answer.status !== 401)
          failures.push(`revoked token ${id} answers ${answer.status}`);
      }
    }),
  );
  expect(failures).toEqual([]);
  return {
    live: checks.filter(([, t]) => t.state === "live").length,
    revoked: checks.filter(([, t]) => t.state === "revoked").length,
  };
}

/** Rows that would show a half-written change; each query must find none. Same SQL on both databases. */
const CONSISTENCY: Record<string, string> = {
  "tokens without an owner":
    "SELECT t.id FROM tokens t LEFT JOIN users u ON u.id = t.user_id WHERE u.id IS NULL",
  "tokens without the event that created them": `SELECT t.id FROM tokens t WHERE NOT EXISTS (
      SELECT 1 FROM audit_events e WHERE e.action = 'token.created' AND e.target_token_id = t.id)
    AND NOT EXISTS (
      SELECT 1 FROM audit_events e WHERE e.action = 'token.rotated' AND e.details LIKE '%"newTokenId":"' || t.id || '"%')`,
  "revoked tokens without the event that revoked them": `SELECT t.id FROM tokens t WHERE t.revoked_at IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.target_token_id = t.id
      AND (e.action = 'token.revoked' OR e.action = 'token.rotated'))
    AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.action = 'token.revoked.all' AND e.details LIKE '%' || t.id || '%')`,
  "creation events without their token": `SELECT e.id FROM audit_events e WHERE e.action = 'token.created'
    AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.id = e.target_token_id)`,
  "revocation events of tokens that are not revoked": `SELECT e.id FROM audit_events e WHERE e.action = 'token.revoked'
    AND EXISTS (SELECT 1 FROM tokens t WHERE t.id = e.target_token_id AND t.revoked_at IS NULL)`,
  "rotation events without the new token": `SELECT e.id FROM audit_events e WHERE e.action = 'token.rotated'
    AND NOT EXISTS (SELECT 1 FROM tokens t WHERE e.details LIKE '%"newTokenId":"' || t.id || '"%')`,
};

interface DatabaseReport {
  integrity: string;
  tokens: number;
  problems: Record<string, unknown[]>;
}

function expectSound(report: DatabaseReport, ledger: Ledger, ids: readonly string[]): void {
  expect(report.integrity).toBe("ok");
  expect(report.problems).toEqual(Object.fromEntries(Object.keys(CONSISTENCY).map((k) => [k, []])));
  // Every acknowledged token (live, revoked or uncertain) has its row.
  const known = new Set(ids);
  const missing = [...ledger.tokens.keys()].filter((id) => !known.has(id));
  expect(missing).toEqual([]);
}

interface Backend {
  env: () => Record<string, string>;
  /** Inspects the database while no server runs (right after a kill). */
  inspect: () => Promise<DatabaseReport & { ids: string[] }>;
}

async function setUpOwners(server: ServerProcess, ledger: Ledger): Promise<void> {
  ledger.masters.admin = await tokenWithPassword(server, "admin", ADMIN_PASSWORD);
  const created = await send(server, "POST", "/api/v1/users", basicAuth("admin", ledger.masters.admin), {
    id: "alice",
    password: ALICE_PASSWORD,
    roles: ["user"],
  });
  expect(created.status).toBe(201);
  ledger.masters.alice = await tokenWithPassword(server, "alice", ALICE_PASSWORD);
}

/** A first token, as a Jenkins user gets one: password over Basic, a crumb, its session cookie. */
async function tokenWithPassword(server: ServerProcess, user: string, password: string): Promise<string> {
  const auth = basicAuth(user, password);
  const crumbAnswer = await fetch(`${server.url}/crumbIssuer/api/json`, { headers: { authorization: auth } });
  const cookie = crumbAnswer.headers.getSetCookie()[0]!.split(";", 1)[0]!;
  const { crumb } = (await crumbAnswer.json()) as { crumb: string };
  const answer = await fetch(`${server.url}${METHODS}/generateNewToken?newTokenName=master`, {
    method: "POST",
    headers: { authorization: auth, cookie, "jenkins-crumb": crumb },
  });
  expect(answer.status).toBe(200);
  return ((await answer.json()) as { data: { tokenValue: string } }).data.tokenValue;
}

async function runRounds(label: string, backend: Backend, dataDir: string): Promise<void> {
  const ledger = new Ledger();
  let server = await startServerProcess({ dataDir, env: { ...SERVER_ENV, ...backend.env() } });
  try {
    await setUpOwners(server, ledger);
    const rounds: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const before = { ...ledger.acknowledged };
      const delay = await stormAndKill(server, ledger);
      const report = await backend.inspect();
      expectSound(report, ledger, report.ids);
      server = await startServerProcess({ dataDir, env: { ...SERVER_ENV, ...backend.env() } });
      const verified = await verifyPromises(server, ledger);
      rounds.push(
        `round ${round}: killed after ${delay} ms of storm; acknowledged +${ledger.acknowledged.created - before.created} created, ` +
          `+${ledger.acknowledged.revoked - before.revoked} revoked, +${ledger.acknowledged.rotated - before.rotated} rotated; ` +
          `${report.tokens} token rows; verified ${verified.live} working, ${verified.revoked} refused`,
      );
    }
    console.log(
      `${label}: ${ROUNDS} rounds of kill -9 survived\n  ${rounds.join("\n  ")}\n  requests left unanswered by the kills: ${ledger.unanswered}`,
    );
    expect(ledger.unexpected).toEqual([]);
    expect(ledger.acknowledged.created).toBeGreaterThanOrEqual(ROUNDS * 5);
    expect(ledger.acknowledged.revoked).toBeGreaterThan(0);
    expect(ledger.acknowledged.rotated).toBeGreaterThan(0);
  } finally {
    await server.stop().catch(() => undefined);
  }
}

describe("kill -9 during a storm of token changes", () => {
  describe("on SQLite", () => {
    let dataDir: string;
    beforeAll(() => {
      dataDir = makeTempDir("steward-crash-");
    });
    afterAll(() => removeDir(dataDir));

    it(`keeps every acknowledged change through ${ROUNDS} rounds, with no half-written row`, async () => {
      const backend: Backend = {
        env: () => ({}),
        async inspect() {
          // Opening the file after the crash is what the next start does: recover from the WAL.
          const db = new BetterSqlite3(`${dataDir}/steward.db`);
          try {
            const integrity = String(db.pragma("integrity_check", { simple: true }));
            const problems = Object.fromEntries(
              Object.entries(CONSISTENCY).map(([name, query]) => [name, db.prepare(query).all()]),
            );
            const ids = (db.prepare("SELECT id FROM tokens").all() as { id: string }[]).map((r) => r.id);
            return { integrity, problems, tokens: ids.length, ids };
          } finally {
            db.close();
          }
        },
      };
      await runRounds("SQLite", backend, dataDir);
    }, 300_000);
  });

  describe("on PostgreSQL", () => {
    let postgres: TestPostgres;
    let url: string;
    let dataDir: string;
    beforeAll(async () => {
      postgres = await startPostgres();
      url = await postgres.createDatabase("steward_crash");
      dataDir = makeTempDir("steward-crash-pg-");
    }, 120_000);
    afterAll(async () => {
      await postgres?.stop();
      if (dataDir) removeDir(dataDir);
    });

    it(`keeps every acknowledged change through ${ROUNDS} rounds, with no half-written row`, async () => {
      const backend: Backend = {
        env: () => ({ STEWARD_DATABASE_URL: url }),
        async inspect() {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            const problems: Record<string, unknown[]> = {};
            for (const [name, query] of Object.entries(CONSISTENCY))
              problems[name] = (await client.query(query)).rows;
            const ids = (await client.query<{ id: string }>("SELECT id FROM tokens")).rows.map((r) => r.id);
            return { integrity: await amcheck(client), problems, tokens: ids.length, ids };
          } finally {
            await client.end();
          }
        },
      };
      await runRounds("PostgreSQL", backend, dataDir);
    }, 300_000);
  });
});

/**
 * PostgreSQL's own consistency check of every index on Steward's tables (amcheck, shipped with
 * PostgreSQL as a contrib module); "ok" also when the module is not installed, since PostgreSQL's WAL,
 * not Steward, guarantees the physical state.
 */
async function amcheck(client: pg.Client): Promise<string> {
  try {
    await client.query("CREATE EXTENSION IF NOT EXISTS amcheck");
  } catch {
    return "ok";
  }
  const indexes = await client.query<{ oid: number; name: string }>(
    `SELECT c.oid, c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE a.amname = 'btree' AND n.nspname = 'public'`,
  );
  for (const index of indexes.rows) {
    try {
      await client.query("SELECT bt_index_check($1::regclass, true)", [index.oid]);
    } catch (error) {
      return `index ${index.name}: ${(error as Error).message}`;
    }
  }
  return "ok";
}
