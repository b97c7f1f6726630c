import { loadConfig } from "../dist/config.js";
import { openStore } from "../dist/store/open.js";
import { buildServices } from "../dist/service/services.js";
import { createApp } from "../dist/http/app.js";
import { systemClock } from "../dist/core/clock.js";
import { systemRandom } from "../dist/core/random.js";
import { seedTokenValue } from "../dist/cli/dev-seed.js";
const config = loadConfig({ STEWARD_DATA_DIR: "/tmp/mb", STEWARD_LOG_LEVEL: "warn" });
const store = await openStore(config);
const services = await buildServices({ store, config, clock: systemClock, random: systemRandom });
const app = await createApp(services, { logStream: { write() {} } });
app.log.level = "warn";
const auth = "Basic " + Buffer.from(`seed-user-0000000:${seedTokenValue("abc", 0)}`).toString("base64");
const req = { authorization: auth, sessionCookie: undefined, ip: "127.0.0.1" };
async function timeit(name, n, f) { const c = process.cpuUsage(); for (let i = 0; i < n; i++) await f(); const u = process.cpuUsage(c); return (u.user + u.system) / n; }
const r = await services.authenticator.authenticate(req); console.log(r.principal.userId);
const res = {};
for (let round = 0; round < 6; round++) {
  for (const [name, f] of [
    ["authenticate(token)", () => services.authenticator.authenticate(req)],
    ["authenticate(none)", () => services.authenticator.authenticate({ authorization: undefined, sessionCookie: undefined, ip: "127.0.0.1" })],
    ["inject anon", () => app.inject({ method: "GET", url: "/whoAmI/api/json" })],
    ["inject token", () => app.inject({ method: "GET", url: "/whoAmI/api/json", headers: { authorization: auth } })],
  ]) { (res[name] ??= []).push(await timeit(name, name.startsWith("inject") ? 5000 : 50000, f)); }
}
for (const [k, v] of Object.entries(res)) { v.sort((a,b)=>a-b); console.log(k.padEnd(22), "median µs CPU", v[3].toFixed(2), "min", v[0].toFixed(2)); }
await app.close(); await services.usage.stop(); await store.close();
