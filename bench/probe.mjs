// Preloaded into every measured server (`node --import ./bench/probe.mjs …`): counts garbage-collection
// pauses with perf_hooks and, on SIGUSR2, writes what it saw since the last report as one line on
// stderr (`BENCH_PROBE {json}`) and starts over. Plain JavaScript, so no TypeScript loader runs in the
// measured process. Never loaded by Steward itself.
import { constants, PerformanceObserver, performance } from "node:perf_hooks";

const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};

let pauses = [];
let since = performance.now();
let loop = performance.eventLoopUtilization();

new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    pauses.push([KINDS[entry.detail?.kind] ?? "other", entry.duration]);
  }
}).observe({ entryTypes: ["gc"] });

function summary() {
  const byKind = {};
  const all = [];
  for (const [kind, ms] of pauses) {
    byKind[kind] ??= { count: 0, totalMs: 0, maxMs: 0 };
    const k = byKind[kind];
    k.count++;
    k.totalMs += ms;
    k.maxMs = Math.max(k.maxMs, ms);
    all.push(ms);
  }
  all.sort((a, b) => a - b);
  const p99 = all.length === 0 ? 0 : all[Math.min(all.length - 1, Math.floor(all.length * 0.99))];
  const memory = process.memoryUsage();
  return {
    seconds: (performance.now() - since) / 1000,
    gc: {
      count: all.length,
      totalMs: all.reduce((a, b) => a + b, 0),
      maxMs: all.length === 0 ? 0 : all[all.length - 1],
      p99Ms: p99,
      byKind,
    },
    eventLoopUtilization: performance.eventLoopUtilization(loop).utilization,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
  };
}

process.on("SIGUSR2", () => {
  process.stderr.write(`BENCH_PROBE ${JSON.stringify(summary())}\n`);
  pauses = [];
  since = performance.now();
  loop = performance.eventLoopUtilization();
});
