import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (where `bin/steward.js` lives). */
export const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const STEWARD_BIN = join(REPO_ROOT, "bin", "steward.js");

/** The first admin's password in servers started by these helpers (unless `env` overrides it). */
export const ADMIN_PASSWORD = "admin-password-for-tests";

const LISTENING = /Steward listening on (http:\/\/\S+)/;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

/** A fresh empty folder under the system temp dir. */
export function makeTempDir(prefix = "steward-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The parent's environment minus every STEWARD_* variable (a CI job's STEWARD_DATABASE_URL must not leak
 * into a SQLite test) and minus HTTP proxies (requests go to 127.0.0.1), plus `extra` (undefined deletes).
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith("STEWARD_") || /^(https?|all|no)_proxy$/i.test(name)) continue;
    env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** The environment of a child Steward process (server or CLI): clean, fast scrypt, quiet logs, `extra`. */
export function childEnv(dataDir: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return cleanEnv({
    STEWARD_DATA_DIR: dataDir,
    STEWARD_LOG_LEVEL: "warn",
    STEWARD_PASSWORD_HASH_COST: "10",
    ...extra,
  });
}

export interface ServerProcess {
  /** `http://127.0.0.1:<port>`, as printed by the server. */
  url: string;
  port: number;
  dataDir: string;
  adminPassword: string;
  pid: number;
  /** Sends `signal` and waits for the process to exit (SIGKILL after 15 s, then throws). */
  stop(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** SIGKILL (a crash) and waits for the process to exit. */
  kill(): Promise<ExitInfo>;
  /** Everything the process wrote so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves when the process exits, however it exits. */
  exited: Promise<ExitInfo>;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A test process that dies must not leave servers behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

/**
 * Starts `node bin/steward.js serve` on a free port (STEWARD_PORT=0) with its data in `dataDir` (a new
 * temp dir by default) and waits for its "Steward listening on …" line. Needs a built `dist/`.
 */
export async function startServerProcess(
  options: { dataDir?: string; env?: Record<string, string | undefined> } = {},
): Promise<ServerProcess> {
  installExitHook();
  const dataDir = options.dataDir ?? makeTempDir("steward-server-");
  const env = childEnv(dataDir, {
    STEWARD_PORT: "0",
    STEWARD_HOST: "127.0.0.1",
    STEWARD_ADMIN_PASSWORD: ADMIN_PASSWORD,
    ...options.env,
  });
  const child = spawn(process.execPath, [STEWARD_BIN, "serve"], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let all = "";
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  const exited = new Promise<ExitInfo>((resolveExit) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolveExit({ code, signal });
    });
  });

  const listening = new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `Steward did not print its listening line within ${START_TIMEOUT_MS} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    }, START_TIMEOUT_MS);
    child.stdout!.on("data", (chunk: string) => {
      stdout += chunk;
      all += chunk;
      const match = LISTENING.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    child.stderr!.on("data", (chunk: string) => {
      stderr += chunk;
      all += chunk;
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`Could not start Steward: ${error.message}\nstderr:\n${stderr}`));
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(
          `Steward exited before listening (code ${code}, signal ${signal}).\nstdout:\n${stdout}\nstderr:\n${stderr}`,
        ),
      );
    });
  });

  let url: string;
  try {
    url = await listening;
  } catch (error) {
    child.kill("SIGKILL");
    await Promise.race([exited, new Promise((resolveWait) => setTimeout(resolveWait, 5000))]);
    if (!options.dataDir) removeDir(dataDir);
    throw error;
  }

  async function stop(signal: NodeJS.Signals = "SIGTERM"): Promise<ExitInfo> {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolveTimeout) => {
      timer = setTimeout(() => resolveTimeout("timeout"), STOP_TIMEOUT_MS);
    });
    const result = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (result === "timeout") {
      child.kill("SIGKILL");
      await exited;
      throw new Error(`Steward did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}.\n${all}`);
    }
    return result;
  }

  return {
    url,
    port: Number(new URL(url).port),
    dataDir,
    adminPassword: env.STEWARD_ADMIN_PASSWORD ?? ADMIN_PASSWORD,
    pid: child.pid!,
    stop,
    kill: () => stop("SIGKILL"),
    output: () => all,
    exited,
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node bin/steward.js <args>` against a data dir; `input` is written to its stdin. Killed after
 * `timeoutMs` (default 20 s), which shows as code null and a note at the end of stderr.
 */
export function runCli(
  args: readonly string[],
  options: {
    dataDir: string;
    input?: string;
    env?: Record<string, string | undefined>;
    timeoutMs?: number;
  },
): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [STEWARD_BIN, ...args], {
      cwd: REPO_ROOT,
      env: childEnv(options.dataDir, options.env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timeoutMs = options.timeoutMs ?? 20_000;
    const timer = setTimeout(() => {
      stderr += `\n[runCli: killed after ${timeoutMs} ms]\n`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** `Authorization: Basic …` for fetch. */
export function basicAuth(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;
}
