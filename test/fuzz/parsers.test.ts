/**
 * Property-based fuzzing of the parsers that see attacker input first: the Basic header, token
 * values, crumbs (and the crumb xpath forms over HTTP), CIDR allow-lists, names, and the post-login
 * redirect. Each must never throw on any input, and its round trips must hold.
 */
import { createHash } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBasicHeader } from "../../src/auth/basic-header.js";
import { compileAllowList, parseCidrList } from "../../src/core/cidr.js";
import { computeCrumb, verifyCrumb } from "../../src/core/crumb.js";
import { StewardError } from "../../src/core/errors.js";
import {
  assertUserId,
  isValidUserId,
  MAX_TOKEN_NAME_LENGTH,
  normalizeTokenName,
} from "../../src/core/names.js";
import type { Random } from "../../src/core/random.js";
import { generateJenkinsToken, generateStewardToken, parseToken } from "../../src/core/token-format.js";
import { safeRedirect } from "../../src/http/routes/login.js";
import { createTestApp, sessionCookieOf, signIn, type TestApp } from "../support/harness.js";

const RUNS = Number(process.env.FUZZ_PROPERTY_RUNS ?? 500);
const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Any string: UTF-16 units (lone surrogates included), full Unicode, or Latin-1 bytes as a header carries them. */
const anyString = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
);

/** A `Random` that replays the bytes fast-check chose, so generated tokens shrink and reproduce. */
function replay(bytes: Uint8Array): Random {
  let i = 0;
  return {
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => bytes[i++ % bytes.length]!)),
    uuid: () => "00000000-0000-4000-8000-000000000000",
  };
}
const randomSource = fc.uint8Array({ minLength: 64, maxLength: 64 }).map(replay);

/** A string in random letter case. */
const randomCase = (text: string) =>
  fc
    .array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((flags) => [...text].map((c, i) => (flags[i] ? c.toUpperCase() : c.toLowerCase())).join(""));

describe("parseBasicHeader", () => {
  it("never throws, whatever the header", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyString,
          anyString.map((s) => `Basic ${s}`),
          fc.uint8Array({ maxLength: 300 }).map((b) => `Basic ${Buffer.from(b).toString("base64")}`),
        ),
        (header) => {
          const result = parseBasicHeader(header);
          expect(["none", "malformed", "basic"]).toContain(result.kind);
        },
      ),
      { numRuns: RUNS },
    );
    expect(parseBasicHeader(undefined)).toEqual({ kind: "none" });
  });

  it("round-trips user:secret in any scheme case, split at the first colon", () => {
    const userId = fc.string({ unit: "binary", maxLength: 64 }).filter((s) => !s.includes(":"));
    const secret = fc.string({ unit: "binary", maxLength: 200 });
    fc.assert(
      fc.property(userId, secret, randomCase("basic"), (user, pass, scheme) => {
        const header = `${scheme} ${Buffer.from(`${user}:${pass}`, "utf8").toString("base64")}`;
        expect(parseBasicHeader(header)).toEqual({ kind: "basic", userId: user, secret: pass });
      }),
      { numRuns: RUNS },
    );
  });

  it("agrees with Node's Base64 and UTF-8 decoding on every well-formed header", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const encoded = Buffer.from(bytes).toString("base64");
        const result = parseBasicHeader(`Basic ${encoded}`);
        const decoded = Buffer.from(bytes).toString("utf8");
        if (!decoded.includes(":")) expect(result.kind).toBe("malformed");
        else expect(result).toEqual({ kind: "basic", ...splitAtFirstColon(decoded) });
      }),
      { numRuns: RUNS },
    );
  });

  it("decodes any run of the Base64 alphabet as Node's lenient decoder does (odd lengths, stray bits, padding)", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/:";
    const body = fc.string({ unit: fc.constantFrom(...alphabet.slice(0, 64)), maxLength: 80 });
    const withColon = fc
      .uint8Array({ maxLength: 60 })
      .map((b) => Buffer.from(b).toString("base64").replace(/=+$/, ""));
    fc.assert(
      fc.property(fc.oneof(body, withColon), fc.constantFrom("", "=", "=="), (encoded, padding) => {
        const header = `Basic ${encoded}${padding}`;
        const decoded = Buffer.from(`${encoded}${padding}`, "base64").toString("utf8");
        const result = parseBasicHeader(header);
        if (!decoded.includes(":")) expect(result.kind).toBe("malformed");
        else expect(result).toEqual({ kind: "basic", ...splitAtFirstColon(decoded) });
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it("ignores other schemes (anonymous, as Jenkins does)", () => {
    const scheme = fc
      .stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/)
      .filter((s) => s.toLowerCase() !== "basic");
    fc.assert(
      fc.property(scheme, anyString, (name, rest) => {
        expect(parseBasicHeader(`${name} ${rest}`)).toEqual({ kind: "none" });
      }),
      { numRuns: RUNS },
    );
  });
});

function splitAtFirstColon(text: string): { userId: string; secret: string } {
  const colon = text.indexOf(":");
  return { userId: text.slice(0, colon), secret: text.slice(colon + 1) };
}

describe("parseToken", () => {
  it("never throws, and accepts only the three exact shapes", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyString,
          anyString.map((s) => `stw_${s}`),
          anyString.map((s) => `11${s}`),
        ),
        (value) => {
          const parsed = parseToken(value);
          if (parsed === null) return;
          expect(parsed.hash).toMatch(/^[0-9a-f]{64}$/);
          if (parsed.format === "steward") expect(value).toMatch(/^stw_[0-9A-Za-z]{36}$/);
          if (parsed.format === "jenkins") expect(value).toMatch(/^11[0-9a-f]{32}$/);
          if (parsed.format === "legacy") expect(value).toMatch(/^[0-9a-f]{32}$/);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("round-trips generated stw_ tokens to the SHA-256 of the whole value", () => {
    fc.assert(
      fc.property(randomSource, (random) => {
        const value = generateStewardToken(random);
        expect(parseToken(value)).toEqual({ format: "steward", hash: sha256(value) });
      }),
      { numRuns: RUNS },
    );
  });

  it("rejects every stw_ token with one character changed (the CRC-32 catches it without a lookup)", () => {
    fc.assert(
      fc.property(randomSource, fc.nat(), fc.constantFrom(...BASE62), (random, at, replacement) => {
        const value = generateStewardToken(random);
        const index = 4 + (at % (value.length - 4));
        fc.pre(value[index] !== replacement);
        const changed = value.slice(0, index) + replacement + value.slice(index + 1);
        expect(parseToken(changed)).toBeNull();
      }),
      { numRuns: RUNS },
    );
  });

  it("round-trips Jenkins tokens to the SHA-256 of the 32 hex without '11', and nothing else", () => {
    fc.assert(
      fc.property(randomSource, fc.stringMatching(/^[0-9]{2}$/), (random, prefix) => {
        const value = generateJenkinsToken(random);
        const secret = value.slice(2);
        expect(parseToken(value)).toEqual({ format: "jenkins", hash: sha256(secret) });
        // Not copied from Jenkins: another version prefix, upper case, or a missing/extra character fail.
        if (prefix !== "11") expect(parseToken(prefix + secret)).toBeNull();
        if (/[a-f]/.test(secret)) expect(parseToken(`11${secret.toUpperCase()}`)).toBeNull();
        expect(parseToken(value.slice(0, -1))).toBeNull();
        expect(parseToken(`${value}0`)).toBeNull();
        // The bare secret is a legacy value, which hashes the same text but must never match a Jenkins token.
        expect(parseToken(secret)).toEqual({ format: "legacy", hash: sha256(secret) });
      }),
      { numRuns: RUNS },
    );
  });
});

describe("crumbs", () => {
  const secret = fc.string({ minLength: 1, maxLength: 64 });
  const userId = fc.stringMatching(/^[A-Za-z0-9._@-]{1,64}$/);
  const sessionId = fc.base64String({ minLength: 4, maxLength: 44 });

  it("verify for their own user (any case) and session, never throwing on any presented crumb", () => {
    fc.assert(
      fc.property(secret, userId, sessionId, anyString, (key, user, session, presented) => {
        const crumb = computeCrumb(key, user, session);
        expect(crumb).toMatch(/^[0-9a-f]{64}$/);
        expect(verifyCrumb(key, user, session, crumb)).toBe(true);
        expect(verifyCrumb(key, user.toUpperCase(), session, crumb)).toBe(true);
        expect(verifyCrumb(key, user, session, presented)).toBe(presented === crumb);
      }),
      { numRuns: RUNS },
    );
  });

  it("never verify for another session, another user or another server secret", () => {
    fc.assert(
      fc.property(
        secret,
        userId,
        userId,
        sessionId,
        sessionId,
        (key, user, otherUser, session, otherSession) => {
          const crumb = computeCrumb(key, user, session);
          if (otherSession !== session) expect(verifyCrumb(key, user, otherSession, crumb)).toBe(false);
          if (otherUser.toLowerCase() !== user.toLowerCase())
            expect(verifyCrumb(key, otherUser, session, crumb)).toBe(false);
          expect(verifyCrumb(`${key}x`, user, session, crumb)).toBe(false);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe("parseCidrList and compileAllowList", () => {
  const entry = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 40 })).map(([ip, p]) => `${ip}/${p}`),
    fc.tuple(fc.ipV6(), fc.integer({ min: -1, max: 140 })).map(([ip, p]) => `${ip}/${p}`),
    fc.ipV4Extended(),
    anyString,
    fc.constantFrom(
      "fe80::1%eth0",
      "::ffff:10.0.0.0/104",
      "1.2.3.4/",
      "/8",
      " 10.0.0.1 ",
      "1.2.3.4/08",
      "::/0",
    ),
  );

  it("never throw, whatever the list holds, and normalising twice changes nothing", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.array(entry, { maxLength: 8 }), fc.array(fc.anything(), { maxLength: 4 })),
        (input) => {
          const result = parseCidrList(input as string[]);
          if (!result.ok) {
            expect(result.error.length).toBeGreaterThan(0);
            return;
          }
          expect(parseCidrList(result.cidrs)).toEqual(result);
          const allowed = compileAllowList(result.cidrs);
          for (const probe of ["10.0.0.1", "::1", "not an ip", "", "::ffff:10.0.0.1", "fe80::1%1"])
            expect(typeof allowed(probe)).toBe("boolean");
        },
      ),
      { numRuns: RUNS },
    );
    for (const notAList of [null, undefined, "10.0.0.0/8", 42, {}])
      expect(parseCidrList(notAList as unknown as string[]).ok).toBe(false);
  });

  it("allow the network's own addresses, IPv4 also in its IPv4-mapped IPv6 form", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, prefix) => {
        const result = parseCidrList([`${ip}/${prefix}`]);
        expect(result.ok).toBe(true);
        const allowed = compileAllowList(result.ok ? result.cidrs : []);
        expect(allowed(ip)).toBe(true);
        expect(allowed(`::ffff:${ip}`)).toBe(true);
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), (ip, prefix) => {
        const result = parseCidrList([`${ip}/${prefix}`]);
        expect(result.ok).toBe(true);
        expect(compileAllowList(result.ok ? result.cidrs : [])(ip)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("names", () => {
  const NOW = Date.UTC(2026, 10, 1, 12);

  it("normalizeTokenName returns a clean name or refuses with validation_failed, nothing else", () => {
    fc.assert(
      fc.property(fc.oneof(anyString, fc.constantFrom(null, undefined)), (raw) => {
        let name: string;
        try {
          name = normalizeTokenName(raw, NOW);
        } catch (error) {
          expect(error).toBeInstanceOf(StewardError);
          expect((error as StewardError).code).toBe("validation_failed");
          return;
        }
        expect(name).toBe(name.trim());
        expect([...name].length).toBeGreaterThanOrEqual(1);
        expect([...name].length).toBeLessThanOrEqual(MAX_TOKEN_NAME_LENGTH);
        expect(name.isWellFormed()).toBe(true);
        expect(/[\u0000-\u001f\u007f]/.test(name)).toBe(false);
        expect(normalizeTokenName(name, NOW)).toBe(name);
      }),
      { numRuns: RUNS },
    );
  });

  it("normalizeTokenName keeps any printable Unicode name of 1 to 100 characters as given", () => {
    const printable = fc
      .string({ unit: "binary", minLength: 1, maxLength: MAX_TOKEN_NAME_LENGTH })
      .filter((s) => s === s.trim() && s !== "" && !/[\u0000-\u001f\u007f]/.test(s));
    fc.assert(
      fc.property(printable, (name) => {
        expect(normalizeTokenName(`  ${name}\t`, NOW)).toBe(name);
      }),
      { numRuns: RUNS },
    );
  });

  it("isValidUserId never throws and agrees with assertUserId and SPEC §1", () => {
    fc.assert(
      fc.property(fc.oneof(anyString, fc.stringMatching(/^[A-Za-z0-9._@-]{0,70}$/)), (id) => {
        const valid = isValidUserId(id);
        expect(valid).toBe(/^[A-Za-z0-9._@-]{1,64}$/.test(id));
        if (valid) expect(assertUserId(id)).toBe(id);
        else expect(() => assertUserId(id)).toThrow(StewardError);
      }),
      { numRuns: RUNS },
    );
  });
});

describe("safeRedirect (the login form's `from`)", () => {
  it("never throws and only ever answers a same-site path that a Location header can carry", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyString,
          anyString.map((s) => `/${s}`),
          fc.anything(),
        ),
        (from) => {
          const target = safeRedirect(from);
          expect(target).toMatch(/^\/(?![/\\])[\x21-\x7e]*$/);
          if (typeof from === "string" && target !== "/") expect(target).toBe(from);
        },
      ),
      { numRuns: RUNS },
    );
    for (const open of [
      "//evil.example",
      "/\\evil.example",
      "/\t/evil.example",
      "/\n/evil.example",
      "https://evil.example",
    ])
      expect(safeRedirect(open)).toBe("/");
  });
});

describe("the crumb xpath forms over HTTP", () => {
  const FORMS: Record<string, (crumb: string) => string> = {
    "/*/crumbRequestField/text()": () => "Jenkins-Crumb",
    "/*/crumb/text()": (crumb) => crumb,
    'concat(//crumbRequestField,":",//crumb)': (crumb) => `Jenkins-Crumb:${crumb}`,
    "concat(//crumbRequestField,'=',//crumb)": (crumb) => `Jenkins-Crumb=${crumb}`,
  };
  let t: TestApp;
  let cookie: string;
  let crumb: string;

  beforeAll(async () => {
    t = await createTestApp();
    await t.addUser("alice", "alice-password");
    cookie = await signIn(t.app, "alice", "alice-password");
    const response = await t.app.inject({ method: "GET", url: "/crumbIssuer/api/json", headers: { cookie } });
    crumb = response.json<{ crumb: string }>().crumb;
  });
  afterAll(async () => t.close());

  it("answer exactly the four forms (as text/plain) and refuse anything else with 403, never a 5xx", async () => {
    const near = Object.keys(FORMS).flatMap((form) => [
      ` ${form}`,
      `${form} `,
      form.toUpperCase(),
      form.replace("//", "/"),
      form.slice(0, -1),
      form.replace(/"/g, "'"),
    ]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 1, arbitrary: fc.constantFrom(...Object.keys(FORMS)) },
          { weight: 1, arbitrary: fc.constantFrom(...near) },
          { weight: 3, arbitrary: anyString },
        ),
        async (xpath) => {
          let encoded: string;
          try {
            encoded = encodeURIComponent(xpath);
          } catch {
            encoded = "%ED%A0%80"; // a lone surrogate, as the bytes a client would send
          }
          const response = await t.app.inject({
            method: "GET",
            url: `/crumbIssuer/api/xml?xpath=${encoded}`,
            headers: { cookie },
          });
          const decoded = encoded === "%ED%A0%80" ? "\ufffd" : xpath;
          const form = Object.hasOwn(FORMS, decoded) ? FORMS[decoded] : undefined;
          if (form) {
            expect(response.statusCode).toBe(200);
            expect(response.headers["content-type"]).toMatch(/^text\/plain/);
            expect(response.body).toBe(form(crumb));
          } else {
            expect(response.statusCode).toBe(403);
          }
        },
      ),
      { numRuns: Math.min(RUNS, 300) },
    );
  });

  it("hand out a crumb that works as a header (the ':' form) and as a form field (the '=' form)", async () => {
    const colon = await t.app.inject({
      method: "GET",
      url: `/crumbIssuer/api/xml?xpath=${encodeURIComponent('concat(//crumbRequestField,":",//crumb)')}`,
      headers: { cookie },
    });
    const [field, value] = [
      colon.body.slice(0, colon.body.indexOf(":")),
      colon.body.slice(colon.body.indexOf(":") + 1),
    ];
    const asHeader = await t.app.inject({
      method: "POST",
      url: "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken?newTokenName=xpath-header",
      headers: { cookie, [field]: value },
    });
    expect(asHeader.statusCode).toBe(200);
    expect(asHeader.json()).toMatchObject({ status: "ok" });

    const equals = await t.app.inject({
      method: "GET",
      url: `/crumbIssuer/api/xml?xpath=${encodeURIComponent("concat(//crumbRequestField,'=',//crumb)")}`,
      headers: { cookie },
    });
    const asField = await t.app.inject({
      method: "POST",
      url: "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      payload: `${equals.body}&newTokenName=xpath-field`,
    });
    expect(asField.statusCode).toBe(200);
    expect(asField.json()).toMatchObject({ status: "ok" });
    // A crumb from another session does not work with this one.
    const other = await t.app.inject({ method: "GET", url: "/crumbIssuer/api/xml?xpath=/*/crumb/text()" });
    const refused = await t.app.inject({
      method: "POST",
      url: "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken",
      headers: { cookie, "jenkins-crumb": other.body },
    });
    expect(sessionCookieOf(other)).not.toBe(cookie);
    expect(refused.statusCode).toBe(403);
  });
});
