import { existsSync } from "node:fs";
import { type Config, loadConfig, sqliteFile } from "../config.js";
import { systemClock } from "../core/clock.js";
import { StewardError } from "../core/errors.js";
import type { Principal } from "../core/permissions.js";
import { systemRandom } from "../core/random.js";
import type { Actor } from "../service/context.js";
import { buildServices, type Services } from "../service/services.js";
import { openMemoryStore, openStore } from "../store/open.js";

/** The operator at the command line: full rights, recorded in the audit log as "cli". */
export const CLI_PRINCIPAL: Principal = Object.freeze<Principal>({
  userId: "cli",
  fullName: "Command line",
  email: null,
  roles: ["admin", "user"],
  kind: "user",
  authenticatedBy: "cli",
  scopes: null,
});

export const CLI_ACTOR: Actor = {
  principal: CLI_PRINCIPAL,
  ip: null,
  userAgent: "steward-cli",
  requestId: null,
};

export interface GlobalOptions {
  dataDir?: string;
  databaseUrl?: string;
  json?: boolean;
}

/** Opens the configured store and services for one command, and closes them afterwards. */
/**
 * What to do when the data folder has no SQLite database yet: `create` it (commands that set one up),
 * work on a throw-away `memory` database (a dry run), or `refuse` (exit 3), so that a command run from
 * the wrong folder says so instead of creating an empty database there.
 */
export type WhenNoDatabase = "create" | "memory" | "refuse";

export async function withServices<T>(
  options: GlobalOptions,
  work: (services: Services, config: Config) => Promise<T>,
  whenNoDatabase: WhenNoDatabase = "refuse",
): Promise<T> {
  const config = loadConfig(process.env, { dataDir: options.dataDir, databaseUrl: options.databaseUrl });
  const missing = config.databaseUrl === null && !existsSync(sqliteFile(config));
  if (missing && whenNoDatabase === "refuse") {
    fail(
      `There is no Steward database at ${sqliteFile(config)}: give the server's data folder with --data-dir (or STEWARD_DATA_DIR), or --database-url.`,
      3,
    );
  }
  const store = missing && whenNoDatabase === "memory" ? await openMemoryStore() : await openStore(config);
  try {
    const services = await buildServices({ store, config, clock: systemClock, random: systemRandom });
    const result = await work(services, config);
    await services.usage.stop();
    return result;
  } finally {
    await store.close();
  }
}

/** Prints a result as JSON (for scripts) or as text lines (for people). */
export function output(options: GlobalOptions, value: unknown, text: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

export function fail(message: string, code = 1): never {
  throw new CliError(message, code);
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export function describeError(error: unknown): { message: string; exitCode: number } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof StewardError)
    return { message: error.message, exitCode: error.status === 404 ? 3 : 2 };
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return { message: `${error.message}${cause}`, exitCode: 1 };
  }
  return { message: String(error), exitCode: 1 };
}

/** Reads a secret from stdin (first line), for `--password-stdin`. */
export async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/, 1)[0] ?? "";
}
