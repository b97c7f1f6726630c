import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, rmSync, watch, writeSync } from "node:fs";

/** What bench/probe.mjs reports from inside a server since its previous report. */
export interface ProbeReport {
  seconds: number;
  gc: {
    count: number;
    totalMs: number;
    maxMs: number;
    p99Ms: number;
    byKind: Record<string, { count: number; totalMs: number; maxMs: number }>;
  };
  eventLoopUtilization: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
}

export interface ServerProcess {
  name: string;
  pid: number;
  url: string;
  /** From spawn to the line announcing the URL. */
  startupMs: number;
  /** CPU time (all threads) the process had used when it announced its URL. */
  startupCpuMs: number;
  logFile: string;
  /** Asks the probe for its figures since the last call (and resets them). */
  probe(): Promise<ProbeReport>;
  /** CPU time used so far (user + system), from /proc. */
  cpuMs(): number;
  rssBytes(): number;
  peakRssBytes(): number;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** Arguments to `node` after the probe preload. */
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  timeoutMs?: number;
  /** Run the server on this CPU only (BENCH_PIN). */
  cpu?: number;
}

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
const PROBE = new URL("../probe.mjs", import.meta.url).href;
const LISTENING = /listening on (http:\/\/[^\s]+)/;

/** Children still running, killed (by pid) if the bench itself stops early. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** BENCH_PIN=1: servers on CPU 0, the load generator (this process, all its threads) on CPU 1. */
export const SERVER_CPU = 0;

export function pinLoadGenerator(): void {
  execFileSync("taskset", ["-a", "-p", "-c", "1", String(process.pid)], { stdio: "ignore" });
}

/** The parent's environment without any STEWARD_* setting, so only what the bench sets applies. */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("STEWARD_")) env[key] = value;
  }
  return { ...env, ...extra };
}

function procStatus(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * Starts a server as its own process (its own heap and GC), with bench/probe.mjs preloaded and its
 * stdout (the URL line and any request logs) going to a file, and waits for the URL.
 */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const out = openSync(options.logFile, "w");
  const started = performance.now();
  const command = [process.execPath, "--import", PROBE, ...options.args];
  // taskset execs the command, so the pid (and /proc figures) are the server's own.
  const pinned = options.cpu === undefined ? command : ["taskset", "-c", String(options.cpu), ...command];
  const child = spawn(pinned[0]!, pinned.slice(1), {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", out, "pipe"],
  });
  closeSync(out);
  running.add(child);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name} did not start`);

  const probeWaiters: ((report: ProbeReport) => void)[] = [];
  let stderrTail = "";
  let pending = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    pending += chunk;
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.startsWith("BENCH_PROBE ")) {
        probeWaiters.shift()?.(JSON.parse(line.slice("BENCH_PROBE ".length)) as ProbeReport);
      } else {
        stderrTail = `${stderrTail}${line}\n`.slice(-4000);
      }
      newline = pending.indexOf("\n");
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );

  const url = await new Promise<string>((resolve, reject) => {
    const check = (): boolean => {
      const match = existsSync(options.logFile)
        ? LISTENING.exec(readFileSync(options.logFile, "utf8"))
        : null;
      if (match) {
        finish();
        resolve(match[1]!);
        return true;
      }
      return false;
    };
    const watcher = watch(options.logFile, () => void check());
    const poll = setInterval(check, 20);
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`${options.name} did not print its URL in time.\n${stderrTail}`));
    }, options.timeoutMs ?? 60_000);
    void exited.then((code) => {
      finish();
      reject(new Error(`${options.name} exited with ${code} before listening.\n${stderrTail}`));
    });
    function finish() {
      watcher.close();
      clearInterval(poll);
      clearTimeout(timer);
    }
    check();
  });
  const startupMs = performance.now() - started;
  const cpuMs = () => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), counted after the command name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  };
  const startupCpuMs = cpuMs();

  return {
    name: options.name,
    pid,
    url,
    startupMs,
    startupCpuMs,
    logFile: options.logFile,
    probe() {
      return new Promise<ProbeReport>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${options.name}: no probe report`)), 10_000);
        probeWaiters.push((report) => {
          clearTimeout(timer);
          resolve(report);
        });
        process.kill(pid, "SIGUSR2");
      });
    },
    cpuMs,
    rssBytes: () => procStatus(pid, "VmRSS"),
    peakRssBytes: () => procStatus(pid, "VmHWM"),
    async stop() {
      if (!running.has(child)) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to completion; its stdout is returned, a failure throws with its stderr. */
export function runCommand(
  args: string[],
  options: { cwd: string; env: Record<string, string>; input?: string },
): string {
  try {
    return execFileSync(process.execPath, args, {
      cwd: options.cwd,
      env: options.env,
      input: options.input,
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
    }).toString();
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`node ${args.join(" ")} failed:\n${stderr}`, { cause: error });
  }
}

/** fsync latency of the filesystem holding `dir` (4 KiB appends): the floor of a durable commit. */
export function fsyncLatency(dir: string, samples = 50): { p50Ms: number; p90Ms: number; maxMs: number } {
  const file = `${dir}/fsync-probe.bin`;
  const fd = openSync(file, "w");
  const block = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      writeSync(fd, block, 0, block.length, i * block.length);
      const t = performance.now();
      fsyncSync(fd);
      times.push(performance.now() - t);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(times.length * q))]!;
  return { p50Ms: at(0.5), p90Ms: at(0.9), maxMs: times[times.length - 1]! };
}
