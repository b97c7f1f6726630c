import { parseBasicHeader } from "../dist/auth/basic-header.js";
import { parseToken } from "../dist/core/token-format.js";
import { sha256Hex } from "../dist/core/secrets.js";
import { seedTokenValue } from "../dist/cli/dev-seed.js";
import { LRUCache } from "lru-cache";
const tok = seedTokenValue("abc", 0);
const auth = "Basic " + Buffer.from(`seed-user-0000000:${tok}`).toString("base64");
const cache = new LRUCache({ max: 10000, ttl: 60000, ttlAutopurge: false });
const h = sha256Hex(tok); cache.set(h, { a: 1 });
const m = new Map([[h, { a: 1 }]]);
function t(name, n, f) { let x; const c = process.cpuUsage(); for (let i = 0; i < n; i++) x = f(); const u = process.cpuUsage(c); return [name, (u.user + u.system) * 1000 / n]; }
const out = {};
for (let r = 0; r < 5; r++) for (const [name, f] of [
  ["parseBasicHeader", () => parseBasicHeader(auth)],
  ["parseToken (crc+sha)", () => parseToken(tok)],
  ["sha256Hex", () => sha256Hex(tok)],
  ["lru.get", () => cache.get(h)],
  ["map.get", () => m.get(h)],
  ["toLowerCase", () => "seed-user-0000000".toLowerCase()],
  ["Date.now", () => Date.now()],
]) { const [k, ns] = t(name, 300000, f); (out[k] ??= []).push(ns); }
for (const [k, v] of Object.entries(out)) { v.sort((a,b)=>a-b); console.log(k.padEnd(24), "ns", v[2].toFixed(0), "min", v[0].toFixed(0)); }
