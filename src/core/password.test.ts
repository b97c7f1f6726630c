import { pbkdf2Sync, randomBytes } from "node:crypto";
import bcrypt from "bcryptjs";
import { describe, expect, it } from "vitest";
import { createPasswordHasher } from "./password.js";

const hasher = createPasswordHasher(10);

describe("password hashing", () => {
  it("hashes with scrypt and verifies only the right password", async () => {
    const hash = await hasher.hash("correct horse");
    expect(hash).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$/);
    expect(hash).not.toContain("correct horse");
    expect(await hasher.verify("correct horse", hash)).toBe(true);
    expect(await hasher.verify("correct horsE", hash)).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(false);
    expect(createPasswordHasher(11).needsRehash(hash)).toBe(true);
    // A stronger hash is kept by a server configured with a lower cost: rehashing never weakens.
    expect(createPasswordHasher(9).needsRehash(hash)).toBe(false);
  });

  it("salts every hash", async () => {
    expect(await hasher.hash("same")).not.toBe(await hasher.hash("same"));
  });

  it("verifies Jenkins' #jbcrypt:$2a$ hashes and asks for a rehash", async () => {
    const hash = `#jbcrypt:${bcrypt.hashSync("jenkins-pass", 4).replace(/^\$2b\$/, "$2a$")}`;
    expect(await hasher.verify("jenkins-pass", hash)).toBe(true);
    expect(await hasher.verify("wrong", hash)).toBe(false);
    expect(hasher.needsRehash(hash)).toBe(true);
    expect(await hasher.verify("jenkins-pass", hash.replace("$2a$", "$2y$"))).toBe(false);
  });

  it("verifies Jenkins' FIPS $PBKDF2$HMACSHA512 hashes", async () => {
    const salt = randomBytes(16);
    const key = pbkdf2Sync("fips-pass", salt, 1000, 64, "sha512");
    const stored = `$PBKDF2$HMACSHA512:1000:${salt.toString("hex")}$${key.toString("hex")}`;
    expect(await hasher.verify("fips-pass", stored)).toBe(true);
    expect(await hasher.verify("nope", stored)).toBe(false);
  });

  it("fails on malformed stored hashes instead of throwing", async () => {
    for (const stored of ["", "plain", "$scrypt$ln=99,r=8,p=1$AA==$AA==", "#jbcrypt:garbage"]) {
      expect(await hasher.verify("x", stored)).toBe(false);
    }
    expect(await hasher.verifyNothing("x")).toBe(false);
  });
});
