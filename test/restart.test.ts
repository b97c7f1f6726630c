/**
 * Durability across a graceful restart, and the CLI acting on the database a running server uses.
 * Everything here goes through real processes: `steward serve`, `steward user|token …`, HTTP.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  basicAuth,
  makeTempDir,
  removeDir,
  runCli,
  type ServerProcess,
  startServerProcess,
} from "./support/server-process.js";

const TOKENS = "descriptorByName/jenkins.security.ApiTokenProperty";

interface ListedToken {
  id: string;
  name: string;
  useCount: number;
  lastUsedAt: string | null;
}

/** POST to the Jenkins surface with a password, as a script does: crumb + session cookie first. */
async function passwordPost(
  baseUrl: string,
  user: string,
  password: string,
  path: string,
  form: Record<string, string>,
): Promise<Response> {
  const authorization = basicAuth(user, password);
  const crumbResponse = await fetch(`${baseUrl}/crumbIssuer/api/json`, { headers: { authorization } });
  expect(crumbResponse.status).toBe(200);
  const { crumb } = (await crumbResponse.json()) as { crumb: string };
  const cookie = crumbResponse.headers
    .getSetCookie()
    .map((c) => c.split(";", 1)[0])
    .join("; ");
  return fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { authorization, cookie, "jenkins-crumb": crumb },
    body: new URLSearchParams(form),
  });
}

async function generate(
  baseUrl: string,
  user: string,
  password: string,
  name: string,
): Promise<{ value: string; uuid: string }> {
  const response = await passwordPost(baseUrl, user, password, `/user/${user}/${TOKENS}/generateNewToken`, {
    newTokenName: name,
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { status: string; data: { tokenValue: string; tokenUuid: string } };
  expect(body.status).toBe("ok");
  return { value: body.data.tokenValue, uuid: body.data.tokenUuid };
}

async function statusWith(baseUrl: string, user: string, secret: string): Promise<number> {
  const response = await fetch(`${baseUrl}/me/api/json`, {
    headers: { authorization: basicAuth(user, secret) },
  });
  await response.arrayBuffer();
  return response.status;
}

async function listTokens(dataDir: string, user: string): Promise<ListedToken[]> {
  const result = await runCli(["--json", "token", "list", user], { dataDir });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as ListedToken[];
}

/**
 * Polls the server with a token until it is refused (throws if it still works after 2 s). Returns the
 * latest time, in ms after `since`, at which a request that was then accepted had been *sent*: measuring
 * send times keeps our own response latency (on a loaded machine) out of the figure. A request sent
 * `deadline` ms after the change and still accepted proves the server was too slow.
 * The server notices commits by other processes through SQLite's data_version, polled every 50 ms.
 */
async function lastAcceptedAfter(
  baseUrl: string,
  user: string,
  secret: string,
  since: number,
): Promise<number> {
  let lastAccepted = Number.NEGATIVE_INFINITY;
  while (performance.now() - since < 2000) {
    const sentAt = performance.now() - since;
    // whoAmI needs no user record, so a deleted user's still-cached token answers 200 until dropped.
    const response = await fetch(`${baseUrl}/whoAmI/api/json`, {
      headers: { authorization: basicAuth(user, secret) },
    });
    const body = await response.text();
    if (response.status === 401) return lastAccepted;
    expect(response.status).toBe(200);
    expect((JSON.parse(body) as { name: string }).name).toBe(user);
    lastAccepted = sentAt;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error("the token still worked 2 s after the CLI changed the database");
}

// Each test starts node processes (server, CLI): generous timeouts for a loaded 2-core machine.
const PROCESS_TIMEOUTS = { timeout: 120_000 };

describe("a graceful restart keeps tokens, revocations, names and use counts", PROCESS_TIMEOUTS, () => {
  let dataDir: string;
  const servers: ServerProcess[] = [];

  beforeAll(() => {
    dataDir = makeTempDir("steward-restart-");
  });

  afterAll(async () => {
    for (const server of servers) await server.stop();
    if (dataDir) removeDir(dataDir);
  });

  it("live token works with its 5 uses counted; the revoked one still gets 401", async () => {
    const bobPassword = "bob-password-for-restart";
    const added = await runCli(["user", "add", "bob", "--password-stdin"], {
      dataDir,
      input: `${bobPassword}\n`,
    });
    expect(added.code, added.stderr).toBe(0);

    // Usage is written only at shutdown here (flush interval 10 min): the count must come from SIGTERM.
    const first = await startServerProcess({ dataDir, env: { STEWARD_USAGE_FLUSH_MS: "600000" } });
    servers.push(first);
    const live = await generate(first.url, "bob", bobPassword, "deploy → prod ✓");
    const doomed = await generate(first.url, "bob", bobPassword, "doomed");
    for (let i = 0; i < 5; i++) expect(await statusWith(first.url, "bob", live.value)).toBe(200);
    const revoke = await passwordPost(first.url, "bob", bobPassword, `/me/${TOKENS}/revoke`, {
      tokenUuid: doomed.uuid,
    });
    expect(revoke.status).toBe(200);
    expect(await statusWith(first.url, "bob", doomed.value)).toBe(401);

    expect(await first.stop("SIGTERM")).toEqual({ code: 0, signal: null });

    const second = await startServerProcess({ dataDir });
    servers.push(second);
    const listed = await listTokens(dataDir, "bob");
    expect(listed.map((t) => t.id)).toEqual([live.uuid]);
    expect(listed[0]).toMatchObject({ name: "deploy → prod ✓", useCount: 5 });
    expect(listed[0]!.lastUsedAt).not.toBeNull();

    expect(await statusWith(second.url, "bob", live.value)).toBe(200);
    expect(await statusWith(second.url, "bob", doomed.value)).toBe(401);
    // bob's password survived too (it is what `user add` stored).
    expect(await statusWith(second.url, "bob", bobPassword)).toBe(200);
  });
});

describe("the CLI against a running server", PROCESS_TIMEOUTS, () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess();
  });

  afterAll(async () => {
    await server?.stop();
    if (server) removeDir(server.dataDir);
  });

  async function createToken(
    user: string,
    name: string,
  ): Promise<{ id: string; value: string; name: string }> {
    const result = await runCli(["token", "create", user, "--name", name, "--json"], {
      dataDir: server.dataDir,
    });
    expect(result.code, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout) as { value: string; token: { id: string; name: string } };
    return { id: parsed.token.id, value: parsed.value, name: parsed.token.name };
  }

  it("`token create admin --name x --json` prints a value that authenticates at once", async () => {
    const created = await createToken("admin", "x");
    expect(created.name).toBe("x");
    const response = await fetch(`${server.url}/me/api/json`, {
      headers: { authorization: basicAuth("admin", created.value) },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { id: string }).id).toBe("admin");
  });

  it("`token revoke <id>` while the server runs: the cached token fails within 200 ms", async () => {
    const created = await createToken("admin", "revoke-me");
    // Use it twice: the second check is served from the verifier's cache, which the revoke must drop.
    expect(await statusWith(server.url, "admin", created.value)).toBe(200);
    expect(await statusWith(server.url, "admin", created.value)).toBe(200);

    const revoked = await runCli(["token", "revoke", created.id], { dataDir: server.dataDir });
    const exitedAt = performance.now();
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(await lastAcceptedAfter(server.url, "admin", created.value, exitedAt)).toBeLessThan(200);
  });

  it("`user delete` of a user with a token makes that token fail at once", async () => {
    const added = await runCli(["user", "add", "carol", "--password-stdin"], {
      dataDir: server.dataDir,
      input: "carol-password-123\n",
    });
    expect(added.code, added.stderr).toBe(0);
    const created = await createToken("carol", "carol-ci");
    expect(await statusWith(server.url, "carol", created.value)).toBe(200);
    expect(await statusWith(server.url, "carol", created.value)).toBe(200);

    const deleted = await runCli(["user", "delete", "carol"], { dataDir: server.dataDir });
    const exitedAt = performance.now();
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await lastAcceptedAfter(server.url, "carol", created.value, exitedAt)).toBeLessThan(200);
  });

  it("an unknown user → non-zero exit code, a clear message on stderr, nothing on stdout", async () => {
    for (const args of [
      ["token", "create", "nobody", "--name", "x", "--json"],
      ["user", "delete", "nobody"],
    ]) {
      const result = await runCli(args, { dataDir: server.dataDir });
      expect(result.code, args.join(" ")).not.toBe(0);
      expect(result.stderr).toMatch(/^steward: User .*not found/);
      expect(result.stdout).toBe("");
    }
  });

  it("other bad input → non-zero exit code and a message naming the problem", async () => {
    const unknownToken = await runCli(["token", "revoke", "00000000-0000-4000-8000-000000000000"], {
      dataDir: server.dataDir,
    });
    expect(unknownToken.code).not.toBe(0);
    expect(unknownToken.stderr).toContain("No token with id 00000000-0000-4000-8000-000000000000");

    const badDuration = await runCli(["token", "create", "admin", "--expires-in", "soon"], {
      dataDir: server.dataDir,
    });
    expect(badDuration.code).not.toBe(0);
    expect(badDuration.stderr).toContain("--expires-in");
    expect(badDuration.stdout).toBe("");
  });

  it("exit codes: 2 for bad input of every kind (usage or value), 3 for not found, 0 for help and version", async () => {
    const run = (args: string[]) => runCli(args, { dataDir: server.dataDir });
    const usage = [
      ["bogus"],
      ["serve", "--bogus"],
      ["token", "create"],
      ["token", "create", "admin", "--format", "weird"],
      ["serve", "--trust-proxy", "notanip"],
      ["serve", "--port", "abc"],
      ["token", "create", "admin", "--expires-in", "soon"],
    ];
    for (const args of usage) {
      const result = await run(args);
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(2);
      expect(result.stderr.length).toBeGreaterThan(0);
    }
    // A bad value names the flag as well as the variable.
    expect((await run(["serve", "--port", "abc"])).stderr).toContain("STEWARD_PORT (--port)");
    expect((await run(["token", "create", "nobody"])).code).toBe(3);
    const missingHome = await run(["import", "jenkins", join(server.dataDir, "no-such-home")]);
    expect(missingHome.code).toBe(3);
    expect(missingHome.stderr).toContain("a Jenkins home?");
    const version = await run(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await run(["serve", "--help"]);
    expect(help.code).toBe(0);
    for (const flag of [
      "--host",
      "--port",
      "--data-dir",
      "--database-url",
      "--base-url",
      "--trust-proxy",
      "--log-level",
    ])
      expect(help.stdout, flag).toContain(flag);
  });

  it("`steward migrate` says which migrations it applied, then that there was nothing to do", async () => {
    const fresh = join(server.dataDir, "fresh-for-migrate");
    const first = await runCli(["migrate", "--json"], { dataDir: fresh });
    expect(first.code, first.stderr).toBe(0);
    const applied = (JSON.parse(first.stdout) as { applied: string[] }).applied;
    expect(applied[0]).toBe("0001_initial");
    expect(applied.length).toBeGreaterThanOrEqual(5);
    const again = await runCli(["migrate"], { dataDir: fresh });
    expect(again.stdout.trim()).toBe("The database is up to date.");
  });

  it("`steward audit` alone lists the most recent events", async () => {
    const plain = await runCli(["audit", "--json"], { dataDir: server.dataDir });
    expect(plain.code, plain.stderr).toBe(0);
    const events = JSON.parse(plain.stdout) as { action: string }[];
    expect(events.length).toBeGreaterThan(0);
    expect(events.map((e) => e.action)).toContain("token.created");
  });
});
