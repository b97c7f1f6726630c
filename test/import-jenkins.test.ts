/**
 * `steward import jenkins`: Jenkins homes of every layout are imported (through the service in memory,
 * and once through the real CLI), then every known password signs in and every known token value
 * authenticates, with names, dates and usage statistics carried over. Re-importing changes nothing.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLI_ACTOR } from "../src/cli/context.js";
import { loadConfig } from "../src/config.js";
import { systemClock } from "../src/core/clock.js";
import { systemRandom } from "../src/core/random.js";
import { createApp } from "../src/http/app.js";
import { importJenkinsHome, type JenkinsImportReport } from "../src/service/import-jenkins.js";
import { buildServices } from "../src/service/services.js";
import { tokenView } from "../src/service/views.js";
import { openStore } from "../src/store/open.js";
import type { Store } from "../src/store/store.js";
import { basic, createTestApp, fetchCrumb, type TestApp } from "./support/harness.js";
import {
  buildJenkinsHome,
  type FixtureToken,
  type JenkinsHomeFixture,
  type JenkinsHomeLayout,
} from "./support/jenkins-home.js";
import { runCli } from "./support/server-process.js";

const LAYOUTS: JenkinsHomeLayout[] = ["users-xml", "hashed-folders", "id-folders"];
const TOKEN_METHODS = "/me/descriptorByName/jenkins.security.ApiTokenProperty";

let root: string;
let dirs = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "steward-import-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshDir(name = "dir"): Promise<string> {
  const dir = join(root, `${name}-${++dirs}`);
  await mkdir(dir);
  return dir;
}

async function counts(store: Store) {
  return {
    users: await store.countUsers(),
    tokens: await store.countTokens(),
    audit: (await store.queryAudit({ limit: 100_000 })).length,
  };
}

/** What whoAmI says about `user:secret` (Basic), or the status when refused. */
async function whoAmI(app: FastifyInstance, user: string, secret: string): Promise<string | number> {
  const response = await app.inject({
    method: "GET",
    url: "/whoAmI/api/json",
    headers: { authorization: basic(user, secret) },
  });
  return response.statusCode === 200 ? (response.json() as { name: string }).name : response.statusCode;
}

/** Signs in through Jenkins' login form; true when it leads into the app (not to /loginError). */
async function formLogin(app: FastifyInstance, user: string, password: string): Promise<boolean> {
  const response = await app.inject({
    method: "POST",
    url: "/j_spring_security_check",
    payload: new URLSearchParams({ j_username: user, j_password: password, from: "/" }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  expect(response.statusCode).toBe(302);
  return !String(response.headers.location).startsWith("/loginError");
}

/** A state-changing call with the password over Basic, as Jenkins scripts do: needs a crumb. */
async function basicPasswordPost(app: FastifyInstance, user: string, password: string): Promise<number> {
  const auth = basic(user, password);
  const { cookie, crumb } = await fetchCrumb(app, { authorization: auth });
  const response = await app.inject({
    method: "POST",
    url: `${TOKEN_METHODS}/generateNewToken?newTokenName=after-import`,
    headers: { authorization: auth, cookie, "jenkins-crumb": crumb },
  });
  return response.statusCode;
}

const isLive = (token: FixtureToken, now: number) => token.expiresAt === null || token.expiresAt > now;

/** Every password and token value of the fixture works (or fails) exactly as it did in Jenkins. */
async function expectCredentialsWork(app: FastifyInstance, fixture: JenkinsHomeFixture, now: number) {
  for (const user of fixture.users) {
    for (const token of user.tokens) {
      expect(await whoAmI(app, user.id, token.value), `${user.id} / ${token.name}`).toBe(
        isLive(token, now) ? user.id : 401,
      );
    }
    if (user.legacyToken) expect(await whoAmI(app, user.id, user.legacyToken.value)).toBe(user.id);
  }
  expect(await formLogin(app, "alice", fixture.passwords.alice!)).toBe(true);
  expect(await formLogin(app, "alice", "not alice's password")).toBe(false);
  expect(await basicPasswordPost(app, "bob", fixture.passwords.bob!)).toBe(200);
  // dave's `$2y$` hash is refused by Jenkins too; he has no password in Steward.
  expect(await formLogin(app, "dave.smith", "dave-2y")).toBe(false);
}

describe.each(LAYOUTS)("import of a Jenkins home, %s layout", (layout) => {
  let t: TestApp;
  let fixture: JenkinsHomeFixture;
  let report: JenkinsImportReport;

  beforeAll(async () => {
    t = await createTestApp();
    fixture = await buildJenkinsHome(await freshDir("home"), { layout });
    report = await importJenkinsHome(t.services.deps, CLI_ACTOR, fixture.home);
  });
  afterAll(async () => t.close());

  it("creates every readable user and imports every usable token", () => {
    expect(report.dryRun).toBe(false);
    expect(report.users.map((u) => u.id)).toEqual(fixture.users.map((u) => u.id));
    expect(report.summary.users).toEqual({ read: 4, created: 4, updated: 0, unchanged: 0, failed: 0 });
    // alice 4, bob 1 + his legacy token, carol 1.
    expect(report.summary.tokens).toEqual({ read: 7, imported: 7, unchanged: 0, skipped: 0, failed: 0 });
    expect(report.summary.legacyTokens).toBe(1);
    expect(report.users.find((u) => u.id === "alice")!.password).toBe("imported");
    expect(report.users.find((u) => u.id === "dave.smith")!.password).toBe("none");
  });

  it("reports the malformed user file and the tokens it could not use, and skips them", async () => {
    const files = report.problems.map((p) => p.file);
    expect(files).toContain(`users/${fixture.malformed.folder}/config.xml`);
    expect(await t.store.getUser(fixture.malformed.id)).toBeNull();
    const carol = fixture.users.find((u) => u.id === "carol")!;
    const carolProblems = report.problems.filter((p) => p.file === `users/${carol.folder}/config.xml`);
    for (const name of carol.skippedTokenNames) {
      expect(carolProblems.some((p) => p.message.includes(name))).toBe(true);
    }
    expect(report.notes.some((n) => n.includes("admin role"))).toBe(true);
  });

  it("stores users with their names, e-mail and password hash verbatim", async () => {
    for (const expected of fixture.users) {
      const user = (await t.store.getUser(expected.id))!;
      expect(user).toMatchObject({ id: expected.id, fullName: expected.fullName, email: expected.email });
      expect(user.roles).toEqual(["user"]);
      expect(user.kind).toBe("user");
    }
    expect((await t.store.getUser("alice"))!.passwordHash).toMatch(/^#jbcrypt:\$2a\$10\$/);
    expect((await t.store.getUser("bob"))!.passwordHash).toMatch(/^\$PBKDF2\$HMACSHA512:210000:/);
    expect((await t.store.getUser("dave.smith"))!.passwordHash).toBeNull();
  });

  it("keeps token uuids, names, dates, hashes and usage statistics", async () => {
    for (const user of fixture.users) {
      const tokens = [...user.tokens, ...(user.legacyToken ? [user.legacyToken] : [])];
      for (const expected of tokens) {
        const token = (await t.store.getToken(expected.uuid))!;
        expect(token, expected.name).not.toBeNull();
        expect(token).toMatchObject({
          userId: user.id,
          name: expected.name,
          hash: expected.hash,
          format: expected === user.legacyToken ? "legacy" : "jenkins",
          expiresAt: expected.expiresAt,
          useCount: expected.useCount,
          lastUsedAt: expected.lastUsedAt,
          revokedAt: null,
          scopes: null,
        });
        // The legacy entry has no creation date in Jenkins; the file's time stands in.
        if (expected !== user.legacyToken) expect(token.createdAt).toBe(expected.createdAt);
      }
    }
  });

  it("records an audit event for every user and token written, by the CLI", async () => {
    const users = await t.store.queryAudit({ action: "user.imported", limit: 100 });
    const tokens = await t.store.queryAudit({ action: "token.imported", limit: 100 });
    expect(users).toHaveLength(4);
    expect(tokens).toHaveLength(7);
    for (const event of [...users, ...tokens]) {
      expect(event.actorUserId).toBe("cli");
      expect(event.details.source).toBe("jenkins");
    }
    // Never a secret: no token hash, no password hash.
    const secrets = fixture.users.flatMap((u) => [
      ...u.tokens.map((k) => k.hash),
      ...(u.legacyToken ? [u.legacyToken.hash] : []),
      ...(u.passwordHash ? [u.passwordHash] : []),
    ]);
    const recorded = JSON.stringify([...users, ...tokens]);
    for (const secret of secrets) expect(recorded).not.toContain(secret);
    expect(new Set(tokens.map((e) => e.targetTokenId))).toEqual(
      new Set(
        fixture.users
          .flatMap((u) => [...u.tokens, ...(u.legacyToken ? [u.legacyToken] : [])])
          .map((k) => k.uuid),
      ),
    );
  });

  it("lets every known password sign in and every known token authenticate", async () => {
    await expectCredentialsWork(t.app, fixture, t.clock.now());
  });

  it("counts further uses on top of Jenkins' statistics", async () => {
    const alice = fixture.users.find((u) => u.id === "alice")!;
    const ci = alice.tokens.find((k) => k.name === "ci")!;
    const before = tokenView((await t.store.getToken(ci.uuid))!, t.services.usage).useCount;
    expect(await whoAmI(t.app, "alice", ci.value)).toBe("alice");
    await t.services.usage.flush();
    const after = (await t.store.getToken(ci.uuid))!;
    expect(after.useCount).toBe(before + 1);
    expect(after.lastUsedAt).toBe(t.clock.now());
  });

  it("changes nothing when run again", async () => {
    const before = await counts(t.store);
    const hashes = new Map(
      (await t.store.listUsers({ limit: 100 })).map((u) => [u.id, u.passwordHash] as const),
    );
    const again = await importJenkinsHome(t.services.deps, CLI_ACTOR, fixture.home);
    expect(again.summary.users).toEqual({ read: 4, created: 0, updated: 0, unchanged: 4, failed: 0 });
    expect(again.summary.tokens).toEqual({ read: 7, imported: 0, unchanged: 7, skipped: 0, failed: 0 });
    expect(await counts(t.store)).toEqual(before);
    // alice signed in above: her hash is scrypt now, and Steward's password is not overwritten.
    expect(hashes.get("alice")).toMatch(/^\$scrypt\$/);
    expect(again.users.find((u) => u.id === "alice")!.password).toBe("kept");
    for (const user of await t.store.listUsers({ limit: 100 }))
      expect(user.passwordHash).toBe(hashes.get(user.id));
  });
});

describe("import decisions", () => {
  let t: TestApp;
  let fixture: JenkinsHomeFixture;

  beforeAll(async () => {
    fixture = await buildJenkinsHome(await freshDir("home"), { layout: "hashed-folders" });
  });
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => t.close());

  it("writes nothing on a dry run, and reports what it would do", async () => {
    const before = await counts(t.store);
    const report = await importJenkinsHome(t.services.deps, CLI_ACTOR, fixture.home, { dryRun: true });
    expect(report.dryRun).toBe(true);
    expect(report.summary.users.created).toBe(4);
    expect(report.summary.tokens.imported).toBe(7);
    expect(report.problems.some((p) => p.file.includes(fixture.malformed.folder))).toBe(true);
    expect(await counts(t.store)).toEqual(before);
  });

  it("reports read and write progress", async () => {
    const seen: string[] = [];
    await importJenkinsHome(t.services.deps, CLI_ACTOR, fixture.home, {
      onProgress: ({ phase, done, total }) => seen.push(`${phase} ${done}/${total}`),
    });
    expect(seen).toContain("read 5/5");
    expect(seen.at(-1)).toBe("write 4/4");
  });

  it("merges into an existing Steward user without touching its own password or roles", async () => {
    await t.addUser("Alice", "steward-password", { admin: true });
    const report = await importJenkinsHome(t.services.deps, CLI_ACTOR, fixture.home);
    const alice = report.users.find((u) => u.id === "alice")!;
    expect(alice).toMatchObject({ outcome: "updated", password: "kept" });
    expect([...alice.changed].sort()).toEqual(["email", "fullName"]);
    const user = (await t.store.getUser("alice"))!;
    expect(user).toMatchObject({ id: "Alice", fullName: "Alice Adams", email: "alice@example.com" });
    expect(user.roles).toContain("admin");
    expect(await formLogin(t.app, "alice", "steward-password")).toBe(true);
    expect(await formLogin(t.app, "alice", fixture.passwords.alice!)).toBe(false);
    // Her Jenkins tokens now belong to the Steward user.
    const ci = fixture.users.find((u) => u.id === "alice")!.tokens[0]!;
    expect(await whoAmI(t.app, "alice", ci.value)).toBe("Alice");
    expect((await t.store.getToken(ci.uuid))!.userId).toBe("Alice");
    const updated = await t.store.queryAudit({ action: "user.import.updated", limit: 10 });
    expect(updated).toHaveLength(1);
    expect(updated[0]!.details.fields).toEqual(alice.changed);
  });

  it("replaces a Jenkins hash left by an earlier import, since Steward never used it", async () => {
    await importJenkinsHome(t.services.deps, CLI_ACTOR, fixture.home);
    const old = "#jbcrypt:$2a$10$abcdefghijklmnopqrstuu5UUyd9S1tYq1SJRVhRM0o7Q/3Sx2kCu";
    await t.store.updateUser("bob", { passwordHash: old }, null, t.clock.now());
    const report = await importJenkinsHome(t.services.deps, CLI_ACTOR, fixture.home);
    expect(report.users.find((u) => u.id === "bob")).toMatchObject({
      outcome: "updated",
      password: "updated",
      changed: ["passwordHash"],
    });
    expect(await basicPasswordPost(t.app, "bob", fixture.passwords.bob!)).toBe(200);
  });

  it("never restores a token revoked in Steward", async () => {
    await importJenkinsHome(t.services.deps, CLI_ACTOR, fixture.home);
    const ci = fixture.users.find((u) => u.id === "alice")!.tokens[0]!;
    await t.services.tokens.revoke(CLI_ACTOR, (await t.store.getToken(ci.uuid))!);
    expect(await whoAmI(t.app, "alice", ci.value)).toBe(401);
    const report = await importJenkinsHome(t.services.deps, CLI_ACTOR, fixture.home);
    const result = report.users.find((u) => u.id === "alice")!.tokens.find((k) => k.id === ci.uuid);
    expect(result).toMatchObject({ outcome: "unchanged", reason: "revoked in Steward; not restored" });
    expect(await whoAmI(t.app, "alice", ci.value)).toBe(401);
  });

  it("skips a token whose value another Steward user already holds, and says so", async () => {
    await t.addUser("eve", "eve-password");
    const ci = fixture.users.find((u) => u.id === "alice")!.tokens[0]!;
    const eve = await t.services.tokens.addFixed(
      CLI_ACTOR,
      await t.services.users.get("eve"),
      "mine",
      ci.value,
    );
    const report = await importJenkinsHome(t.services.deps, CLI_ACTOR, fixture.home);
    const result = report.users.find((u) => u.id === "alice")!.tokens.find((k) => k.id === ci.uuid)!;
    expect(result.outcome).toBe("skipped");
    expect(report.problems.some((p) => p.message.includes(`token ${eve.id} of eve`))).toBe(true);
    expect(await whoAmI(t.app, "eve", ci.value)).toBe("eve");
    expect(await whoAmI(t.app, "alice", ci.value)).toBe(401);
  });

  it("gives the admin role to the users named with admins", async () => {
    const report = await importJenkinsHome(t.services.deps, CLI_ACTOR, fixture.home, {
      admins: ["ALICE", "nobody"],
    });
    expect((await t.store.getUser("alice"))!.roles).toEqual(["admin", "user"]);
    expect((await t.store.getUser("bob"))!.roles).toEqual(["user"]);
    expect(report.notes.some((n) => n.includes("--admin nobody"))).toBe(true);
    expect(report.notes.some((n) => n.includes("No Steward user has the admin role"))).toBe(false);
  });

  it("throws when the folder is not a Jenkins home, and writes nothing", async () => {
    await expect(importJenkinsHome(t.services.deps, CLI_ACTOR, join(root, "no-such-home"))).rejects.toThrow(
      /is .* a Jenkins home\?/,
    );
    expect(await t.store.countUsers()).toBe(0);
  });
});

/** Opens what the CLI wrote, with the real app on top, for in-memory requests. */
async function openDataDir(dataDir: string) {
  const config = loadConfig({}, { dataDir, passwordHashCost: 10 });
  const store = await openStore(config);
  const services = await buildServices({ store, config, clock: systemClock, random: systemRandom });
  const app = await createApp(services, { logger: false });
  await app.ready();
  return {
    app,
    store,
    async close() {
      await app.close();
      await services.usage.stop();
      await store.close();
    },
  };
}

describe("steward import jenkins (the CLI, from dist/)", () => {
  let fixture: JenkinsHomeFixture;

  beforeAll(async () => {
    fixture = await buildJenkinsHome(await freshDir("home"), { layout: "users-xml" });
  });

  it("imports a home so that its passwords and tokens work, and again changes nothing", async () => {
    const dataDir = await freshDir("data");
    const run = await runCli(["import", "jenkins", fixture.home, "--data-dir", dataDir, "--json"], {
      dataDir,
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as JenkinsImportReport;
    expect(report.summary.users.created).toBe(4);
    expect(report.summary.tokens.imported).toBe(7);
    expect(report.problems.some((p) => p.file.includes(fixture.malformed.folder))).toBe(true);

    const opened = await openDataDir(dataDir);
    try {
      await expectCredentialsWork(opened.app, fixture, Date.now());
      const ci = fixture.users.find((u) => u.id === "alice")!.tokens[0]!;
      expect((await opened.store.getToken(ci.uuid))!.useCount).toBeGreaterThanOrEqual(ci.useCount);
      const before = await counts(opened.store);
      const again = await runCli(["import", "jenkins", fixture.home, "--json"], { dataDir });
      expect(again.code).toBe(0);
      const second = JSON.parse(again.stdout) as JenkinsImportReport;
      expect(second.summary.users.created + second.summary.users.updated).toBe(0);
      expect(second.summary.tokens.imported).toBe(0);
      expect(await counts(opened.store)).toEqual(before);
    } finally {
      await opened.close();
    }
  });

  it("prints a readable report, and --dry-run writes no user or token", async () => {
    const dataDir = await freshDir("data");
    const run = await runCli(["import", "jenkins", fixture.home, "--dry-run"], { dataDir });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("dry run: nothing was written");
    expect(run.stdout).toMatch(/Users: +4 read — 4 created/);
    expect(run.stdout).toContain(`users/${fixture.malformed.folder}/config.xml`);
    const opened = await openDataDir(dataDir);
    try {
      expect(await opened.store.countUsers()).toBe(0);
      expect(await opened.store.countTokens()).toBe(0);
    } finally {
      await opened.close();
    }
  });

  it("exits 3 with a clear message when there is no Jenkins home, and creates no database", async () => {
    const dataDir = await freshDir("data");
    const run = await runCli(["import", "jenkins", join(root, "missing")], { dataDir });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/steward: .*missing\/users was not found: is .* a Jenkins home\?/);
    expect(run.stdout).toBe("");
    expect(existsSync(join(dataDir, "steward.db"))).toBe(false);
  });
});
