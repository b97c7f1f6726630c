import { join } from "node:path";
import { load } from "./lib/load.js";
import { cleanEnv, startServer } from "./lib/processes.js";

const ROOT = process.cwd();
for (const name of ["bare-http.mjs", "bare-fastify.mjs"]) {
  const s = await startServer({
    name,
    args: [join(ROOT, "bench/servers", name)],
    env: cleanEnv({}),
    cwd: ROOT,
    logFile: `/tmp/${name}.log`,
  });
  for (let i = 0; i < 2; i++) {
    await s.probe();
    const c0 = s.cpuMs();
    const r = await load({
      url: s.url,
      path: "/whoAmI/api/json",
      connections: 50,
      durationS: 3,
      verify: (b) => b.includes("authenticated"),
    });
    const cpu = s.cpuMs() - c0;
    const p = await s.probe();
    console.log(
      name,
      r.requestsPerSecond.toFixed(0),
      "p99",
      r.latencyP99Ms,
      "cpu us/req",
      ((cpu * 1000) / r.totalRequests).toFixed(0),
      "gc",
      p.gc.count,
      p.gc.totalMs.toFixed(0),
      "elu",
      p.eventLoopUtilization.toFixed(2),
      "lg",
      r.loadGeneratorCpu.toFixed(2),
    );
  }
  await s.stop();
}
