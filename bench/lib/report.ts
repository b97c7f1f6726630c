import type { LoadResult } from "./load.js";
import type { ProbeReport } from "./processes.js";

/** One timed load of one scenario. */
export interface RunRecord extends LoadResult {
  scenario: string;
  round: number;
  /** Server CPU time (user + system, from /proc) per request: robust when other work shares the cores. */
  serverCpuUsPerRequest: number;
  /** Server CPU seconds per second of load (1.0 = one core busy). */
  serverCpuShare: number;
  eventLoopUtilization: number;
  gc: ProbeReport["gc"];
  rssBytes: number;
  /** Token cache hits / lookups during the run (Steward only, from /metrics). */
  cacheHitRatio: number | null;
}

export interface CreationRecord {
  store: string;
  sequentialPerSecond: number;
  sequentialLatencyP50Ms: number;
  sequentialLatencyP99Ms: number;
  sequentialFailed: number;
  concurrentPerSecond: number;
  concurrentLatencyP99Ms: number;
  concurrentFailed: number;
  concurrentServerCpuUsPerRequest: number;
}

export interface Report {
  startedAt: string;
  finishedAt: string;
  settings: Record<string, unknown>;
  machine: Record<string, unknown>;
  stores: Record<"small" | "big", { tokens: number; users: number; seedSeconds: number }>;
  scenarios: { key: string; label: string }[];
  runs: RunRecord[];
  startups: { store: string; ms: number; cpuMs: number; rssBytes: number }[];
  memory: {
    cacheSize: number;
    smallRssBytes: number;
    bigRssBytes: number;
    smallPeakRssBytes: number;
    bigPeakRssBytes: number;
    fullDefaultCache: null | {
      cacheSize: number;
      cacheEntries: number;
      rssBytes: number;
      peakRssBytes: number;
      heapUsedBytes: number;
    };
  };
  creation: CreationRecord[];
  summary: Summary | undefined;
}

export interface ScenarioSummary {
  key: string;
  label: string;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  serverCpuUsPerRequest: number;
  eventLoopUtilization: number;
  loadGeneratorCpu: number;
  gcMsPerSecond: number;
  gcMaxPauseMs: number;
  gcCountPerSecond: number;
  cacheHitRatio: number | null;
  rssBytes: number;
}

export interface Ratio {
  name: string;
  /** Median of the per-round ratios (each round loads both sides one after the other). */
  median: number;
  min: number;
  max: number;
  target?: { op: ">=" | "<="; value: number };
  pass?: boolean;
  note?: string;
}

export interface Summary {
  scenarios: ScenarioSummary[];
  ratios: Ratio[];
  checks: Ratio[];
}

export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function judge(ratio: Ratio): Ratio {
  if (!ratio.target || !Number.isFinite(ratio.median)) return ratio;
  const pass =
    ratio.target.op === ">=" ? ratio.median >= ratio.target.value : ratio.median <= ratio.target.value;
  return { ...ratio, pass };
}

export function summarize(report: Report): Summary {
  const byScenario = (key: string) => report.runs.filter((r) => r.scenario === key);
  const scenarios = report.scenarios.map(({ key, label }): ScenarioSummary => {
    const runs = byScenario(key);
    const ratios = runs.map((r) => r.cacheHitRatio).filter((v): v is number => v !== null);
    return {
      key,
      label,
      requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
      latencyP50Ms: median(runs.map((r) => r.latencyP50Ms)),
      latencyP99Ms: median(runs.map((r) => r.latencyP99Ms)),
      serverCpuUsPerRequest: median(runs.map((r) => r.serverCpuUsPerRequest)),
      eventLoopUtilization: median(runs.map((r) => r.eventLoopUtilization)),
      loadGeneratorCpu: median(runs.map((r) => r.loadGeneratorCpu)),
      gcMsPerSecond: median(runs.map((r) => r.gc.totalMs / r.durationS)),
      gcMaxPauseMs: Math.max(0, ...runs.map((r) => r.gc.maxMs)),
      gcCountPerSecond: median(runs.map((r) => r.gc.count / r.durationS)),
      cacheHitRatio: ratios.length > 0 ? median(ratios) : null,
      rssBytes: runs.at(-1)?.rssBytes ?? 0,
    };
  });

  /** Per-round ratio of a measure between two scenarios. */
  const ratio = (
    name: string,
    a: string,
    b: string,
    measure: (r: RunRecord) => number,
    extra: Partial<Ratio> = {},
  ): Ratio => {
    const rounds = [...new Set(report.runs.map((r) => r.round))];
    const values = rounds.flatMap((round) => {
      const left = report.runs.find((r) => r.scenario === a && r.round === round);
      const right = report.runs.find((r) => r.scenario === b && r.round === round);
      return left && right ? [measure(left) / measure(right)] : [];
    });
    return judge({
      name,
      median: median(values),
      min: Math.min(...values),
      max: Math.max(...values),
      ...extra,
    });
  };
  const rps = (r: RunRecord) => r.requestsPerSecond;
  const p99 = (r: RunRecord) => r.latencyP99Ms;
  /** Requests per CPU-second of the server: the throughput ratio one core would give, free of noise. */
  const perCpu = (r: RunRecord) => 1 / r.serverCpuUsPerRequest;
  const big = report.stores.big.tokens.toLocaleString("en");
  const small = report.stores.small.tokens.toLocaleString("en");

  const ratios: Ratio[] = [
    ratio("token (cache hit) / bare Fastify, req/s", "token-hit-big", "bare-fastify", rps, {
      target: { op: ">=", value: 0.9 },
    }),
    ratio("token (cache hit) / bare node:http, req/s", "token-hit-big", "bare-http", rps, {
      target: { op: ">=", value: 0.85 },
    }),
    ratio("token (cache hit) / bare Fastify, p99 latency", "token-hit-big", "bare-fastify", p99, {
      target: { op: "<=", value: 1.5 },
    }),
    ratio("token (cache hit) / bare node:http, p99 latency", "token-hit-big", "bare-http", p99, {
      target: { op: "<=", value: 1.5 },
    }),
    ratio("token (cache hit) / Steward anonymous, req/s", "token-hit-big", "anonymous-big", rps, {
      target: { op: ">=", value: 0.9 },
      note: "SPEC §9: auth costs at most 10%",
    }),
    ratio(`${big} / ${small} tokens, cache hit, req/s`, "token-hit-big", "token-hit-small", rps, {
      target: { op: ">=", value: 0.9 },
    }),
    ratio(`${big} / ${small} tokens, cache miss, req/s`, "token-miss-big", "token-miss-small", rps, {
      target: { op: ">=", value: 0.9 },
    }),
    ratio(`cache miss / cache hit (${big}), req/s`, "token-miss-big", "token-hit-big", rps),
    ratio("session cookie / token (cache hit), req/s", "session-big", "token-hit-big", rps),
    ratio("log level info / warn, token (cache hit), req/s", "token-hit-info", "token-hit-small", rps),
    ratio("Steward anonymous / bare Fastify, req/s", "anonymous-big", "bare-fastify", rps),
    ratio("bare Fastify / bare node:http, req/s", "bare-fastify", "bare-http", rps),
    // The same comparisons in server CPU per request (requests per CPU-second), immune to other load.
    ratio("per CPU: token (cache hit) / bare Fastify", "token-hit-big", "bare-fastify", perCpu, {
      target: { op: ">=", value: 0.9 },
    }),
    ratio("per CPU: token (cache hit) / bare node:http", "token-hit-big", "bare-http", perCpu, {
      target: { op: ">=", value: 0.85 },
    }),
    ratio("per CPU: token (cache hit) / Steward anonymous", "token-hit-big", "anonymous-big", perCpu, {
      target: { op: ">=", value: 0.9 },
    }),
    ratio("per CPU: Steward anonymous / bare Fastify", "anonymous-big", "bare-fastify", perCpu),
    ratio(`per CPU: ${big} / ${small} tokens, cache miss`, "token-miss-big", "token-miss-small", perCpu, {
      target: { op: ">=", value: 0.9 },
    }),
    ratio(`per CPU: cache miss / cache hit (${big})`, "token-miss-big", "token-hit-big", perCpu),
    ratio("per CPU: session cookie / token (cache hit)", "session-big", "token-hit-big", perCpu),
    ratio("per CPU: log level info / warn", "token-hit-info", "token-hit-small", perCpu),
    // Only with BENCH_BASELINE_DIST: this build against an older one, loaded in the same rounds.
    ratio("this build / baseline, anonymous, req/s", "anonymous-big", "baseline-anonymous-big", rps),
    ratio("this build / baseline, cache hit, req/s", "token-hit-big", "baseline-token-hit-big", rps),
    ratio("this build / baseline, cache miss, req/s", "token-miss-big", "baseline-token-miss-big", rps),
    ratio("per CPU: this build / baseline, anonymous", "anonymous-big", "baseline-anonymous-big", perCpu),
    ratio("per CPU: this build / baseline, cache hit", "token-hit-big", "baseline-token-hit-big", perCpu),
    ratio("per CPU: this build / baseline, cache miss", "token-miss-big", "baseline-token-miss-big", perCpu),
  ];

  const bigLabel = count(report.stores.big.tokens);
  const smallLabel = count(report.stores.small.tokens);
  const bigStarts = report.startups.filter((s) => s.store === bigLabel);
  const smallStarts = report.startups.filter((s) => s.store === smallLabel);
  const bigCreation = report.creation.find((c) => c.store === report.creation[0]?.store);
  const mem = report.memory;
  const checks: Ratio[] = [
    judge({
      name: `start-up with ${big} tokens, ms to listening (median of ${bigStarts.length})`,
      median: median(bigStarts.map((s) => s.ms)),
      min: Math.min(...bigStarts.map((s) => s.ms)),
      max: Math.max(...bigStarts.map((s) => s.ms)),
      target: { op: "<=", value: 1000 },
      note: `${median(bigStarts.map((s) => s.cpuMs)).toFixed(0)} ms CPU; with ${small} tokens ${median(smallStarts.map((s) => s.ms)).toFixed(0)} ms, ${median(smallStarts.map((s) => s.cpuMs)).toFixed(0)} ms CPU`,
    }),
    judge({
      name: `start-up CPU with ${big} / ${small} tokens`,
      median: median(bigStarts.map((s) => s.cpuMs)) / median(smallStarts.map((s) => s.cpuMs)),
      min: Number.NaN,
      max: Number.NaN,
      target: { op: "<=", value: 1.1 },
      note: "start-up does not grow with the token count",
    }),
    judge({
      name: `RSS at start with ${big} / ${small} tokens`,
      median: median(bigStarts.map((s) => s.rssBytes)) / median(smallStarts.map((s) => s.rssBytes)),
      min: Number.NaN,
      max: Number.NaN,
      target: { op: "<=", value: 1.1 },
      note: `${mb(median(bigStarts.map((s) => s.rssBytes)))} vs ${mb(median(smallStarts.map((s) => s.rssBytes)))}`,
    }),
    {
      name: `RSS after the loads with ${big} / ${small} tokens, cache ${mem.cacheSize}`,
      median: mem.bigRssBytes / mem.smallRssBytes,
      min: Number.NaN,
      max: Number.NaN,
      note: `${mb(mem.bigRssBytes)} vs ${mb(mem.smallRssBytes)} (peak ${mb(mem.bigPeakRssBytes)} vs ${mb(mem.smallPeakRssBytes)}); the ${big} instance served more scenarios`,
    },
    ...(mem.fullDefaultCache
      ? [
          {
            name: `RSS with ${big} tokens, cache full (${mem.fullDefaultCache.cacheEntries}/${mem.fullDefaultCache.cacheSize}), MB`,
            median: mem.fullDefaultCache.rssBytes / 2 ** 20,
            min: mem.fullDefaultCache.rssBytes / 2 ** 20,
            max: mem.fullDefaultCache.peakRssBytes / 2 ** 20,
            note: `heap used ${mb(mem.fullDefaultCache.heapUsedBytes)}`,
          },
        ]
      : []),
    ...(bigCreation
      ? [
          judge({
            name: `token creation, sequential (${bigCreation.store}), per s`,
            median: bigCreation.sequentialPerSecond,
            min: bigCreation.sequentialPerSecond,
            max: bigCreation.sequentialPerSecond,
            target: { op: ">=", value: 2000 },
            note: `p50 ${bigCreation.sequentialLatencyP50Ms.toFixed(2)} ms, p99 ${bigCreation.sequentialLatencyP99Ms.toFixed(2)} ms`,
          }),
          judge({
            name: `token creation, concurrent (${bigCreation.store}), per s`,
            median: bigCreation.concurrentPerSecond,
            min: bigCreation.concurrentPerSecond,
            max: bigCreation.concurrentPerSecond,
            target: { op: ">=", value: 2000 },
            note: `${bigCreation.concurrentServerCpuUsPerRequest.toFixed(0)} µs server CPU each`,
          }),
        ]
      : []),
  ];
  const known = (r: Ratio) => Number.isFinite(r.median);
  return {
    scenarios: scenarios.filter((x) => Number.isFinite(x.requestsPerSecond)),
    ratios: ratios.filter(known),
    checks: checks.filter(known),
  };
}

/** 1000 → "1k", 1000000 → "1M": the labels the bench gives its stores. */
export function count(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}k`;
  return String(n);
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MB`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const range = (r: Ratio, digits: number) =>
  Number.isFinite(r.min) && Number.isFinite(r.max) ? `${fixed(r.min, digits)}–${fixed(r.max, digits)}` : "";

export function printReport(report: Report): void {
  const summary = report.summary!;
  const out: string[] = [];
  const s = report.settings;
  out.push(
    "",
    `Steward bench — ${s.quick ? "quick" : "full"} mode, ${s.connections} connections, ${s.rounds} rounds × ${s.durationS} s, ` +
      `token cache ${s.cacheSize}, cache-miss load over ${Math.min(Number(s.missTokens), report.stores.small.tokens)} distinct tokens` +
      (s.pin ? "; pinned: servers on CPU 0, load generator on CPU 1" : ""),
    `node ${report.machine.node}, ${report.machine.cpus} CPUs, load average ${(report.machine.loadAverageBefore as number[])[0]?.toFixed(1)} → ${(report.machine.loadAverageAfter as number[])[0]?.toFixed(1)}, data on ${report.machine.dataFilesystem}`,
    `seeding: ${report.stores.big.tokens.toLocaleString("en")} tokens in ${report.stores.big.seedSeconds.toFixed(1)} s; ` +
      `fsync of the data disk: p50 ${fixed((report.machine.fsync as { p50Ms: number }).p50Ms, 1)} ms, p90 ${fixed((report.machine.fsync as { p90Ms: number }).p90Ms, 1)} ms`,
    "",
  );
  const bareHttp = summary.scenarios.find((x) => x.key === "bare-http");
  const bareFastify = summary.scenarios.find((x) => x.key === "bare-fastify");
  out.push(
    table(
      [
        "scenario (medians over rounds)",
        "req/s",
        "p50 ms",
        "p99 ms",
        "µs CPU/req",
        "÷http",
        "÷Fastify",
        "GC ms/s",
        "GC max ms",
        "hit %",
        "ELU",
        "loadgen CPU",
      ],
      summary.scenarios.map((x) => [
        x.label,
        fixed(x.requestsPerSecond, 0),
        fixed(x.latencyP50Ms, 0),
        fixed(x.latencyP99Ms, 0),
        fixed(x.serverCpuUsPerRequest, 0),
        fixed(x.requestsPerSecond / (bareHttp?.requestsPerSecond ?? Number.NaN), 2),
        fixed(x.requestsPerSecond / (bareFastify?.requestsPerSecond ?? Number.NaN), 2),
        fixed(x.gcMsPerSecond, 1),
        fixed(x.gcMaxPauseMs, 1),
        x.cacheHitRatio === null ? "" : fixed(x.cacheHitRatio * 100, 0),
        fixed(x.eventLoopUtilization, 2),
        fixed(x.loadGeneratorCpu, 2),
      ]),
    ),
    "",
  );
  const verdict = (r: Ratio) =>
    r.pass === undefined ? "" : `${r.pass ? "PASS" : "MISS"} (target ${r.target!.op} ${r.target!.value})`;
  out.push(
    table(
      ["ratio (median of per-round ratios)", "median", "range", "target"],
      summary.ratios.map((r) => [r.name, fixed(r.median, 2), range(r, 2), verdict(r)]),
    ),
    "",
    table(
      ["check", "value", "range", "target", "note"],
      summary.checks.map((r) => [
        r.name,
        fixed(r.median, r.median < 10 ? 2 : 0),
        range(r, 0),
        verdict(r),
        r.note ?? "",
      ]),
    ),
    "",
    table(
      [
        "token creation",
        "sequential /s",
        "p99 ms",
        `${s.connections} conn. /s`,
        "p99 ms",
        "µs CPU each",
        "failed",
      ],
      report.creation.map((c) => [
        `${c.store} tokens`,
        fixed(c.sequentialPerSecond, 0),
        fixed(c.sequentialLatencyP99Ms, 1),
        fixed(c.concurrentPerSecond, 0),
        fixed(c.concurrentLatencyP99Ms, 0),
        fixed(c.concurrentServerCpuUsPerRequest, 0),
        String(c.sequentialFailed + c.concurrentFailed),
      ]),
    ),
  );
  process.stdout.write(`${out.join("\n")}\n`);
}
