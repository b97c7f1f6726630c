import { isAbsolute, join, resolve } from "node:path";
import { parseCidrList } from "./core/cidr.js";

/** Every setting of `steward serve` (SPEC §11). Read and validated once, at start. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `postgres://…` selects PostgreSQL; null = SQLite in the data dir. */
  databaseUrl: string | null;
  /** PostgreSQL: most pooled connections per instance (the change listener uses one more). */
  databasePoolSize: number;
  /** PostgreSQL: give up connecting, or waiting for a free pooled connection, after this long (ms). */
  databaseConnectTimeoutMs: number;
  /** PostgreSQL: the server cancels any statement running longer than this (ms). */
  databaseStatementTimeoutMs: number;
  /** Password of the first admin, used only when no user exists. */
  adminPassword: string | null;
  baseUrl: string | null;
  /** Addresses (or CIDRs) of proxies whose X-Forwarded-* headers are honoured; empty = none. */
  trustProxy: string[];
  logLevel: string;
  /** How often usage counts are written (ms). */
  usageFlushMs: number;
  /** How long a browser session lives (ms). */
  sessionTtlMs: number;
  tokenCacheSize: number;
  tokenCacheTtlMs: number;
  /** scrypt cost (log2 N) for new password hashes. */
  passwordHashCost: number;
  /** Failed password or token checks allowed per client address per window. */
  authFailuresPerIp: number;
  /** Failed password checks allowed per user per window. */
  authFailuresPerUser: number;
  authFailureWindowMs: number;
  /** Largest request body accepted (bytes). */
  bodyLimit: number;
}

export const CONFIG_DEFAULTS: Readonly<Config> = Object.freeze({
  host: "127.0.0.1",
  port: 8080,
  dataDir: "./data",
  databaseUrl: null,
  databasePoolSize: 10,
  databaseConnectTimeoutMs: 5_000,
  databaseStatementTimeoutMs: 10_000,
  adminPassword: null,
  baseUrl: null,
  trustProxy: [],
  logLevel: "info",
  usageFlushMs: 5000,
  sessionTtlMs: 12 * 3600 * 1000,
  tokenCacheSize: 10_000,
  tokenCacheTtlMs: 60_000,
  passwordHashCost: 15,
  authFailuresPerIp: 30,
  authFailuresPerUser: 10,
  authFailureWindowMs: 5 * 60 * 1000,
  bodyLimit: 1024 * 1024,
});

/** Environment variable → config key, for the settings that have one. */
export const ENV_NAMES: Record<string, keyof Config> = {
  STEWARD_HOST: "host",
  STEWARD_PORT: "port",
  STEWARD_DATA_DIR: "dataDir",
  STEWARD_DATABASE_URL: "databaseUrl",
  STEWARD_DATABASE_POOL_SIZE: "databasePoolSize",
  STEWARD_DATABASE_CONNECT_TIMEOUT_MS: "databaseConnectTimeoutMs",
  STEWARD_DATABASE_STATEMENT_TIMEOUT_MS: "databaseStatementTimeoutMs",
  STEWARD_ADMIN_PASSWORD: "adminPassword",
  STEWARD_BASE_URL: "baseUrl",
  STEWARD_TRUST_PROXY: "trustProxy",
  STEWARD_LOG_LEVEL: "logLevel",
  STEWARD_USAGE_FLUSH_MS: "usageFlushMs",
  STEWARD_SESSION_TTL_MS: "sessionTtlMs",
  STEWARD_TOKEN_CACHE_SIZE: "tokenCacheSize",
  STEWARD_PASSWORD_HASH_COST: "passwordHashCost",
  STEWARD_AUTH_FAILURES_PER_IP: "authFailuresPerIp",
  STEWARD_AUTH_FAILURES_PER_USER: "authFailuresPerUser",
  STEWARD_AUTH_FAILURE_WINDOW_MS: "authFailureWindowMs",
  STEWARD_BODY_LIMIT: "bodyLimit",
};

/** Help text of each setting, shown by `steward serve --help` (each is a flag and an environment variable). */
export const SETTING_HELP: Partial<Record<keyof Config, string>> = {
  host: "address to listen on (0.0.0.0 to expose)",
  port: "port (0 = any free port; the chosen port is printed)",
  baseUrl: "public URL, for links and Secure cookies",
  trustProxy: "honour X-Forwarded-* from these addresses/CIDRs, comma-separated",
  logLevel: "pino level: fatal, error, warn, info, debug, trace or silent",
  databasePoolSize: "PostgreSQL connections per instance",
  databaseConnectTimeoutMs: "PostgreSQL connect timeout (ms)",
  databaseStatementTimeoutMs: "PostgreSQL statement timeout (ms)",
  usageFlushMs: "how often usage counts are written (ms)",
  sessionTtlMs: "browser session lifetime (ms)",
  tokenCacheSize: "verified tokens kept in memory (LRU)",
  passwordHashCost: "scrypt cost for new password hashes (log2 N)",
  authFailuresPerIp: "failed credential checks per address per window before 429",
  authFailuresPerUser: "failed credential checks (password or token) per user per window before 429",
  authFailureWindowMs: "the failure-counting window (ms)",
  bodyLimit: "largest request body (bytes)",
};

/** `--kebab-case` flag of a setting. */
export function flagOf(key: keyof Config): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** A setting as people meet it: `STEWARD_PORT (--port)`. */
function settingName(env: string): string {
  const key = ENV_NAMES[env];
  return key ? `${env} (${flagOf(key)})` : env;
}

function integer(env: string, value: unknown, min: number, max: number): number {
  const n = typeof value === "number" ? value : Number(String(value).trim());
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(
      `${settingName(env)} must be a whole number from ${min} to ${max} (got "${String(value)}").`,
    );
  }
  return n;
}

function list(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return String(value)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Names proxy-addr knows besides addresses and CIDRs. */
const PROXY_NAMES = ["loopback", "linklocal", "uniquelocal"];

/** `off` (none), or addresses, CIDRs and proxy-addr's names; anything else is refused before start. */
function trustedProxies(entries: string[]): string[] {
  if (entries.length === 1 && entries[0] === "off") return [];
  const addresses = entries.filter((entry) => !PROXY_NAMES.includes(entry));
  const parsed = parseCidrList(addresses);
  if (!parsed.ok) {
    throw new ConfigError(
      `${settingName("STEWARD_TRUST_PROXY")} must be "off" or addresses/CIDRs (or loopback, linklocal, uniquelocal), comma-separated: ${parsed.error}`,
    );
  }
  return entries;
}

/**
 * Builds the config from defaults, then the environment, then flags (flags win). Unknown values are
 * refused with a message naming the setting. The result is frozen.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv,
  flags: Partial<Record<keyof Config, unknown>> = {},
): Config {
  const raw: Record<string, unknown> = { ...CONFIG_DEFAULTS };
  for (const [envName, key] of Object.entries(ENV_NAMES)) {
    const value = env[envName];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) raw[key] = value;

  const databaseUrl = raw.databaseUrl == null ? null : String(raw.databaseUrl);
  if (databaseUrl !== null && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      `${settingName("STEWARD_DATABASE_URL")} must start with postgres:// or postgresql://.`,
    );
  }
  if (databaseUrl !== null && !URL.canParse(databaseUrl)) {
    // The URL itself is never repeated: it may hold a password.
    throw new ConfigError(
      `${settingName("STEWARD_DATABASE_URL")} is not a valid URL (check the host, the port and %-escapes in the password).`,
    );
  }
  const baseUrl = raw.baseUrl == null ? null : String(raw.baseUrl).replace(/\/+$/, "");
  if (baseUrl !== null && !/^https?:\/\/[^\s]+$/.test(baseUrl)) {
    throw new ConfigError(`${settingName("STEWARD_BASE_URL")} must be an http:// or https:// URL.`);
  }
  const logLevel = String(raw.logLevel);
  if (!LOG_LEVELS.includes(logLevel))
    throw new ConfigError(`${settingName("STEWARD_LOG_LEVEL")} must be one of ${LOG_LEVELS.join(", ")}.`);
  const dataDir = String(raw.dataDir);
  const trustProxy = trustedProxies(list(raw.trustProxy));
  const config: Config = {
    host: String(raw.host),
    port: integer("STEWARD_PORT", raw.port, 0, 65535),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(dataDir),
    databaseUrl,
    databasePoolSize: integer("STEWARD_DATABASE_POOL_SIZE", raw.databasePoolSize, 1, 1000),
    databaseConnectTimeoutMs: integer(
      "STEWARD_DATABASE_CONNECT_TIMEOUT_MS",
      raw.databaseConnectTimeoutMs,
      100,
      600_000,
    ),
    databaseStatementTimeoutMs: integer(
      "STEWARD_DATABASE_STATEMENT_TIMEOUT_MS",
      raw.databaseStatementTimeoutMs,
      100,
      3_600_000,
    ),
    adminPassword: raw.adminPassword == null ? null : String(raw.adminPassword),
    baseUrl,
    trustProxy,
    logLevel,
    usageFlushMs: integer("STEWARD_USAGE_FLUSH_MS", raw.usageFlushMs, 10, 600_000),
    sessionTtlMs: integer("STEWARD_SESSION_TTL_MS", raw.sessionTtlMs, 60_000, 30 * 24 * 3600 * 1000),
    tokenCacheSize: integer("STEWARD_TOKEN_CACHE_SIZE", raw.tokenCacheSize, 1, 10_000_000),
    tokenCacheTtlMs: integer("tokenCacheTtlMs", raw.tokenCacheTtlMs, 1, 3600_000),
    passwordHashCost: integer("STEWARD_PASSWORD_HASH_COST", raw.passwordHashCost, 10, 20),
    authFailuresPerIp: integer("STEWARD_AUTH_FAILURES_PER_IP", raw.authFailuresPerIp, 1, 1_000_000),
    authFailuresPerUser: integer("STEWARD_AUTH_FAILURES_PER_USER", raw.authFailuresPerUser, 1, 1_000_000),
    authFailureWindowMs: integer(
      "STEWARD_AUTH_FAILURE_WINDOW_MS",
      raw.authFailureWindowMs,
      1000,
      24 * 3600 * 1000,
    ),
    bodyLimit: integer("STEWARD_BODY_LIMIT", raw.bodyLimit, 1024, 100 * 1024 * 1024),
  };
  return Object.freeze(config);
}

export function sqliteFile(config: Pick<Config, "dataDir">): string {
  return join(config.dataDir, "steward.db");
}
