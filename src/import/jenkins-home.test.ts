import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildJenkinsHome,
  type JenkinsHomeFixture,
  type JenkinsHomeLayout,
} from "../../test/support/jenkins-home.js";
import { createPasswordHasher } from "../core/password.js";
import { parseToken } from "../core/token-format.js";
import { type ImportProblem, readJenkinsHome } from "./jenkins-home.js";

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "steward-jenkins-home-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
async function freshDir(): Promise<string> {
  const dir = join(root, `home-${++counter}`);
  await mkdir(dir);
  return dir;
}

function messagesFor(problems: ImportProblem[], fragment: string): string[] {
  return problems.filter((p) => p.file.includes(fragment)).map((p) => p.message);
}

const layouts: JenkinsHomeLayout[] = ["users-xml", "hashed-folders", "id-folders"];

describe.each(layouts)("readJenkinsHome, %s layout", (layout) => {
  let fixture: JenkinsHomeFixture;
  let report: Awaited<ReturnType<typeof readJenkinsHome>>;
  const progress: [number, number][] = [];

  beforeAll(async () => {
    fixture = await buildJenkinsHome(await freshDir(), { layout });
    report = await readJenkinsHome(fixture.home, (done, total) => progress.push([done, total]));
  });

  it("reads every well-formed user, in folder order", () => {
    expect(report.users.map((u) => u.id)).toEqual(fixture.users.map((u) => u.id));
    expect(report.users.map((u) => u.folder)).toEqual(fixture.users.map((u) => u.folder));
  });

  it("reads names and e-mail addresses, decoding entities", () => {
    for (const expected of fixture.users) {
      const user = report.users.find((u) => u.id === expected.id)!;
      expect(user.fullName).toBe(expected.fullName);
      expect(user.email).toBe(expected.email);
    }
  });

  it("keeps importable password hashes verbatim, and they verify with the known passwords", async () => {
    const hasher = createPasswordHasher(10);
    for (const expected of fixture.users) {
      const user = report.users.find((u) => u.id === expected.id)!;
      if (expected.password === null) {
        expect(user.passwordHash).toBeNull();
        continue;
      }
      expect(user.passwordHash).toBe(expected.passwordHash);
      expect(await hasher.verify(expected.password, user.passwordHash!)).toBe(true);
      expect(await hasher.verify(`${expected.password}x`, user.passwordHash!)).toBe(false);
    }
    expect(user("alice").passwordHash).toMatch(/^#jbcrypt:\$2a\$10\$/);
    expect(user("bob").passwordHash).toMatch(/^\$PBKDF2\$HMACSHA512:210000:/);
  });

  it("imports tokens with names, uuids, dates, expiry and usage statistics", () => {
    for (const expected of fixture.users) {
      expect(user(expected.id).tokens).toEqual(expected.tokens.map(({ value: _value, ...token }) => token));
    }
    const ci = user("alice").tokens.find((t) => t.name === "ci")!;
    expect(ci.useCount).toBe(5);
    // `.6` in Jenkins' date means 6 ms.
    expect(new Date(ci.lastUsedAt!).toISOString()).toBe("2025-01-02T03:04:05.006Z");
    expect(new Date(ci.createdAt).toISOString()).toBe("2024-03-07T10:23:45.123Z");
    const expired = user("alice").tokens.find((t) => t.name === "expired")!;
    expect(new Date(expired.expiresAt!).toISOString()).toBe("2020-01-02T00:00:00.000Z");
    expect(user("alice").tokens.find((t) => t.name.startsWith("laptop"))!.name).toBe("laptop <work> & home");
  });

  it("stores the hash a known token value parses to, so imported tokens authenticate", () => {
    for (const expected of fixture.users) {
      for (const token of expected.tokens) {
        const imported = user(expected.id).tokens.find((t) => t.uuid === token.uuid)!;
        expect(parseToken(token.value)).toEqual({ format: "jenkins", hash: imported.hash });
      }
    }
    expect(fixture.tokenValues.alice).toHaveLength(4);
    expect(Object.keys(fixture.passwords).sort()).toEqual(["alice", "bob"]);
  });

  it("flags legacy tokens and carries the version-10 entry as a legacy-format hash", () => {
    expect(report.users.filter((u) => u.hasLegacyToken).map((u) => u.id)).toEqual(["bob"]);
    const legacy = user("bob").legacyToken!;
    const expected = fixture.users.find((u) => u.id === "bob")!.legacyToken!;
    expect(legacy.uuid).toBe(expected.uuid);
    expect(legacy.name).toBe("Legacy Token");
    expect(parseToken(expected.value)).toEqual({ format: "legacy", hash: legacy.hash });
    expect(user("alice").legacyToken).toBeNull();
    // A migrated legacy token has no creation date in Jenkins; that is not worth a problem.
    expect(messagesFor(report.problems, user("bob").folder)).toEqual([]);
  });

  it("skips what cannot be imported, with a problem per item", () => {
    const carol = messagesFor(report.problems, user("carol").folder);
    expect(carol).toHaveLength(3);
    expect(carol[0]).toContain('token "future-format" skipped: format version 12 is not 11');
    expect(carol[1]).toContain('token "bad-hash" skipped: its hash is not 64 hex characters');
    expect(carol[2]).toContain(
      'token "scoped" skipped: it is limited to Jenkins permissions (hudson.model.Hudson.Read)',
    );

    const dave = messagesFor(report.problems, user("dave.smith").folder);
    expect(dave).toEqual([
      "password not imported (only $2a$ bcrypt hashes are accepted, as in Jenkins); the user has no password in Steward",
    ]);
    expect(user("dave.smith").passwordHash).toBeNull();

    const mallory = messagesFor(report.problems, fixture.malformed.folder);
    expect(mallory).toHaveLength(1);
    expect(mallory[0]).toMatch(/^malformed XML at line \d+: .*; user skipped$/);
    expect(report.problems.find((p) => p.message.includes("malformed"))!.file).toBe(
      `users/${fixture.malformed.folder}/config.xml`,
    );
    expect(report.problems).toHaveLength(5);
  });

  it("never puts a secret in a problem message", () => {
    const text = JSON.stringify(report.problems);
    for (const expected of fixture.users) {
      if (expected.passwordHash) expect(text).not.toContain(expected.passwordHash.slice(10));
    }
    expect(text).not.toContain("zz".repeat(32));
    expect(text).not.toContain("AQAAAB");
  });

  it("reports progress up to the number of folders", () => {
    expect(progress[0]).toEqual([0, fixture.users.length + 1]);
    expect(progress.at(-1)).toEqual([fixture.users.length + 1, fixture.users.length + 1]);
    expect(progress).toHaveLength(fixture.users.length + 2);
  });

  function user(id: string) {
    const found = report.users.find((u) => u.id === id);
    if (!found) throw new Error(`no user ${id}`);
    return found;
  }
});

describe("readJenkinsHome, edge cases", () => {
  async function home(files: Record<string, string>): Promise<string> {
    const dir = await freshDir();
    await mkdir(join(dir, "users"));
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(dir, path, ".."), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    return dir;
  }

  const HEADER = "<?xml version='1.1' encoding='UTF-8'?>\n";
  const hex = (c: string) => c.repeat(64);
  function config(id: string | null, tokens = "", extra = ""): string {
    return `${HEADER}<user>${id === null ? "" : `<id>${id}</id>`}<properties><jenkins.security.ApiTokenProperty><tokenStore><tokenList>${tokens}</tokenList></tokenStore></jenkins.security.ApiTokenProperty>${extra}</properties></user>`;
  }
  function token(uuid: string, name: string, hash: string, more = ""): string {
    return `<jenkins.security.apitoken.ApiTokenStore_-HashedToken><uuid>${uuid}</uuid><name>${name}</name><creationDate>2024-01-01 00:00:00.0 UTC</creationDate>${more}<value><version>11</version><hash>${hash}</hash></value></jenkins.security.apitoken.ApiTokenStore_-HashedToken>`;
  }
  const U1 = "11111111-1111-4111-8111-111111111111";
  const U2 = "22222222-2222-4222-8222-222222222222";

  it("throws a clear error when there is no users folder", async () => {
    const dir = await freshDir();
    await expect(readJenkinsHome(dir)).rejects.toThrow(/users cannot be read: is .* a Jenkins home\?/);
    await expect(readJenkinsHome(join(dir, "missing"))).rejects.toThrow(/a Jenkins home/);
  });

  it("reads an empty home", async () => {
    const progress: [number, number][] = [];
    expect(await readJenkinsHome(await home({}), (d, t) => progress.push([d, t]))).toEqual({
      users: [],
      problems: [],
    });
    expect(progress).toEqual([[0, 0]]);
  });

  it("decodes $xxxx escapes in old id-named folders and skips hashed folders without <id>", async () => {
    const dir = await home({
      "users/john$002esmith/config.xml": config(null),
      [`users/anon_${hex("a")}/config.xml`]: config(null),
      "users/no-config/readme.txt": "not a user",
    });
    const report = await readJenkinsHome(dir);
    expect(report.users.map((u) => [u.id, u.fullName])).toEqual([["john.smith", "john.smith"]]);
    expect(report.problems).toEqual([
      {
        file: `users/anon_${hex("a")}/config.xml`,
        message: "has no <id> and its folder name does not give one; user skipped",
      },
    ]);
  });

  it("with users.xml: ignores unlisted folders, refuses path tricks, reports missing folders", async () => {
    const map = (entries: [string, string][]) =>
      `${HEADER}<hudson.model.UserIdMapper><version>1</version><idToDirectoryNameMap class="concurrent-hash-map">${entries
        .map(([id, dir]) => `<entry><string>${id}</string><string>${dir}</string></entry>`)
        .join("")}</idToDirectoryNameMap></hudson.model.UserIdMapper>`;
    const dir = await home({
      "users/users.xml": map([
        ["alice", "alice_1"],
        ["evil", "../../etc"],
        ["ghost", "ghost_1"],
        ["Renamed", "renamed_1"],
      ]),
      "users/alice_1/config.xml": config("alice"),
      "users/renamed_1/config.xml": config("other"),
      "users/orphan_1/config.xml": config("orphan"),
    });
    const report = await readJenkinsHome(dir);
    expect(report.users.map((u) => u.id)).toEqual(["alice", "Renamed"]);
    expect(report.problems).toEqual([
      {
        file: "users/users.xml",
        message: 'folder "../../etc" of user "evil" is not a plain folder name; user skipped',
      },
      { file: "users/orphan_1", message: "not listed in users/users.xml, so Jenkins ignores it; skipped" },
      { file: "users/ghost_1/config.xml", message: "missing; user skipped" },
      {
        file: "users/renamed_1/config.xml",
        message: 'its <id> "other" differs from users.xml; the users.xml id is used',
      },
    ]);
  });

  it("falls back to reading every folder when users.xml is malformed", async () => {
    const dir = await home({
      "users/users.xml": `${HEADER}<hudson.model.UserIdMapper><idToDirectoryNameMap>`,
      "users/alice_1/config.xml": config("alice"),
    });
    const report = await readJenkinsHome(dir);
    expect(report.users.map((u) => u.id)).toEqual(["alice"]);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]!.file).toBe("users/users.xml");
    expect(report.problems[0]!.message).toContain("every users/*/config.xml is read instead");
  });

  it("refuses DOCTYPEs, foreign roots and ids Steward cannot hold, and keeps the first of duplicate ids", async () => {
    const dir = await home({
      "users/a/config.xml": `${HEADER}<!DOCTYPE user [<!ENTITY x "y">]><user><id>a</id></user>`,
      "users/b/config.xml": `${HEADER}<hudson.model.Hudson/>`,
      "users/c/config.xml": config("has space"),
      "users/d/config.xml": config("Dup"),
      "users/e/config.xml": config("dup"),
    });
    const report = await readJenkinsHome(dir);
    expect(report.users.map((u) => u.id)).toEqual(["Dup"]);
    expect(report.problems.map((p) => [p.file, p.message])).toEqual([
      ["users/a/config.xml", "a DOCTYPE is not allowed in Jenkins files; user skipped"],
      ["users/b/config.xml", "not a Jenkins user file (root element <hudson.model.Hudson>); user skipped"],
      [
        "users/c/config.xml",
        `user id "has space" is not allowed in Steward (1 to 64 letters, digits, '.', '_', '@' or '-'); user skipped`,
      ],
      ["users/e/config.xml", 'user id "dup" was already read from another folder; user skipped'],
    ]);
  });

  it("keeps uuids and hashes unique across the home", async () => {
    const dir = await home({
      "users/a/config.xml": config(
        "a",
        token(U1, "one", hex("1")) + token(U2.toUpperCase(), "two", hex("2")),
      ),
      "users/b/config.xml": config("b", token(U1, "same uuid", hex("3")) + token(U2, "same value", hex("1"))),
      "users/b/apiTokenStats.xml": `${HEADER}<jenkins.security.apitoken.ApiTokenStats><tokenStats><jenkins.security.apitoken.ApiTokenStats_-SingleTokenStats><tokenUuid>${U1}</tokenUuid><useCounter>7</useCounter></jenkins.security.apitoken.ApiTokenStats_-SingleTokenStats></tokenStats></jenkins.security.apitoken.ApiTokenStats>`,
    });
    const report = await readJenkinsHome(dir);
    const [a, b] = report.users;
    expect(a!.tokens.map((t) => [t.uuid, t.name])).toEqual([
      [U1, "one"],
      [U2, "two"],
    ]);
    expect(b!.tokens).toHaveLength(1);
    expect(b!.tokens[0]!.uuid).not.toBe(U1);
    expect(b!.tokens[0]!.uuid).toMatch(/^[0-9a-f-]{36}$/);
    // Stats follow the token from its own folder, even though its uuid had to change.
    expect(b!.tokens[0]!.useCount).toBe(7);
    expect(report.problems.map((p) => p.message)).toEqual([
      `token "same uuid" has a uuid already taken; it was given the new uuid ${b!.tokens[0]!.uuid}`,
      'token "same value" skipped: another imported token has the same value',
    ]);
  });

  it("cleans names, lowercases uppercase hashes and refuses unreadable expiry dates", async () => {
    const long = "é".repeat(120);
    const dir = await home({
      "users/a/config.xml": config(
        "a",
        token(U1, `line&#10;break`, hex("A")) +
          token(U2, long, hex("b")) +
          token(
            "33333333-3333-4333-8333-333333333333",
            "bad expiry",
            hex("c"),
            "<expirationDate>2024-02-30</expirationDate>",
          ) +
          token("not-a-uuid", "odd uuid", hex("d"), "<expirationDate>2030-06-15</expirationDate>"),
      ),
    });
    const report = await readJenkinsHome(dir);
    const tokens = report.users[0]!.tokens;
    expect(tokens.map((t) => t.name)).toEqual(["line break", "é".repeat(100), "odd uuid"]);
    expect(tokens[0]!.hash).toBe(hex("a"));
    expect(tokens[2]!.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(tokens[2]!.expiresAt).toBe(Date.UTC(2030, 5, 16));
    expect(report.problems.map((p) => p.message)).toEqual([
      'token "line\\nbreak": control characters in its name were replaced by spaces',
      `token ${JSON.stringify(long)}: its name was shortened to 100 characters`,
      'token "bad expiry" skipped: its expiration date is not a yyyy-MM-dd date',
      `token "odd uuid" has a malformed uuid; it was given the new uuid ${tokens[2]!.uuid}`,
    ]);
  });

  it("reports a malformed statistics file but still imports the tokens", async () => {
    const dir = await home({
      "users/a/config.xml": config("a", token(U1, "one", hex("1"))),
      "users/a/apiTokenStats.xml": "<jenkins.security.apitoken.ApiTokenStats><tokenStats>",
    });
    const report = await readJenkinsHome(dir);
    expect(report.users[0]!.tokens[0]!.useCount).toBe(0);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]!.file).toBe("users/a/apiTokenStats.xml");
    expect(report.problems[0]!.message).toContain("usage statistics of this user not imported");
  });

  it("uses the file time when a token has no creation date", async () => {
    const bare = `<jenkins.security.apitoken.ApiTokenStore_-HashedToken><uuid>${U1}</uuid><name>n</name><value><version>11</version><hash>${hex("1")}</hash></value></jenkins.security.apitoken.ApiTokenStore_-HashedToken>`;
    const before = Date.now() - 5_000;
    const report = await readJenkinsHome(await home({ "users/a/config.xml": config("a", bare) }));
    expect(report.users[0]!.tokens[0]!.createdAt).toBeGreaterThan(before);
    expect(report.problems.map((p) => p.message)).toEqual([
      'token "n": no readable creation date; the file\'s modification time is used',
    ]);
  });
});
