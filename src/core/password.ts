import { pbkdf2, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/**
 * Password hashing. New hashes are scrypt (memory-hard, run on libuv's thread pool so the event loop
 * never blocks). Jenkins' `#jbcrypt:` (bcrypt $2a$) and FIPS `$PBKDF2$` hashes are verified so that
 * imported users keep their passwords; they are re-hashed to scrypt on the next successful login.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  /** True when `stored` is not a scrypt hash with this hasher's parameters. */
  needsRehash(stored: string): boolean;
  /** Spends the time of one verification and fails: used when the user is unknown, so timing tells nothing. */
  verifyNothing(password: string): Promise<false>;
}

const SCRYPT_PREFIX = "$scrypt$";
const KEY_LENGTH = 32;

function scryptAsync(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function pbkdf2Async(password: string, salt: Buffer, iterations: number, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, iterations, length, "sha512", (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

const JBCRYPT = /^#jbcrypt:(\$2a\$(\d\d)\$[./A-Za-z0-9]{53})$/;
const PBKDF2 = /^\$PBKDF2\$HMACSHA512:(\d{1,7}):([0-9a-f]{2,256})\$([0-9a-f]{2,256})$/;
const SCRYPT =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]{1,128})\$([A-Za-z0-9+/=]{1,128})$/;

/** Verifies Jenkins' `#jbcrypt:$2a$NN$…`; only `$2a$` with cost 1–18 is accepted, as in Jenkins. */
async function verifyJbcrypt(password: string, stored: string): Promise<boolean> {
  const match = JBCRYPT.exec(stored);
  if (!match) return false;
  const cost = Number(match[2]);
  if (cost < 1 || cost > 18) return false;
  // Loaded on first use: only imported Jenkins users ever need it.
  const { default: bcrypt } = await import("bcryptjs");
  return bcrypt.compare(password, match[1]!);
}

async function verifyPbkdf2(password: string, stored: string): Promise<boolean> {
  const match = PBKDF2.exec(stored);
  if (!match) return false;
  const expected = Buffer.from(match[3]!, "hex");
  const actual = await pbkdf2Async(
    password,
    Buffer.from(match[2]!, "hex"),
    Number(match[1]),
    expected.length,
  );
  return timingSafeEqual(actual, expected);
}

/** scrypt with 2^logN iterations (15 in production: ~32 MiB and ~100 ms per hash). */
export function createPasswordHasher(logN = 15): PasswordHasher {
  const r = 8;
  const p = 1;
  const dummyHash = `${SCRYPT_PREFIX}ln=${logN},r=${r},p=${p}$${"A".repeat(22)}==$${"A".repeat(43)}=`;
  return {
    async hash(password) {
      const salt = randomBytes(16);
      const key = await scryptAsync(password, salt, logN, r, p);
      return `${SCRYPT_PREFIX}ln=${logN},r=${r},p=${p}$${salt.toString("base64")}$${key.toString("base64")}`;
    },
    async verify(password, stored) {
      if (stored.startsWith("#jbcrypt:")) return verifyJbcrypt(password, stored);
      if (stored.startsWith("$PBKDF2$")) return verifyPbkdf2(password, stored);
      const match = SCRYPT.exec(stored);
      if (!match) return false;
      const expected = Buffer.from(match[5]!, "base64");
      if (expected.length !== KEY_LENGTH) return false;
      const key = await scryptAsync(
        password,
        Buffer.from(match[4]!, "base64"),
        Number(match[1]),
        Number(match[2]),
        Number(match[3]),
      );
      return timingSafeEqual(key, expected);
    },
    // Imported bcrypt/PBKDF2 hashes, and scrypt hashes weaker than the configured cost, are replaced at
    // the next sign-in; a stronger hash is kept (a server run at a lower cost never weakens it).
    needsRehash(stored) {
      const match = SCRYPT.exec(stored);
      if (!match) return true;
      return Number(match[1]) < logN || Number(match[2]) < r || Number(match[3]) < p;
    },
    async verifyNothing(password) {
      await this.verify(password, dummyHash);
      return false;
    },
  };
}
