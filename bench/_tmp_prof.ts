import { join } from "node:path";
import { seedTokenValue } from "../src/cli/dev-seed.js";
import { load, send, sequential } from "./lib/load.js";
import { cleanEnv, startServer } from "./lib/processes.js";

const ROOT = process.cwd();
const mode = process.argv[2] ?? "hit";
const s = await startServer({
  name: "steward",
  args: ["--cpu-prof", "--cpu-prof-dir=/tmp/prof", join(ROOT, "dist/cli/main.js"), "serve"],
  env: cleanEnv({ STEWARD_PORT: "0", STEWARD_DATA_DIR: "/tmp/seedtest", STEWARD_LOG_LEVEL: "warn" }),
  cwd: ROOT,
  logFile: `/tmp/prof-steward.log`,
});
console.log("startup", s.startupMs.toFixed(0), "cpu", s.cpuMs());
const tok = seedTokenValue("abc", 0);
const auth = { authorization: "Basic " + Buffer.from(`seed-user-0000000:${tok}`).toString("base64") };
const c0 = s.cpuMs();
let n = 0;
if (mode === "hit" || mode === "anon") {
  const r = await load({
    url: s.url,
    path: "/whoAmI/api/json",
    connections: 50,
    durationS: 8,
    headers: mode === "hit" ? auth : {},
    verify: (b) => b.includes(mode === "hit" ? '"authenticated":true' : "anonymous"),
  });
  n = r.totalRequests;
  console.log(mode, r.requestsPerSecond.toFixed(0), r.mismatches);
} else {
  const r = await load({
    url: s.url,
    path: "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken",
    method: "POST",
    connections: 10,
    durationS: 8,
    headers: auth,
    verify: (b) => b.includes('"ok"'),
  });
  n = r.totalRequests;
  console.log(mode, r.requestsPerSecond.toFixed(0), r.mismatches, r.non2xx);
}
console.log("cpu us/req", (((s.cpuMs() - c0) * 1000) / n).toFixed(0));
await s.stop();
