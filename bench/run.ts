// `npm run bench`: Steward's token verification against bare node:http and bare Fastify, in one run.
// See bench/README.md for what is measured and how to read it. Never part of `npm test`.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { seedTokenOwner, seedTokenValue, seedTokenValues } from "../src/cli/dev-seed.js";
import { type LoadResult, load, send, sequential } from "./lib/load.js";
import {
  cleanEnv,
  fsyncLatency,
  type ProbeReport,
  pinLoadGenerator,
  runCommand,
  SERVER_CPU,
  type ServerProcess,
  startServer,
} from "./lib/processes.js";
import { count, printReport, type Report, type RunRecord, summarize } from "./lib/report.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "dist", "cli", "main.js");

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got "${raw}").`);
  return n;
}

const QUICK = process.env.BENCH_QUICK === "1";
const settings = {
  quick: QUICK,
  bigTokens: envInt("BENCH_TOKENS", QUICK ? 10_000 : 1_000_000),
  bigUsers: envInt("BENCH_USERS", QUICK ? 1_000 : 100_000),
  smallTokens: 1_000,
  smallUsers: 100,
  connections: envInt("BENCH_CONNECTIONS", 50),
  durationS: envInt("BENCH_DURATION", QUICK ? 2 : 5),
  rounds: envInt("BENCH_ROUNDS", QUICK ? 2 : 3),
  warmupS: envInt("BENCH_WARMUP", QUICK ? 1 : 2),
  /** Token cache of the Steward instances under load: small, so a cache-miss load is possible on 1k tokens. */
  cacheSize: envInt("BENCH_CACHE_SIZE", 100),
  /** Distinct tokens a cache-miss load cycles through (at most the store's tokens). */
  missTokens: envInt("BENCH_MISS_TOKENS", 1_000),
  /** The default cache size, for the memory check with a full cache. */
  defaultCacheSize: 10_000,
  /** Distinct tokens sent once each to fill that cache (fewer in quick mode: a smoke test). */
  fillTokens: envInt("BENCH_FILL_TOKENS", QUICK ? 2_000 : 20_000),
  starts: envInt("BENCH_STARTS", QUICK ? 1 : 3),
  seed: `bench-${Date.now()}`,
  /** BENCH_PIN=1: each server on CPU 0 and the load generator on CPU 1, instead of sharing both. */
  pin: process.env.BENCH_PIN === "1",
  /**
   * BENCH_BASELINE_DIST=/path/to/an/older/dist: also load that build (anonymous, cache hit, cache miss on
   * a copy of the big store) in the same rounds, to see what a change did. It must resolve node_modules
   * and ../public, e.g. node_modules/.cache/steward-bench/dist with a `public` link beside it.
   */
  baselineDist: process.env.BENCH_BASELINE_DIST ?? null,
  /** BENCH_ONLY=bare-fastify,token-hit-big,…: only these scenarios (and phases: startup, creation, memory). */
  only: (process.env.BENCH_ONLY ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== ""),
};
const wanted = (key: string) => settings.only.length === 0 || settings.only.includes(key);

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const basic = (user: string, secret: string) =>
  `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;
const authenticatedAs = (user: string) => (body: string) =>
  body.includes('"authenticated":true') && body.includes(`"name":"${user}"`);
const anyAuthenticated = (body: string) => body.includes('"authenticated":true');
const anonymous = (body: string) => body.includes('"anonymous":true');
const ADMIN = "bench-admin";
const ADMIN_PASSWORD = `bench-${Math.random().toString(36).slice(2)}-password`;
const WHOAMI = "/whoAmI/api/json";
const GENERATE = "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken";

/** Builds dist/ when it is missing or older than any source file. */
function ensureBuilt(): void {
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
      const path = join(dir, entry.name);
      return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
    }, 0);
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newest(join(ROOT, "src"))) return;
  log("dist/ is stale: npm run build");
  const build = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" });
  if (build.status !== 0) throw new Error("npm run build failed");
}

/** The filesystem type of a path (fsync cost differs wildly between ext4, overlay and tmpfs). */
function filesystemOf(path: string): string {
  let best = { mount: "", type: "unknown" };
  for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
    const [, mount, type] = line.split(" ");
    if (
      mount &&
      type &&
      (path === mount || path.startsWith(mount.endsWith("/") ? mount : `${mount}/`)) &&
      mount.length >= best.mount.length
    ) {
      best = { mount, type };
    }
  }
  return `${best.type} (${best.mount})`;
}

interface Store {
  label: string;
  dir: string;
  tokens: number;
  users: number;
  seedSeconds: number;
}

function seedStore(root: string, name: string, tokens: number, users: number): Store {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  log(`seeding ${count(tokens)} tokens for ${count(users)} users in ${dir}`);
  const env = cleanEnv({ STEWARD_DATA_DIR: dir, STEWARD_PASSWORD_HASH_COST: "10" });
  const started = performance.now();
  const out = runCommand(
    [
      CLI,
      "--json",
      "dev",
      "seed",
      "--users",
      String(users),
      "--tokens",
      String(tokens),
      "--seed",
      settings.seed,
    ],
    { cwd: ROOT, env },
  );
  const seedSeconds = (performance.now() - started) / 1000;
  const reported = JSON.parse(out) as { seconds: number };
  log(`seeded in ${seedSeconds.toFixed(1)} s (${reported.seconds.toFixed(1)} s inside the command)`);
  runCommand([CLI, "user", "add", ADMIN, "--admin", "--password-stdin"], {
    cwd: ROOT,
    env,
    input: `${ADMIN_PASSWORD}\n`,
  });
  return { label: count(tokens), dir, tokens, users, seedSeconds };
}

function stewardEnv(store: Store, extra: Record<string, string> = {}): Record<string, string> {
  return cleanEnv({
    STEWARD_HOST: "127.0.0.1",
    STEWARD_PORT: "0",
    STEWARD_DATA_DIR: store.dir,
    STEWARD_LOG_LEVEL: "warn",
    STEWARD_PASSWORD_HASH_COST: "10",
    STEWARD_TOKEN_CACHE_SIZE: String(settings.cacheSize),
    ...extra,
  });
}

/** Set once the loads begin with BENCH_PIN=1 (start-up is measured unpinned). */
let serverCpu: number | undefined;

async function startSteward(
  name: string,
  root: string,
  store: Store,
  extra: Record<string, string> = {},
  cli = CLI,
) {
  return startServer({
    name,
    args: [cli, "serve"],
    env: stewardEnv(store, extra),
    cwd: ROOT,
    logFile: join(root, `${name.replace(/[^a-z0-9]+/gi, "-")}-${Date.now()}.log`),
    cpu: serverCpu,
  });
}

/** Token `index` of a seeded store, with its owner. */
function seeded(store: Store, index: number) {
  return { user: seedTokenOwner(index, store.users), value: seedTokenValue(settings.seed, index) };
}

/** `n` distinct tokens spread evenly over the whole store, as Basic headers. */
function spreadTokens(store: Store, n: number): Record<string, string>[] {
  const step = Math.max(1, Math.floor(store.tokens / n));
  const headers: Record<string, string>[] = [];
  for (let i = 0; i < Math.min(n, store.tokens); i++) {
    const index = i * step;
    const [value] = seedTokenValues(settings.seed, index, index + 1);
    headers.push({ authorization: basic(seedTokenOwner(index, store.users), value!) });
  }
  return headers;
}

async function metrics(server: ServerProcess): Promise<{ hits: number; misses: number; entries: number }> {
  const { body } = await send(`${server.url}/metrics`);
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(body)?.[1] ?? Number.NaN);
  return {
    hits: value("steward_token_cache_hits_total"),
    misses: value("steward_token_cache_misses_total"),
    entries: value("steward_token_cache_entries"),
  };
}

interface Scenario {
  key: string;
  label: string;
  server: () => ServerProcess;
  steward: boolean;
  spec: () => Omit<Parameters<typeof load>[0], "url" | "connections" | "durationS">;
}

async function measure(scenario: Scenario, durationS: number, round: number): Promise<RunRecord> {
  const server = scenario.server();
  await server.probe(); // resets the in-process counters
  const before = scenario.steward ? await metrics(server) : null;
  const cpuBefore = server.cpuMs();
  const result: LoadResult = await load({
    url: server.url,
    connections: settings.connections,
    durationS,
    ...scenario.spec(),
  });
  const cpuMs = server.cpuMs() - cpuBefore;
  const probe: ProbeReport = await server.probe();
  const after = scenario.steward ? await metrics(server) : null;
  const lookups = before && after ? after.hits - before.hits + (after.misses - before.misses) : 0;
  const record: RunRecord = {
    scenario: scenario.key,
    round,
    ...result,
    serverCpuUsPerRequest: result.totalRequests > 0 ? (cpuMs * 1000) / result.totalRequests : 0,
    serverCpuShare: cpuMs / 1000 / result.durationS,
    eventLoopUtilization: probe.eventLoopUtilization,
    gc: probe.gc,
    rssBytes: server.rssBytes(),
    cacheHitRatio: before && after && lookups > 0 ? (after.hits - before.hits) / lookups : null,
  };
  const bad = result.errors + result.timeouts + result.non2xx + result.mismatches;
  if (bad > 0) {
    log(
      `WARNING ${scenario.label}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx, ${result.mismatches} wrong bodies`,
    );
  }
  return record;
}

async function main(): Promise<void> {
  ensureBuilt();
  const dataRoot = process.env.BENCH_DATA_ROOT ?? tmpdir();
  const root = mkdtempSync(join(dataRoot, "steward-bench-"));
  const started = new Date();
  const loadBefore = loadavg();
  log(`${QUICK ? "quick" : "full"} mode; data in ${root} on ${filesystemOf(root)}`);
  const servers: ServerProcess[] = [];
  try {
    const small = seedStore(root, "small", settings.smallTokens, settings.smallUsers);
    const big = seedStore(root, "big", settings.bigTokens, settings.bigUsers);
    const info: Store = { ...small, dir: join(root, "small-info") };
    cpSync(small.dir, info.dir, { recursive: true });

    // Start-up, small and big store in turn: each start opens the database, checks migrations and listens.
    // The stores were just written, so they are in the page cache, as on a running host.
    const startups: { store: string; ms: number; cpuMs: number; rssBytes: number }[] = [];
    for (let i = 0; i < (wanted("startup") ? settings.starts : 0); i++) {
      for (const store of [small, big]) {
        const s = await startSteward(`steward-${store.label}-start`, root, store);
        startups.push({ store: store.label, ms: s.startupMs, cpuMs: s.startupCpuMs, rssBytes: s.rssBytes() });
        await s.stop();
      }
    }
    log(
      `start-up: ${startups.map((s) => `${s.store} ${s.ms.toFixed(0)} ms (${s.cpuMs.toFixed(0)} ms CPU)`).join(", ")}`,
    );

    if (settings.pin) {
      pinLoadGenerator();
      serverCpu = SERVER_CPU;
      log(`pinned: servers on CPU ${SERVER_CPU}, the load generator on CPU 1`);
    }
    const bareHttp = await startServer({
      name: "bare node:http",
      args: [join(ROOT, "bench", "servers", "bare-http.mjs")],
      env: cleanEnv({}),
      cwd: ROOT,
      logFile: join(root, "bare-http.log"),
      cpu: serverCpu,
    });
    const bareFastify = await startServer({
      name: "bare Fastify",
      args: [join(ROOT, "bench", "servers", "bare-fastify.mjs")],
      env: cleanEnv({}),
      cwd: ROOT,
      logFile: join(root, "bare-fastify.log"),
      cpu: serverCpu,
    });
    const stewardSmall = await startSteward(`steward-${small.label}`, root, small);
    let stewardBig = await startSteward(`steward-${big.label}`, root, big);
    const stewardInfo = await startSteward(`steward-${small.label}-info`, root, info, {
      STEWARD_LOG_LEVEL: "info",
    });
    servers.push(bareHttp, bareFastify, stewardSmall, stewardBig, stewardInfo);
    let baseline: ServerProcess | null = null;
    if (settings.baselineDist) {
      const copy: Store = { ...big, dir: join(root, "big-baseline") };
      cpSync(big.dir, copy.dir, { recursive: true });
      try {
        const cli = join(settings.baselineDist, "cli", "main.js");
        baseline = await startSteward("steward-baseline", root, copy, {}, cli);
        servers.push(baseline);
      } catch (error) {
        // E.g. the baseline predates a migration of this build's store: it refuses to open it.
        const reason =
          error instanceof Error ? error.message.split("\n").slice(0, 2).join(" ") : String(error);
        log(`baseline skipped: ${reason}`);
      }
    }

    const hitBig = seeded(big, 0);
    const hitSmall = seeded(small, 0);
    // The same number of distinct tokens on both stores (spread over each), so that only the store's size
    // differs: more distinct tokens also mean more usage rows per flush and more first-use address events.
    const missCount = Math.min(settings.missTokens, small.tokens);
    const missBig = spreadTokens(big, missCount);
    const missSmall = spreadTokens(small, missCount);
    const login = await send(`${stewardBig.url}/j_spring_security_check`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `j_username=${ADMIN}&j_password=${encodeURIComponent(ADMIN_PASSWORD)}&from=%2F`,
    });
    const setCookie = [login.headers["set-cookie"] ?? []]
      .flat()
      .find((c) => c.startsWith("steward_session="));
    if (!setCookie) throw new Error(`login failed: ${login.status} ${login.body.slice(0, 200)}`);
    const sessionCookie = setCookie.split(";", 1)[0]!;

    const allScenarios: Scenario[] = [
      {
        key: "bare-http",
        label: "bare node:http",
        server: () => bareHttp,
        steward: false,
        spec: () => ({ path: WHOAMI, verify: anyAuthenticated }),
      },
      {
        key: "bare-fastify",
        label: "bare Fastify",
        server: () => bareFastify,
        steward: false,
        spec: () => ({ path: WHOAMI, verify: anyAuthenticated }),
      },
      {
        key: "anonymous-big",
        label: `Steward anonymous (${big.label})`,
        server: () => stewardBig,
        steward: true,
        spec: () => ({ path: WHOAMI, verify: anonymous }),
      },
      {
        key: "token-hit-big",
        label: `Steward token, cache hit (${big.label})`,
        server: () => stewardBig,
        steward: true,
        spec: () => ({
          path: WHOAMI,
          headers: { authorization: basic(hitBig.user, hitBig.value) },
          verify: authenticatedAs(hitBig.user),
        }),
      },
      {
        key: "token-hit-small",
        label: `Steward token, cache hit (${small.label})`,
        server: () => stewardSmall,
        steward: true,
        spec: () => ({
          path: WHOAMI,
          headers: { authorization: basic(hitSmall.user, hitSmall.value) },
          verify: authenticatedAs(hitSmall.user),
        }),
      },
      {
        key: "token-miss-big",
        label: `Steward token, cache miss (${big.label})`,
        server: () => stewardBig,
        steward: true,
        spec: () => ({ path: WHOAMI, rotatingHeaders: missBig, verify: anyAuthenticated }),
      },
      {
        key: "token-miss-small",
        label: `Steward token, cache miss (${small.label})`,
        server: () => stewardSmall,
        steward: true,
        spec: () => ({ path: WHOAMI, rotatingHeaders: missSmall, verify: anyAuthenticated }),
      },
      {
        key: "session-big",
        label: `Steward session cookie (${big.label})`,
        server: () => stewardBig,
        steward: true,
        spec: () => ({ path: WHOAMI, headers: { cookie: sessionCookie }, verify: authenticatedAs(ADMIN) }),
      },
      {
        key: "token-hit-info",
        label: `Steward token, log level info (${small.label})`,
        server: () => stewardInfo,
        steward: true,
        spec: () => ({
          path: WHOAMI,
          headers: { authorization: basic(hitSmall.user, hitSmall.value) },
          verify: authenticatedAs(hitSmall.user),
        }),
      },
    ];

    if (baseline) {
      const server = () => baseline!;
      allScenarios.push(
        {
          key: "baseline-anonymous-big",
          label: `baseline anonymous (${big.label})`,
          server,
          steward: true,
          spec: () => ({ path: WHOAMI, verify: anonymous }),
        },
        {
          key: "baseline-token-hit-big",
          label: `baseline token, cache hit (${big.label})`,
          server,
          steward: true,
          spec: () => ({
            path: WHOAMI,
            headers: { authorization: basic(hitBig.user, hitBig.value) },
            verify: authenticatedAs(hitBig.user),
          }),
        },
        {
          key: "baseline-token-miss-big",
          label: `baseline token, cache miss (${big.label})`,
          server,
          steward: true,
          spec: () => ({ path: WHOAMI, rotatingHeaders: missBig, verify: anyAuthenticated }),
        },
      );
    }
    const scenarios = allScenarios.filter((s) => wanted(s.key));

    // Each scenario answers correctly before anything is timed.
    for (const scenario of scenarios) {
      const spec = scenario.spec();
      const headers = spec.headers ?? spec.rotatingHeaders?.[0] ?? {};
      const response = await send(scenario.server().url + spec.path, { headers });
      if (response.status !== 200 || !spec.verify(response.body)) {
        throw new Error(
          `${scenario.label}: unexpected answer ${response.status} ${response.body.slice(0, 200)}`,
        );
      }
    }

    log(`warm-up: ${settings.warmupS} s per scenario`);
    for (const scenario of scenarios) await measure(scenario, settings.warmupS, -1);

    const runs: RunRecord[] = [];
    for (let round = 0; round < settings.rounds; round++) {
      // Alternate the order, so slow drift of the machine does not favour one side of a ratio.
      const order = round % 2 === 0 ? scenarios : [...scenarios].reverse();
      for (const scenario of order) {
        const record = await measure(scenario, settings.durationS, round);
        runs.push(record);
        log(
          `round ${round + 1}/${settings.rounds} ${scenario.label}: ${record.requestsPerSecond.toFixed(0)} req/s, p99 ${record.latencyP99Ms} ms, ${record.serverCpuUsPerRequest.toFixed(0)} µs CPU/req`,
        );
      }
    }

    // Memory with the same (small) cache and 1k vs many tokens, after all the loads above.
    const memory = {
      cacheSize: settings.cacheSize,
      smallRssBytes: stewardSmall.rssBytes(),
      bigRssBytes: stewardBig.rssBytes(),
      smallPeakRssBytes: stewardSmall.peakRssBytes(),
      bigPeakRssBytes: stewardBig.peakRssBytes(),
      fullDefaultCache: null as null | {
        cacheSize: number;
        cacheEntries: number;
        rssBytes: number;
        peakRssBytes: number;
        heapUsedBytes: number;
      },
    };

    // Token creation: POST generateNewToken with a token (no crumb needed), one at a time and concurrently.
    const creation: Report["creation"] = [];
    for (const [store, server] of wanted("creation")
      ? ([
          [big, stewardBig],
          [small, stewardSmall],
        ] as const)
      : []) {
      const owner = seeded(store, 1);
      const headers = { authorization: basic(owner.user, owner.value) };
      const seq = await sequential(
        settings.durationS,
        () => send(`${server.url}${GENERATE}`, { method: "POST", headers }),
        (r) => r.status === 200 && r.body.includes('"status":"ok"'),
      );
      log(`token creation, sequential (${store.label}): ${seq.perSecond.toFixed(0)}/s`);
      const cpuBefore = server.cpuMs();
      const conc = await load({
        url: server.url,
        path: GENERATE,
        method: "POST",
        connections: settings.connections,
        durationS: settings.durationS,
        headers,
        verify: (body) => body.includes('"status":"ok"'),
      });
      const cpuMs = server.cpuMs() - cpuBefore;
      log(
        `token creation, ${settings.connections} connections (${store.label}): ${conc.requestsPerSecond.toFixed(0)}/s`,
      );
      creation.push({
        store: store.label,
        sequentialPerSecond: seq.perSecond,
        sequentialLatencyP50Ms: seq.latencyP50Ms,
        sequentialLatencyP99Ms: seq.latencyP99Ms,
        sequentialFailed: seq.failed,
        concurrentPerSecond:
          conc.mismatches + conc.non2xx + conc.errors > 0 ? Number.NaN : conc.requestsPerSecond,
        concurrentLatencyP99Ms: conc.latencyP99Ms,
        concurrentFailed: conc.mismatches + conc.non2xx + conc.errors + conc.timeouts,
        concurrentServerCpuUsPerRequest: conc.totalRequests > 0 ? (cpuMs * 1000) / conc.totalRequests : 0,
      });
    }

    // Memory with the default cache filled: restart the big instance, then a cache-miss load over more
    // distinct tokens than the cache holds.
    if (wanted("memory")) {
      await stewardBig.stop();
      stewardBig = await startSteward(`steward-${big.label}-default-cache`, root, big, {
        STEWARD_TOKEN_CACHE_SIZE: String(settings.defaultCacheSize),
      });
      servers.push(stewardBig);
      // Each of these distinct tokens is sent once: the cache ends up holding min(fill, cache size) entries.
      const fill = spreadTokens(big, settings.fillTokens);
      await load({
        url: stewardBig.url,
        path: WHOAMI,
        connections: settings.connections,
        durationS: 0,
        amount: fill.length,
        rotatingHeaders: fill,
        verify: anyAuthenticated,
      });
      const filled = await metrics(stewardBig);
      const probe = await stewardBig.probe();
      memory.fullDefaultCache = {
        cacheSize: settings.defaultCacheSize,
        cacheEntries: filled.entries,
        rssBytes: stewardBig.rssBytes(),
        peakRssBytes: stewardBig.peakRssBytes(),
        heapUsedBytes: probe.heapUsedBytes,
      };
    }

    const report: Report = {
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      settings: { ...settings, seed: undefined },
      machine: {
        node: process.version,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? "unknown",
        totalMemoryBytes: totalmem(),
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadavg(),
        dataFilesystem: filesystemOf(root),
        fsync: fsyncLatency(root),
        commit:
          spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout?.toString().trim() ?? "",
        dirty:
          (spawnSync("git", ["status", "--porcelain"], { cwd: ROOT }).stdout?.toString().trim() ?? "") !== "",
      },
      stores: {
        small: { tokens: small.tokens, users: small.users, seedSeconds: small.seedSeconds },
        big: { tokens: big.tokens, users: big.users, seedSeconds: big.seedSeconds },
      },
      scenarios: scenarios.map((s) => ({ key: s.key, label: s.label })),
      runs,
      startups,
      memory,
      creation,
      summary: undefined,
    };
    report.summary = summarize(report);
    const resultsDir = join(ROOT, "bench", "results");
    mkdirSync(resultsDir, { recursive: true });
    const file = join(
      resultsDir,
      `${started.toISOString().replace(/[:.]/g, "-")}${QUICK ? "-quick" : ""}.json`,
    );
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    printReport(report);
    process.stdout.write(`\nResults: ${file}\n`);
  } finally {
    await Promise.all(servers.map((s) => s.stop().catch(() => {})));
    if (process.env.BENCH_KEEP !== "1") rmSync(root, { recursive: true, force: true });
    else log(`kept ${root}`);
  }
}

process.once("SIGINT", () => process.exit(130));
main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
