import { Agent, request } from "node:http";
import autocannon from "autocannon";

export interface LoadSpec {
  url: string;
  path: string;
  method?: "GET" | "POST";
  connections: number;
  durationS: number;
  /** Stop after this many requests instead of after `durationS`. */
  amount?: number;
  headers?: Record<string, string>;
  /** One header set per request, dealt out in disjoint slices to the connections (cache-miss load). */
  rotatingHeaders?: readonly Record<string, string>[];
  /** Every response body must pass, or the run counts a mismatch (e.g. "authenticated":true). */
  verify: (body: string) => boolean;
}

export interface LoadResult {
  requestsPerSecond: number;
  totalRequests: number;
  durationS: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  /** CPU used by the load generator (this process) per second of load: near 1.0 means it was the bottleneck. */
  loadGeneratorCpu: number;
}

/** One autocannon run (in this process, so it never shares a heap with the server it measures). */
export async function load(spec: LoadSpec): Promise<LoadResult> {
  const requests =
    spec.rotatingHeaders === undefined
      ? undefined
      : sliceForConnections(spec.rotatingHeaders, spec.connections).map((slice) =>
          slice.map((headers) => ({ method: spec.method ?? "GET", path: spec.path, headers })),
        );
  let nextClient = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({
    url: spec.url + spec.path,
    method: spec.method ?? "GET",
    connections: spec.connections,
    ...(spec.amount === undefined ? { duration: spec.durationS } : { amount: spec.amount }),
    headers: spec.headers ?? {},
    timeout: 30,
    verifyBody: spec.verify,
    ...(requests
      ? { setupClient: (client) => client.setRequests(requests[nextClient++ % requests.length]!) }
      : {}),
  });
  const elapsedS = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    requestsPerSecond: result.requests.total / result.duration,
    totalRequests: result.requests.total,
    durationS: result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMaxMs: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
    loadGeneratorCpu: (used.user + used.system) / 1e6 / elapsedS,
  };
}

/** Splits items into `n` disjoint, equally long slices (a token is only ever sent on one connection). */
function sliceForConnections<T>(items: readonly T[], n: number): T[][] {
  const per = Math.max(1, Math.floor(items.length / n));
  return Array.from({ length: n }, (_, i) => {
    const slice = items.slice(i * per, (i + 1) * per);
    return slice.length > 0 ? slice : [items[i % items.length]!];
  });
}

export interface SimpleResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One HTTP request on a kept-alive connection (sequential measurements and set-up). */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Sends requests one after the other for `durationS`; counts those `accept` approves. */
export async function sequential(
  durationS: number,
  once: () => Promise<SimpleResponse>,
  accept: (response: SimpleResponse) => boolean,
): Promise<{ perSecond: number; ok: number; failed: number; latencyP50Ms: number; latencyP99Ms: number }> {
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  const started = performance.now();
  const end = started + durationS * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    const response = await once();
    latencies.push(performance.now() - t);
    if (accept(response)) ok++;
    else failed++;
  }
  const elapsedS = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
  return { perSecond: ok / elapsedS, ok, failed, latencyP50Ms: at(0.5), latencyP99Ms: at(0.99) };
}
