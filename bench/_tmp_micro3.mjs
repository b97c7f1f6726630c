import pino from "pino";
import { randomUUID } from "node:crypto";
import { surfaceOf } from "../dist/http/surface.js";
const logger = pino({ level: "warn" }, { write() {} });
function t(n, f) { const c = process.cpuUsage(); for (let i = 0; i < n; i++) f(i); const u = process.cpuUsage(c); return (u.user + u.system) * 1000 / n; }
const out = {};
for (let r = 0; r < 5; r++) for (const [name, f] of [
  ["pino child", (i) => logger.child({ reqId: "abc" + i })],
  ["randomUUID", () => randomUUID()],
  ["surfaceOf", () => surfaceOf("/whoAmI/api/json")],
  ["log.info noop obj", (i) => logger.info({ method: "GET", path: "/whoAmI/api/json".split("?",1)[0].slice(0,512), status: 200, ms: Math.round(1.5), user: "x" }, "request")],
  ["Date iso", (i) => new Date(1700000000000 + i).toISOString()],
]) (out[name] ??= []).push(t(200000, f));
for (const [k, v] of Object.entries(out)) { v.sort((a,b)=>a-b); console.log(k.padEnd(20), "ns", v[2].toFixed(0), "min", v[0].toFixed(0)); }
