import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  parseJenkinsDate,
  parseJenkinsXml,
  parseTokenStats,
  parseUserConfig,
  parseUserIdMap,
  passwordHashProblem,
} from "./jenkins-xml.js";

const HEADER = "<?xml version='1.1' encoding='UTF-8'?>\n";

describe("parseJenkinsDate", () => {
  it.each([
    ["2019-03-07 10:23:45.123 UTC", "2019-03-07T10:23:45.123Z"],
    // A single `S` in Java's pattern: the digits are milliseconds, unpadded.
    ["2019-03-07 10:23:45.5 UTC", "2019-03-07T10:23:45.005Z"],
    ["2019-03-07 10:23:45.50 UTC", "2019-03-07T10:23:45.050Z"],
    ["2019-03-07 10:23:45 UTC", "2019-03-07T10:23:45.000Z"],
    ["2019-03-07 10:23:45.1 GMT", "2019-03-07T10:23:45.001Z"],
    ["2019-03-07 10:23:45.1", "2019-03-07T10:23:45.001Z"],
    ["2024-02-29 23:59:59.999 UTC", "2024-02-29T23:59:59.999Z"],
  ])("%s", (text, iso) => {
    expect(new Date(parseJenkinsDate(text)!).toISOString()).toBe(iso);
  });

  it.each([
    "2019-03-07T10:23:45.123Z",
    "2019-03-07 10:23:45.123 CET",
    "2019-02-30 10:23:45.123 UTC",
    "2019-03-07 24:00:00.0 UTC",
    "2019-03-07 10:60:00.0 UTC",
    "2019-03-07 10:23:45.1234 UTC",
    "",
  ])("refuses %j", (text) => {
    expect(parseJenkinsDate(text)).toBeNull();
  });
});

describe("passwordHashProblem", () => {
  const body = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
  it.each([
    `#jbcrypt:$2a$10$${body}`,
    `#jbcrypt:$2a$01$${body}`,
    `#jbcrypt:$2a$18$${body}`,
    `$PBKDF2$HMACSHA512:210000:${"ab".repeat(16)}$${"cd".repeat(64)}`,
  ])("accepts %s", (hash) => {
    expect(passwordHashProblem(hash)).toBeNull();
  });

  it.each([
    [`#jbcrypt:$2a$19$${body}`, "cost 19"],
    [`#jbcrypt:$2a$00$${body}`, "cost 0"],
    [`#jbcrypt:$2y$10$${body}`, "only $2a$"],
    [`#jbcrypt:$2b$10$${body}`, "only $2a$"],
    [`#jbcrypt:$2a$10$${body}x`, "not in a supported format"],
    [`$2a$10$${body}`, "not in a supported format"],
    ["salt:0123abcd", "not in a supported format"],
    [`$PBKDF2$HMACSHA512:0:${"ab".repeat(16)}$${"cd".repeat(64)}`, "iteration count"],
    [`$PBKDF2$HMACSHA256:1000:${"ab".repeat(16)}$${"cd".repeat(64)}`, "not in a supported format"],
  ])("refuses %s (%s)", (hash, reason) => {
    const problem = passwordHashProblem(hash);
    expect(problem).toContain(reason);
    expect(problem).not.toContain(body);
  });
});

describe("parseJenkinsXml", () => {
  it("parses XML 1.1 with a BOM and element names with `_-` and dots", () => {
    const result = parseJenkinsXml(`\uFEFF${HEADER}<a.b_-C><d>1</d></a.b_-C>`);
    expect(result).toEqual({ ok: true, root: "a.b_-C", doc: { d: "1" } });
  });

  it("reports malformed XML with a line number", () => {
    const result = parseJenkinsXml(`${HEADER}<user>\n<id>x</user>`);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/^malformed XML at line 3: /);
  });

  it("refuses a DOCTYPE", () => {
    expect(parseJenkinsXml(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`)).toEqual({
      ok: false,
      error: "a DOCTYPE is not allowed in Jenkins files",
    });
  });

  it("never throws on arbitrary input", () => {
    const xmlish = fc
      .array(
        fc.constantFrom(
          "<user>",
          "</user>",
          "<id>",
          "</id>",
          "&amp;",
          "&#x41;",
          "&#xD800;",
          "<a/>",
          "x",
          "<?xml version='1.1'?>",
          "<![CDATA[",
          "]]>",
          "<!--",
          "-->",
        ),
        { maxLength: 12 },
      )
      .map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.oneof(fc.string(), xmlish), (text) => {
        parseUserConfig(text);
        parseTokenStats(text);
        parseUserIdMap(text);
      }),
    );
  });
});

describe("parseUserConfig", () => {
  it("reads a minimal pre-2.150 user file (no <id>, no token store)", () => {
    const result = parseUserConfig(`${HEADER}<user><fullName>Old Timer</fullName><properties/></user>`);
    expect(result).toEqual({
      ok: true,
      user: {
        id: null,
        fullName: "Old Timer",
        email: null,
        passwordHash: null,
        hasEncryptedLegacyToken: false,
        tokens: [],
      },
    });
  });

  it("keeps token fields as text, including all-digit hashes", () => {
    const digits = "1".repeat(64);
    const result = parseUserConfig(
      `${HEADER}<user><id>0123</id><properties><jenkins.security.ApiTokenProperty><apiToken/><tokenStore><tokenList><jenkins.security.apitoken.ApiTokenStore_-HashedToken><uuid>u</uuid><name> 007 </name><value><version>11</version><hash>${digits}</hash></value></jenkins.security.apitoken.ApiTokenStore_-HashedToken></tokenList></tokenStore></jenkins.security.ApiTokenProperty></properties></user>`,
    );
    expect(result.ok && result.user.id).toBe("0123");
    expect(result.ok && result.user.hasEncryptedLegacyToken).toBe(false);
    expect(result.ok && result.user.tokens).toEqual([
      {
        uuid: "u",
        name: "007",
        creationDate: null,
        expirationDate: null,
        version: "11",
        hash: digits,
        scopes: null,
      },
    ]);
  });
});

describe("parseTokenStats", () => {
  const entry = (uuid: string, counter: string, date?: string) =>
    `<jenkins.security.apitoken.ApiTokenStats_-SingleTokenStats><tokenUuid>${uuid}</tokenUuid>${date ? `<lastUseDate>${date}</lastUseDate>` : ""}<useCounter>${counter}</useCounter></jenkins.security.apitoken.ApiTokenStats_-SingleTokenStats>`;
  const file = (...entries: string[]) =>
    `${HEADER}<jenkins.security.apitoken.ApiTokenStats><tokenStats>${entries.join("")}</tokenStats></jenkins.security.apitoken.ApiTokenStats>`;

  it("keeps the most recently used duplicate, then the higher counter, and clamps negatives", () => {
    const result = parseTokenStats(
      file(
        entry("A", "9", "2024-01-01 00:00:00.0 UTC"),
        entry("a", "2", "2025-01-01 00:00:00.0 UTC"),
        entry("b", "3"),
        entry("b", "4"),
        entry("c", "-5", "2025-01-01 00:00:00.0 UTC"),
        entry("d", "1", "yesterday"),
      ),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.fromEntries(result.stats)).toEqual({
      a: { useCount: 2, lastUsedAt: Date.UTC(2025, 0, 1) },
      b: { useCount: 4, lastUsedAt: null },
      c: { useCount: 0, lastUsedAt: Date.UTC(2025, 0, 1) },
      d: { useCount: 1, lastUsedAt: null },
    });
    expect(result.problems).toEqual(["the last use date of token d is not a date Jenkins writes; ignored"]);
  });

  it("reads an empty statistics file", () => {
    const result = parseTokenStats(
      `${HEADER}<jenkins.security.apitoken.ApiTokenStats><tokenStats/></jenkins.security.apitoken.ApiTokenStats>`,
    );
    expect(result.ok && result.stats.size).toBe(0);
  });
});

describe("parseUserIdMap", () => {
  it("reads entries in order and refuses incomplete ones", () => {
    const wrap = (inner: string) =>
      `${HEADER}<hudson.model.UserIdMapper><version>1</version><idToDirectoryNameMap class="concurrent-hash-map">${inner}</idToDirectoryNameMap></hudson.model.UserIdMapper>`;
    expect(
      parseUserIdMap(
        wrap(
          "<entry><string>b</string><string>b_1</string></entry><entry><string>a</string><string>a_2</string></entry>",
        ),
      ),
    ).toEqual({
      ok: true,
      entries: [
        ["b", "b_1"],
        ["a", "a_2"],
      ],
    });
    expect(parseUserIdMap(wrap("<entry><string>b</string></entry>")).ok).toBe(false);
    expect(parseUserIdMap(wrap(""))).toEqual({ ok: true, entries: [] });
  });
});
