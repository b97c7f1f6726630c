import { join } from "node:path";
import { readdirSync, readFileSync, rmSync, mkdirSync } from "node:fs";
import { load } from "./lib/load.js";
import { cleanEnv, startServer } from "./lib/processes.js";
import { seedTokenValue } from "../src/cli/dev-seed.js";
const ROOT = process.cwd();
const auth = { authorization: "Basic " + Buffer.from(`seed-user-0000000:${seedTokenValue("abc", 0)}`).toString("base64") };
const targets = {
  fastify: { args: [join(ROOT, "bench/servers/bare-fastify.mjs")], env: {}, headers: {} },
  http: { args: [join(ROOT, "bench/servers/bare-http.mjs")], env: {}, headers: {} },
  anon: { args: [join(ROOT, "dist/cli/main.js"), "serve"], env: { STEWARD_PORT: "0", STEWARD_DATA_DIR: "/tmp/mb", STEWARD_LOG_LEVEL: "warn" }, headers: {} },
  token: { args: [join(ROOT, "dist/cli/main.js"), "serve"], env: { STEWARD_PORT: "0", STEWARD_DATA_DIR: "/tmp/mb", STEWARD_LOG_LEVEL: "warn" }, headers: auth },
};
for (const name of process.argv.slice(2)) {
  const t = targets[name as keyof typeof targets];
  const dir = `/tmp/prof-${name}`; rmSync(dir, { recursive: true, force: true }); mkdirSync(dir);
  const s = await startServer({ name, args: ["--cpu-prof", `--cpu-prof-dir=${dir}`, ...t.args], env: cleanEnv(t.env), cwd: ROOT, logFile: `/tmp/prof-${name}.log` });
  await load({ url: s.url, path: "/whoAmI/api/json", connections: 50, durationS: 2, headers: t.headers, verify: () => true });
  const mark = Date.now();
  const c0 = s.cpuMs();
  const r = await load({ url: s.url, path: "/whoAmI/api/json", connections: 50, durationS: 6, headers: t.headers, verify: () => true });
  const cpu = s.cpuMs() - c0;
  await s.stop();
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"))!;
  const p = JSON.parse(readFileSync(join(dir, file), "utf8"));
  // keep only samples from the measured window (profile times are µs since some origin; align by end)
  let clock = p.startTime; const self = new Map<string, number>(); let total = 0;
  const nodes = new Map(p.nodes.map((n: any) => [n.id, n]));
  const endUs = p.endTime; const windowStart = endUs - (Date.now() - mark) * 1000;
  for (let i = 0; i < p.samples.length; i++) {
    clock += p.timeDeltas[i];
    if (clock < windowStart) continue;
    const n: any = nodes.get(p.samples[i]); const cf = n.callFrame;
    if (cf.functionName === "(idle)") continue;
    const key = `${cf.functionName || "(anon)"} ${cf.url.replace(/.*node_modules\//, "").replace(/.*\/dist\//, "dist/").replace(/^node:/, "")}:${cf.lineNumber}`;
    const d = p.timeDeltas[i]; self.set(key, (self.get(key) ?? 0) + d); total += d;
  }
  const reqs = r.totalRequests;
  console.log(`\n== ${name}: ${r.requestsPerSecond.toFixed(0)} req/s, ${(cpu * 1000 / reqs).toFixed(1)} µs CPU/req (proc), main-thread profile ${(total / reqs).toFixed(1)} µs/req`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 22)) console.log((v / reqs).toFixed(2).padStart(7), "µs", k);
}
