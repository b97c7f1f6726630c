import { createCipheriv, hash, randomBytes } from "node:crypto";
import BetterSqlite3 from "better-sqlite3";
import type { Command } from "commander";
import { loadConfig, sqliteFile } from "../config.js";
import type { Random } from "../core/random.js";
import { generateStewardToken } from "../core/token-format.js";
import { openStore } from "../store/open.js";
import { fail, type GlobalOptions, output } from "./context.js";

/**
 * `steward dev seed`: fills a SQLite store with many users and tokens, fast, for benchmarks and
 * development. Token values follow from `seed` (anyone who knows the seed knows every token), so this is
 * never for a database that guards anything real.
 */

export interface SeedOptions {
  users: number;
  tokens: number;
  /** Every token value is derived from this text and the token's index. */
  seed: string;
  /** Tokens generated and sorted at once (memory: ~100 MB per million). */
  batchSize?: number;
  now?: number;
  onProgress?: (tokensDone: number) => void;
}

export interface SeedResult {
  users: number;
  tokens: number;
  seconds: number;
}

const USER_WIDTH = 7;

/** The id of the `index`-th seeded user (0-based). */
export function seedUserId(index: number): string {
  return `seed-user-${String(index).padStart(USER_WIDTH, "0")}`;
}

/** The owner of the `index`-th seeded token: tokens are dealt to users in turn. */
export function seedTokenOwner(index: number, users: number): string {
  return seedUserId(index % users);
}

/** Bytes a token's random part is drawn from: the base62 encoding keeps ~58 of 60 (it needs 30). */
const BYTES_PER_TOKEN = 64;

/** The AES-256-CTR keystream of `seed` for tokens [from, to): token i owns bytes [64·i, 64·i + 64). */
function keystream(seed: string, from: number, to: number): Buffer {
  const key = hash("sha256", `seed:${seed}`, "buffer");
  const iv = Buffer.alloc(16);
  // The counter of the first 16-byte block; 4 blocks per token. Exact up to 2^53 blocks.
  const block = from * (BYTES_PER_TOKEN / 16);
  iv.writeUInt32BE(Math.floor(block / 2 ** 32), 8);
  iv.writeUInt32BE(block % 2 ** 32, 12);
  const cipher = createCipheriv("aes-256-ctr", key, iv);
  return cipher.update(Buffer.alloc((to - from) * BYTES_PER_TOKEN));
}

/** A Random that hands out token `index`'s slice of the keystream (and, should more be asked, more hashes). */
function seededRandom(seed: string, index: number, slice: Buffer): Random {
  let first = true;
  let counter = 0;
  return {
    bytes(length: number): Buffer {
      if (first && length <= slice.length) {
        first = false;
        return slice.subarray(0, length);
      }
      const out = Buffer.allocUnsafe(length);
      for (let filled = 0; filled < length; ) {
        filled += hash("sha256", `${seed}:${index}:${counter++}`, "buffer").copy(out, filled);
      }
      return out;
    },
    uuid(): string {
      throw new Error("not used");
    },
  };
}

/** The values of seeded tokens [from, to): well-formed `stw_` tokens (valid checksum). */
export function seedTokenValues(seed: string, from: number, to: number): string[] {
  const stream = keystream(seed, from, to);
  const values: string[] = new Array(to - from);
  for (let i = from; i < to; i++) {
    const offset = (i - from) * BYTES_PER_TOKEN;
    const slice = stream.subarray(offset, offset + BYTES_PER_TOKEN);
    values[i - from] = generateStewardToken(seededRandom(seed, i, slice));
  }
  return values;
}

/** The value of the `index`-th seeded token. */
export function seedTokenValue(seed: string, index: number): string {
  return seedTokenValues(seed, index, index + 1)[0]!;
}

/** Token ids in insertion order (cheap B-tree appends), unique per seed; UUID-shaped like real ids. */
function seedTokenId(prefix: string, counter: number): string {
  return `${prefix}-0000-4000-8000-${counter.toString(16).padStart(12, "0")}`;
}

/** Tokens generated, hashed and sorted at once: ~100 MB of hashes per million. */
const SORT_CHUNK = 1_000_000;

/**
 * Inserts `users` users (no password: they cannot sign in) and `tokens` tokens into an already migrated
 * SQLite file, in one transaction (all or nothing). Existing seeded users are reused. Fast because rows
 * go in sorted by hash (the unique hash index and the ids grow by appends, not by a random B-tree insert
 * per row) and the other indexes of the table are rebuilt once at the end, inside the same transaction.
 */
export function seedSqlite(file: string, options: SeedOptions): SeedResult {
  const { users, tokens, seed } = options;
  if (users < 1 && tokens > 0) throw new Error("Tokens need at least one user.");
  const chunkSize = options.batchSize ?? SORT_CHUNK;
  const now = options.now ?? Date.now();
  const started = process.hrtime.bigint();
  const idPrefix = hash("sha256", `id:${seed}`, "hex").slice(0, 8);
  const db = new BetterSqlite3(file);
  try {
    // Durable like the server (WAL, full fsync): there is a single commit. A large page cache for this
    // connection only keeps the transaction's pages in memory until then.
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    db.pragma("cache_size = -524288");
    const insertUser = db.prepare(
      `INSERT OR IGNORE INTO users (id, id_key, full_name, email, password_hash, roles, kind, owner_id,
         disabled, must_change_password, created_at, updated_at)
       VALUES (?, ?, ?, NULL, NULL, 'user', 'user', NULL, 0, 0, ?, ?)`,
    );
    const insertToken = db.prepare(
      `INSERT INTO tokens (id, user_id, name, hash, format, created_at, expires_at, revoked_at,
         last_used_at, use_count, scopes, allowed_cidrs, grace_until, replaced_by)
       VALUES (?, ?, ?, ?, 'steward', ?, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL)`,
    );
    const insertAudit = db.prepare(
      `INSERT INTO audit_events (at, action, actor_user_id, actor_token_id, target_user_id, target_token_id,
         ip, user_agent, outcome, request_id, details)
       VALUES (?, 'dev.seeded', 'cli', NULL, NULL, NULL, NULL, 'steward-cli', 'success', NULL, ?)`,
    );
    // Secondary indexes on tokens (the owner, the expiry; not the unique ones SQLite made itself).
    const indexes = db
      .prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tokens' AND sql IS NOT NULL",
      )
      .all() as { name: string; sql: string }[];
    const baseCount = Number(
      (db.prepare("SELECT count(*) AS n FROM tokens").get() as { n: number | bigint }).n,
    );

    db.transaction(() => {
      for (let i = 0; i < users; i++) {
        const id = seedUserId(i);
        insertUser.run(id, id, `Seed user ${i}`, now, now);
      }
      for (const index of indexes) db.exec(`DROP INDEX "${index.name.replaceAll('"', '""')}"`);
      let counter = baseCount;
      for (let from = 0; from < tokens; from += chunkSize) {
        const to = Math.min(tokens, from + chunkSize);
        // "<64 hex of the hash><index>": the default string sort orders them by hash, cheaply.
        const keys = seedTokenValues(seed, from, to).map(
          (value, i) => hash("sha256", value, "hex") + (from + i),
        );
        keys.sort();
        for (const key of keys) {
          const index = Number(key.slice(64));
          insertToken.run(
            seedTokenId(idPrefix, counter++),
            seedTokenOwner(index, users),
            `seed token ${index}`,
            key.slice(0, 64),
            now,
          );
        }
        options.onProgress?.(to);
      }
      // Rebuilt from their own definitions, exactly as the migrations created them.
      for (const index of indexes) db.exec(index.sql);
      // The seed is not recorded: it is as good as every token value.
      insertAudit.run(now, JSON.stringify({ users, tokens }));
    })();
  } finally {
    db.close();
  }
  return { users, tokens, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

function count(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 100_000_000) fail(`${name} must be a whole number.`, 2);
  return n;
}

/** Registers `steward dev seed`. */
export function registerDevCommands(program: Command): void {
  const dev = program.command("dev").description("development and benchmarking tools (never in production)");
  dev
    .command("seed")
    .description(
      "fill a SQLite store with many users and tokens, fast; token values follow from --seed (insecure by design)",
    )
    .option("--users <n>", "users to create", "1000")
    .option("--tokens <n>", "tokens to create, dealt to the users in turn", "10000")
    .option("--seed <text>", "derive token values from this text (default: random, printed)")
    .action(async (options: { users: string; tokens: string; seed?: string }, command: Command) => {
      const global = command.optsWithGlobals() as GlobalOptions;
      const users = count(options.users, "--users");
      const tokens = count(options.tokens, "--tokens");
      if (tokens > 0 && users === 0) fail("--tokens needs at least one user (--users).", 2);
      const config = loadConfig(process.env, { dataDir: global.dataDir, databaseUrl: global.databaseUrl });
      // Opening the store creates and migrates the database; the bulk insert then uses SQLite directly.
      const store = await openStore(config);
      const dialect = store.dialect;
      await store.close();
      if (dialect !== "sqlite") fail("dev seed supports the SQLite store only.", 2);
      const seed = options.seed ?? randomBytes(16).toString("hex");
      const progress = global.json
        ? undefined
        : (done: number) => process.stderr.write(`\rseeded ${done}/${tokens} tokens`);
      const result = seedSqlite(sqliteFile(config), { users, tokens, seed, onProgress: progress });
      if (progress) process.stderr.write("\n");
      const example =
        tokens > 0 ? { user: seedTokenOwner(0, users), token: seedTokenValue(seed, 0) } : undefined;
      output(global, { ...result, seed, example }, () =>
        [
          `Seeded ${users} users and ${tokens} tokens in ${result.seconds.toFixed(1)} s (seed ${seed}).`,
          ...(example ? [`Example: curl -u ${example.user}:${example.token} …/whoAmI/api/json`] : []),
        ].join("\n"),
      );
    });
}
