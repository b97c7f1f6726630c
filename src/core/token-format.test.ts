import { createHash } from "node:crypto";
import { crc32 as zlibCrc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crc32 } from "./crc32.js";
import { systemRandom } from "./random.js";
import { sha256Hex } from "./secrets.js";
import {
  generateJenkinsToken,
  generateStewardToken,
  hasValidStewardChecksum,
  parseJenkinsToken,
  parseToken,
  STEWARD_TOKEN_LENGTH,
} from "./token-format.js";

const nodeSha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

describe("crc32", () => {
  it("matches zlib's CRC-32 (the reference)", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 64 }),
        (text) => crc32(text) === zlibCrc32(Buffer.from(text, "latin1")),
      ),
      {
        numRuns: 500,
        examples: [[""], ["123456789"]],
      },
    );
    expect(crc32("123456789")).toBe(0xcbf43926);
  });
});

describe("steward token format", () => {
  it("is stw_ + 30 base62 + 6 base62 checksum and parses back to its SHA-256", () => {
    const value = generateStewardToken(systemRandom);
    expect(value).toMatch(/^stw_[0-9A-Za-z]{36}$/);
    expect(value.length).toBe(STEWARD_TOKEN_LENGTH);
    expect(parseToken(value)).toEqual({ format: "steward", hash: nodeSha256(value) });
  });

  it("rejects any one-character change (checksum), without touching a database", () => {
    const value = generateStewardToken(systemRandom);
    const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (let i = 4; i < value.length; i++) {
      for (const c of alphabet) {
        if (c === value[i]) continue;
        const changed = value.slice(0, i) + c + value.slice(i + 1);
        expect(hasValidStewardChecksum(changed), changed).toBe(false);
      }
    }
  });

  it("gives distinct values with about 178 bits of randomness", () => {
    const values = new Set(Array.from({ length: 2000 }, () => generateStewardToken(systemRandom)));
    expect(values.size).toBe(2000);
    const counts = new Map<string, number>();
    for (const v of values) for (const c of v.slice(4, 34)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
  });

  it("never throws and never accepts arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        const parsed = parseToken(text);
        return parsed === null || parsed.format !== "steward" || hasValidStewardChecksum(text);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("jenkins token format", () => {
  it("is 11 + 32 lowercase hex, stored as SHA-256 of the 32 hex without the prefix (JENKINS.md §3)", () => {
    const value = generateJenkinsToken(systemRandom);
    expect(value).toMatch(/^11[0-9a-f]{32}$/);
    expect(parseToken("1147c3b70068c7b5573342ebb6ddc7f6ae")).toEqual({
      format: "jenkins",
      hash: nodeSha256("47c3b70068c7b5573342ebb6ddc7f6ae"),
    });
  });

  it("accepts Jenkins' fixed test token and rejects its malformed variants", () => {
    expect(parseJenkinsToken("110123456789abcdef0123456789abcdef")).not.toBeNull();
    for (const bad of [
      "110123456789abcdef0123456789abcde", // 33 chars
      "110123456789abcdef0123456789abcdef0", // 35 chars
      "110123456789abcdef0123456789abcdeg", // non-hex
      "120123456789abcdef0123456789abcdef", // version 12
      "990123456789abcdef0123456789abcdef", // Jenkins accepts any prefix; we do not
      "110123456789ABCDEF0123456789ABCDEF", // uppercase
    ]) {
      expect(parseJenkinsToken(bad), bad).toBeNull();
    }
  });

  it("treats a bare 32-hex value as a legacy token, hashed whole", () => {
    expect(parseToken("0123456789abcdef0123456789abcdef")).toEqual({
      format: "legacy",
      hash: nodeSha256("0123456789abcdef0123456789abcdef"),
    });
  });
});

describe("sha256Hex", () => {
  it("equals Node's own SHA-256", () => {
    fc.assert(
      fc.property(fc.string(), (text) => sha256Hex(text) === nodeSha256(text)),
      { numRuns: 300 },
    );
  });
});
