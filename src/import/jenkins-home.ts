import { randomUUID } from "node:crypto";
import type { Stats } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { endOfDayUtc } from "../core/expiry.js";
import { defaultTokenName, isValidUserId, MAX_TOKEN_NAME_LENGTH, userKey } from "../core/names.js";
import {
  parseJenkinsDate,
  parseTokenStats,
  parseUserConfig,
  parseUserIdMap,
  passwordHashProblem,
  type RawToken,
  type TokenStats,
  type UserConfig,
} from "./jenkins-xml.js";

/**
 * Reads the users of a Jenkins home (JENKINS.md §9) into plain records: ids, names, e-mail addresses,
 * password hashes and hashed API tokens with their usage statistics. No database here; the caller
 * stores the records. Whatever cannot be imported is reported as a problem and the rest still reads.
 */

export interface ImportedToken {
  /** Lowercase UUID; a fresh one when Jenkins' was missing, malformed or already taken. */
  uuid: string;
  name: string;
  createdAt: number;
  /** End of the expiry day (UTC), as JENKINS.md §1; null when the token never expires. */
  expiresAt: number | null;
  /** 64 lowercase hex: SHA-256 of the 32-hex secret (Jenkins format version 11, JENKINS.md §3). */
  hash: string;
  useCount: number;
  lastUsedAt: number | null;
}

export interface ImportedUser {
  id: string;
  fullName: string;
  /** From `hudson.tasks.Mailer_-UserProperty/emailAddress`. */
  email: string | null;
  /** `#jbcrypt:$2a$…` or `$PBKDF2$…` verbatim; null when absent or unusable (then with a problem). */
  passwordHash: string | null;
  tokens: ImportedToken[];
  /** The user has a legacy token: an encrypted `<apiToken>` and/or a version-10 entry in the store. */
  hasLegacyToken: boolean;
  /**
   * The version-10 store entry Jenkins (2.129+) keeps for a legacy token, when there is one. Its hash is
   * SHA-256 of the whole 32-hex value the user types — core/token-format's `legacy` format — so it can
   * be imported as a legacy token even though the encrypted `<apiToken>` cannot be read.
   */
  legacyToken: ImportedToken | null;
  /** The user's folder under `users/`. */
  folder: string;
}

export interface ImportProblem {
  /** Path relative to the Jenkins home, with `/` separators (`users/alice_123/config.xml`). */
  file: string;
  message: string;
}

export interface JenkinsHomeReport {
  users: ImportedUser[];
  problems: ImportProblem[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Folders of Jenkins 2.525+: `<prefix>_<64 hex>`; the id is only in config.xml. */
const HASHED_FOLDER = /_[0-9a-f]{64}$/;
/** Jenkins user files are small; a huge one is not worth loading into memory. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;
/** Folders read at once: enough to overlap file I/O without flooding the thread pool. */
const CONCURRENCY = 8;

class Problems {
  readonly list: ImportProblem[] = [];
  add(file: string, message: string): void {
    this.list.push({ file, message });
  }
}

type ReadResult = { ok: true; text: string; stats: Stats } | { ok: false; missing: boolean; error: string };

async function readSmallFile(file: string): Promise<ReadResult> {
  try {
    const stats = await stat(file);
    if (!stats.isFile()) return { ok: false, missing: false, error: "not a regular file" };
    if (stats.size > MAX_FILE_BYTES) {
      return { ok: false, missing: false, error: `larger than ${MAX_FILE_BYTES} bytes; not read` };
    }
    return { ok: true, text: await readFile(file, "utf8"), stats };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, missing: code === "ENOENT", error: `cannot be read (${code ?? "error"})` };
  }
}

/** Old homes name folders after the id, escaping unsafe characters as `$xxxx` (Jenkins' IdStrategy). */
function idFromFolderName(folder: string): string {
  return folder.replace(/\$([0-9a-fA-F]{4})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** A folder name taken from users.xml must stay a single path segment under `users/`. */
function isSafeFolderName(folder: string): boolean {
  return folder !== "." && folder !== ".." && !/[/\\\0]/.test(folder);
}

function cleanName(raw: string, createdAt: number, onChange: (why: string) => void): string {
  let name = raw.trim();
  if (name === "") return defaultTokenName(createdAt);
  // Steward refuses control characters in names (core/names.ts); Jenkins allowed them.
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    name = name.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
    onChange("control characters in its name were replaced by spaces");
  }
  name = name.toWellFormed();
  const codePoints = [...name];
  if (codePoints.length > MAX_TOKEN_NAME_LENGTH) {
    name = codePoints.slice(0, MAX_TOKEN_NAME_LENGTH).join("").trim();
    onChange(`its name was shortened to ${MAX_TOKEN_NAME_LENGTH} characters`);
  }
  return name === "" ? defaultTokenName(createdAt) : name;
}

interface FolderUser {
  config: UserConfig;
  folder: string;
  configFile: string;
  configMtime: number;
  stats: Map<string, TokenStats>;
}

/** Reads one user folder; its problems go to `problems`, which belongs to this folder alone. */
async function readFolder(
  home: string,
  folder: string,
  problems: Problems,
  reportMissingConfig: boolean,
): Promise<FolderUser | null> {
  const configFile = `users/${folder}/config.xml`;
  const config = await readSmallFile(join(home, "users", folder, "config.xml"));
  if (!config.ok) {
    if (!config.missing || reportMissingConfig) {
      problems.add(configFile, config.missing ? "missing; user skipped" : `${config.error}; user skipped`);
    }
    return null;
  }
  const parsed = parseUserConfig(config.text);
  if (!parsed.ok) {
    problems.add(configFile, `${parsed.error}; user skipped`);
    return null;
  }
  const statsFile = `users/${folder}/apiTokenStats.xml`;
  let stats = new Map<string, TokenStats>();
  const statsText = await readSmallFile(join(home, "users", folder, "apiTokenStats.xml"));
  if (statsText.ok) {
    const parsedStats = parseTokenStats(statsText.text);
    if (parsedStats.ok) {
      stats = parsedStats.stats;
      for (const message of parsedStats.problems) problems.add(statsFile, message);
    } else {
      problems.add(statsFile, `${parsedStats.error}; usage statistics of this user not imported`);
    }
  } else if (!statsText.missing) {
    problems.add(statsFile, `${statsText.error}; usage statistics of this user not imported`);
  }
  return { config: parsed.user, folder, configFile, configMtime: config.stats.mtimeMs, stats };
}

/** Runs `work` over `items`, a few at a time, keeping results in input order. */
async function mapLimited<T, R>(
  items: readonly T[],
  work: (item: T) => Promise<R>,
  onDone: () => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
      onDone();
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return results;
}

/** State shared across users: ids, token uuids and hashes must be unique in Steward. */
interface Seen {
  userKeys: Set<string>;
  uuids: Set<string>;
  hashes: Set<string>;
}

function convertToken(
  raw: RawToken,
  source: FolderUser,
  seen: Seen,
  problems: Problems,
  legacy: boolean,
): ImportedToken | null {
  const file = source.configFile;
  const label = raw.name.trim()
    ? `token ${JSON.stringify(raw.name.trim())}`
    : `token ${raw.uuid ?? "(no uuid)"}`;
  const skip = (why: string) => {
    problems.add(file, `${label} skipped: ${why}`);
    return null;
  };
  const hash = raw.hash?.toLowerCase() ?? null;
  if (hash === null || !SHA256_HEX.test(hash)) return skip("its hash is not 64 hex characters");
  if (raw.scopes !== null) {
    // Jenkins permission scopes do not map onto Steward's; importing the token unscoped would widen it.
    return skip(
      `it is limited to Jenkins permissions (${raw.scopes.join(", ")}), which Steward cannot express`,
    );
  }
  if (seen.hashes.has(hash)) return skip("another imported token has the same value");

  let expiresAt: number | null = null;
  if (raw.expirationDate !== null) {
    expiresAt = endOfDayUtc(raw.expirationDate);
    // Never guess an expiry: a token whose expiry cannot be read is not imported as never-expiring.
    if (expiresAt === null) return skip("its expiration date is not a yyyy-MM-dd date");
  }

  let createdAt = raw.creationDate === null ? null : parseJenkinsDate(raw.creationDate);
  if (createdAt === null) {
    createdAt = Math.floor(source.configMtime);
    // Jenkins leaves the date empty on a legacy token it migrated; anything else is worth a note.
    if (!legacy || raw.creationDate !== null) {
      problems.add(file, `${label}: no readable creation date; the file's modification time is used`);
    }
  }

  const originalUuid = raw.uuid?.toLowerCase() ?? null;
  let uuid = originalUuid;
  if (uuid === null || !UUID.test(uuid) || seen.uuids.has(uuid)) {
    const why =
      uuid === null ? "has no uuid" : UUID.test(uuid) ? "has a uuid already taken" : "has a malformed uuid";
    uuid = randomUUID();
    problems.add(file, `${label} ${why}; it was given the new uuid ${uuid}`);
  }
  const stats = originalUuid === null ? undefined : source.stats.get(originalUuid);
  const name = cleanName(raw.name, createdAt, (why) => problems.add(file, `${label}: ${why}`));

  seen.hashes.add(hash);
  seen.uuids.add(uuid);
  return {
    uuid,
    name,
    createdAt,
    expiresAt,
    hash,
    useCount: stats?.useCount ?? 0,
    lastUsedAt: stats?.lastUsedAt ?? null,
  };
}

function convertUser(
  source: FolderUser,
  mappedId: string | null,
  seen: Seen,
  problems: Problems,
): ImportedUser | null {
  const { config, folder, configFile } = source;
  let id = mappedId ?? config.id;
  if (mappedId !== null && config.id !== null && userKey(config.id) !== userKey(mappedId)) {
    problems.add(
      configFile,
      `its <id> ${JSON.stringify(config.id)} differs from users.xml; the users.xml id is used`,
    );
  }
  if (id === null) {
    if (HASHED_FOLDER.test(folder)) {
      problems.add(configFile, "has no <id> and its folder name does not give one; user skipped");
      return null;
    }
    id = idFromFolderName(folder);
  }
  if (!isValidUserId(id)) {
    problems.add(
      configFile,
      `user id ${JSON.stringify(id)} is not allowed in Steward (1 to 64 letters, digits, '.', '_', '@' or '-'); user skipped`,
    );
    return null;
  }
  if (seen.userKeys.has(userKey(id))) {
    problems.add(
      configFile,
      `user id ${JSON.stringify(id)} was already read from another folder; user skipped`,
    );
    return null;
  }
  seen.userKeys.add(userKey(id));

  let passwordHash = config.passwordHash;
  if (passwordHash !== null) {
    const why = passwordHashProblem(passwordHash);
    if (why !== null) {
      problems.add(configFile, `password not imported (${why}); the user has no password in Steward`);
      passwordHash = null;
    }
  }

  const tokens: ImportedToken[] = [];
  let legacyToken: ImportedToken | null = null;
  let hasLegacyToken = config.hasEncryptedLegacyToken;
  for (const raw of config.tokens) {
    if (raw.version === "10") {
      hasLegacyToken = true;
      if (legacyToken === null) legacyToken = convertToken(raw, source, seen, problems, true);
      else problems.add(configFile, "a second legacy token entry was skipped");
    } else if (raw.version !== "11") {
      const label = raw.name.trim() ? JSON.stringify(raw.name.trim()) : (raw.uuid ?? "(no uuid)");
      problems.add(configFile, `token ${label} skipped: format version ${raw.version ?? "(none)"} is not 11`);
    } else {
      const token = convertToken(raw, source, seen, problems, false);
      if (token) tokens.push(token);
    }
  }

  return {
    id,
    fullName: config.fullName ?? id,
    email: config.email,
    passwordHash,
    tokens,
    hasLegacyToken,
    legacyToken,
    folder,
  };
}

async function listFolders(usersDir: string): Promise<string[]> {
  const entries = await readdir(usersDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/**
 * Reads `<home>/users`. Both layouts are understood: with `users/users.xml` mapping ids to folders
 * (Jenkins before 2.525) and without it, where each `users/*\/config.xml` carries its `<id>` (folders
 * named `<prefix>_<64 hex>`) or, in homes before 2.150, the folder is named after the id.
 * Throws only when there is no users folder to read.
 *
 * @example
 * const { users, problems } = await readJenkinsHome("/var/lib/jenkins", (done, total) => bar.update(done / total));
 */
export async function readJenkinsHome(
  home: string,
  onProgress?: (done: number, total: number) => void,
): Promise<JenkinsHomeReport> {
  const usersDir = join(home, "users");
  let folders: string[];
  try {
    folders = await listFolders(usersDir);
  } catch (error) {
    throw new Error(`${usersDir} cannot be read: is ${home} a Jenkins home?`, { cause: error });
  }
  const problems = new Problems();

  // With users.xml, it decides which folders are users and under which id, as Jenkins itself did.
  let plan: { folder: string; mappedId: string | null }[] = folders.map((folder) => ({
    folder,
    mappedId: null,
  }));
  const idMap = await readSmallFile(join(usersDir, "users.xml"));
  if (idMap.ok) {
    const parsed = parseUserIdMap(idMap.text);
    if (parsed.ok) {
      plan = [];
      for (const [id, folder] of parsed.entries) {
        if (isSafeFolderName(folder)) plan.push({ folder, mappedId: id });
        else
          problems.add(
            "users/users.xml",
            `folder ${JSON.stringify(folder)} of user ${JSON.stringify(id)} is not a plain folder name; user skipped`,
          );
      }
      const mapped = new Set(plan.map((entry) => entry.folder));
      for (const folder of folders) {
        if (!mapped.has(folder)) {
          problems.add(`users/${folder}`, "not listed in users/users.xml, so Jenkins ignores it; skipped");
        }
      }
    } else {
      problems.add("users/users.xml", `${parsed.error}; every users/*/config.xml is read instead`);
    }
  } else if (!idMap.missing) {
    problems.add("users/users.xml", `${idMap.error}; every users/*/config.xml is read instead`);
  }

  let done = 0;
  const total = plan.length;
  onProgress?.(0, total);
  const reads = await mapLimited(
    plan,
    async (entry) => {
      const folderProblems = new Problems();
      const source = await readFolder(home, entry.folder, folderProblems, entry.mappedId !== null);
      return { source, folderProblems };
    },
    () => onProgress?.(++done, total),
  );

  // Everything else happens in plan order, after all reads, so neither the users nor the problems depend
  // on I/O timing; uniqueness of ids, uuids and hashes is first come, first served.
  const seen: Seen = { userKeys: new Set(), uuids: new Set(), hashes: new Set() };
  const users: ImportedUser[] = [];
  reads.forEach(({ source, folderProblems }, index) => {
    problems.list.push(...folderProblems.list);
    if (source === null) return;
    const user = convertUser(source, plan[index]!.mappedId, seen, problems);
    if (user) users.push(user);
  });
  return { users, problems: problems.list };
}
