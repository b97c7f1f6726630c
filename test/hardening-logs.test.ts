/**
 * No secret in logs (SPEC §10, STYLE "What we avoid"): a full scenario runs against a real server
 * (startServer, over TCP) logging at `trace`, and nothing it writes — log lines and printed messages —
 * contains a token value, a password (right or wrong), a crumb, a session id, or their hashes. The
 * database is checked too: it may hold hashes of tokens and sessions, never the plain values.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, sqliteFile } from "../src/config.js";
import { sha256Hex } from "../src/core/secrets.js";
import { type RunningServer, startServer } from "../src/server.js";
import { SYSTEM_ACTOR } from "./support/harness.js";

const ADMIN_PASSWORD = "admin-Secret-Pw-4242";
const ALICE_PASSWORD = "alice-Secret-Pw-1717";
const WRONG_PASSWORD = "alice-Typo-Pw-1718";
const FIXED_TOKEN = "11feedfacecafebeef0123456789abcdef";
const METHODS = "/me/descriptorByName/jenkins.security.ApiTokenProperty";

let dataDir: string;
let server: RunningServer;
let logs = "";
let printed = "";
/** Every secret the scenario handles; none may show up in the output. */
const secrets = new Map<string, string>();

function secret(label: string, value: string): string {
  secrets.set(value, label);
  return value;
}

function basic(user: string, password: string): string {
  // The header itself is a secret too (it is the credentials, Base64-encoded).
  return secret(
    `Authorization for ${user}`,
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
  );
}

interface Answer {
  status: number;
  body: string;
  headers: Headers;
}

async function call(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, { method, headers, body, redirect: "manual" });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

function sessionOf(answer: Answer): string {
  const line = answer.headers.getSetCookie().find((c) => c.startsWith("steward_session="));
  if (!line) throw new Error("no session cookie");
  const value = line.slice("steward_session=".length).split(";", 1)[0]!;
  secret("session id", value);
  return `steward_session=${value}`;
}

function crumbOf(answer: Answer): string {
  return secret("crumb", (JSON.parse(answer.body) as { crumb: string }).crumb);
}

function tokenOf(answer: Answer): { value: string; id: string } {
  const data = (JSON.parse(answer.body) as { data: { tokenValue: string; tokenUuid: string } }).data;
  return { value: secret("token", data.tokenValue), id: data.tokenUuid };
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "steward-logs-"));
  const config = loadConfig(
    {},
    {
      port: 0,
      dataDir,
      adminPassword: ADMIN_PASSWORD,
      logLevel: "trace",
      passwordHashCost: 10,
      usageFlushMs: 50,
      authFailuresPerIp: 12,
    },
  );
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs += String(chunk);
      done();
    },
  });
  server = await startServer(config, { logStream, print: (line) => (printed += `${line}\n`) });
  secret("admin password", ADMIN_PASSWORD);
  secret("alice's password", ALICE_PASSWORD);
  secret("a mistyped password", WRONG_PASSWORD);
  secret("fixed token", FIXED_TOKEN);
  secret("fixed token secret", FIXED_TOKEN.slice(2));
  secret("crumb secret", server.services.crumbSecret);
  await server.services.users.create(SYSTEM_ACTOR, {
    id: "alice",
    password: ALICE_PASSWORD,
    roles: ["user"],
  });
});

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function scenario(): Promise<void> {
  // Failed sign-ins: a wrong password in the form and over Basic, a token typed into the form.
  await call("POST", "/j_spring_security_check", FORM, `j_username=alice&j_password=${WRONG_PASSWORD}`);
  expect((await call("GET", "/me/api/json", { authorization: basic("alice", WRONG_PASSWORD) })).status).toBe(
    401,
  );
  expect((await call("GET", "/me/api/json", { authorization: basic("nobody", WRONG_PASSWORD) })).status).toBe(
    401,
  );
  // A malformed header that still carries a password.
  const malformed = secret(
    "malformed header",
    `Basic ${Buffer.from(`alice${ALICE_PASSWORD}`).toString("base64")}`,
  );
  expect((await call("GET", "/me/api/json", { authorization: malformed })).status).toBe(401);

  // Sign in through the form, with a session planted before.
  const anonymous = sessionOf(await call("GET", "/crumbIssuer/api/json"));
  const signedIn = await call(
    "POST",
    "/j_spring_security_check",
    { ...FORM, cookie: anonymous },
    new URLSearchParams({ j_username: "alice", j_password: ALICE_PASSWORD, from: "/" }).toString(),
  );
  expect(signedIn.status).toBe(302);
  const cookie = sessionOf(signedIn);
  const crumb = crumbOf(await call("GET", "/crumbIssuer/api/json", { cookie }));
  const xpath = await call(
    "GET",
    `/crumbIssuer/api/xml?xpath=${encodeURIComponent('concat(//crumbRequestField,":",//crumb)')}`,
    { cookie },
  );
  expect(xpath.body).toBe(`Jenkins-Crumb:${crumb}`);

  // Generate with the session and its crumb; with the password over Basic and a crumb.
  const t1 = tokenOf(
    await call(
      "POST",
      `${METHODS}/generateNewToken`,
      { ...FORM, cookie, "jenkins-crumb": crumb },
      "newTokenName=ci",
    ),
  );
  const passwordAuth = basic("alice", ALICE_PASSWORD);
  const basicCrumbAnswer = await call("GET", "/crumbIssuer/api/json", { authorization: passwordAuth });
  const basicSession = sessionOf(basicCrumbAnswer);
  const t2 = tokenOf(
    await call("POST", `${METHODS}/generateNewToken?newTokenName=deploy`, {
      authorization: passwordAuth,
      cookie: basicSession,
      "jenkins-crumb": crumbOf(basicCrumbAnswer),
    }),
  );

  // Use the token over Basic, the way node-jenkins does: user:token inside the Referer too.
  const tokenAuth = basic("alice", t1.value);
  const referer = secret("referer", `http://alice:${t1.value}@127.0.0.1/`);
  for (const path of ["/me/api/json", "/api/v1/me", "/whoAmI/api/json", "/api/json?tree=jobs[name]"]) {
    expect((await call("GET", path, { authorization: tokenAuth, referer })).status).toBe(200);
  }
  // Secrets in query strings: only the path is logged.
  await call("GET", `/no/such/page?token=${t1.value}&password=${ALICE_PASSWORD}`, {
    authorization: tokenAuth,
  });
  await call("GET", `/whoAmI/api/json?crumb=${crumb}`, { cookie });
  // Forward auth, with the proxied request's URL carrying a token.
  const bearer = secret("bearer", `Bearer ${t1.value}`);
  await call("GET", "/auth/verify", {
    authorization: bearer,
    "x-original-uri": `/app?access_token=${t1.value}`,
  });

  // addFixedToken with the value in the query string, as Jenkins allows.
  const fixed = await call(
    "POST",
    `${METHODS}/addFixedToken?newTokenName=fixed&newTokenPlainValue=${FIXED_TOKEN}`,
    { authorization: tokenAuth },
  );
  expect(fixed.status).toBe(200);
  expect((await call("GET", "/me/api/json", { authorization: basic("alice", FIXED_TOKEN) })).status).toBe(
    200,
  );

  // REST API: create, rotate, report a leak.
  const created = await call(
    "POST",
    "/api/v1/tokens",
    { authorization: tokenAuth, "content-type": "application/json" },
    JSON.stringify({ name: "rest" }),
  );
  expect(created.status).toBe(201);
  const t3 = JSON.parse(created.body) as { token: { id: string }; value: string };
  secret("token", t3.value);
  const rotated = await call(
    "POST",
    `/api/v1/tokens/${t3.token.id}/rotate`,
    { authorization: tokenAuth, "content-type": "application/json" },
    "{}",
  );
  expect(rotated.status).toBe(200);
  const t4 = secret("token", (JSON.parse(rotated.body) as { value: string }).value);
  expect(
    (
      await call(
        "POST",
        "/api/v1/tokens/report-leak",
        { "content-type": "application/json" },
        JSON.stringify({ tokens: [t4] }),
      )
    ).status,
  ).toBe(202);

  // Rename, revoke, and use the revoked token.
  await call(
    "POST",
    `${METHODS}/rename`,
    { authorization: tokenAuth, ...FORM },
    `tokenUuid=${t2.id}&newName=renamed`,
  );
  expect(
    (await call("POST", `${METHODS}/revoke`, { authorization: tokenAuth, ...FORM }, `tokenUuid=${t2.id}`))
      .status,
  ).toBe(200);
  expect((await call("GET", "/me/api/json", { authorization: basic("alice", t2.value) })).status).toBe(401);
  // A POST without a crumb (refused), then enough failures to be rate-limited.
  expect((await call("POST", `${METHODS}/revokeAll`, { cookie })).status).toBe(403);
  for (let i = 0; i < 14; i++)
    await call("GET", "/me/api/json", { authorization: basic("alice", `${WRONG_PASSWORD}${i}`) });
  for (let i = 0; i < 14; i++) secret("a mistyped password", `${WRONG_PASSWORD}${i}`);
  expect((await call("GET", "/me/api/json", { authorization: basic("alice", WRONG_PASSWORD) })).status).toBe(
    429,
  );

  // Sign out.
  expect((await call("GET", "/logout", { cookie })).status).toBe(302);
  await new Promise((resolve) => setTimeout(resolve, 150)); // a usage flush happens meanwhile
}

describe("no secret in logs", () => {
  it("a full scenario at log level trace writes no token, password, crumb or session id, nor their hashes", async () => {
    await scenario();
    await server.stop();
    // The capture works: every request left a line, with its status.
    const lines = logs.split("\n").filter((l) => l.trim() !== "");
    expect(lines.length).toBeGreaterThan(40);
    expect(logs).toContain('"status":401');
    expect(logs).toContain('"status":429');
    expect(printed).toContain("Steward listening on");

    const output = `${logs}\n${printed}`;
    const leaks: string[] = [];
    for (const [value, label] of secrets) {
      const forms = [value, sha256Hex(value), encodeURIComponent(value)];
      for (const form of forms) if (output.includes(form)) leaks.push(`${label} (${form.slice(0, 12)}…)`);
    }
    expect(leaks).toEqual([]);
  });

  it("the database holds hashes of tokens and sessions, never a plain token, password, crumb or session id", () => {
    const db = new BetterSqlite3(sqliteFile({ dataDir }), { readonly: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
        name: string;
      }[];
      let dump = "";
      for (const { name } of tables) {
        if (name === "server_secrets") continue; // the crumb key lives here, by design
        dump += JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all());
      }
      expect(dump).toContain("alice");
      const leaks = [...secrets]
        .filter(([value, label]) => label !== "crumb secret" && dump.includes(value))
        .map(([, label]) => label);
      expect(leaks).toEqual([]);
    } finally {
      db.close();
    }
  });
});
