import { readdirSync, readFileSync } from "node:fs";

const dir = "/tmp/prof";
const file = readdirSync(dir)
  .filter((f) => f.endsWith(".cpuprofile"))
  .sort()
  .at(-1);
const p = JSON.parse(readFileSync(`${dir}/${file}`, "utf8"));
const self = new Map();
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const skip = Number(process.argv[3] ?? 0) * 1000;
let clock = 0;
const dt = new Map();
for (let i = 0; i < p.samples.length; i++) {
  clock += p.timeDeltas[i] ?? 0;
  if (clock < skip) continue;
  dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
}
let total = 0;
for (const n of p.nodes) {
  const t = dt.get(n.id) ?? 0;
  if (n.callFrame.functionName === "(idle)") continue;
  total += t;
  const cf = n.callFrame;
  const key = `${cf.functionName || "(anon)"} ${cf.url.replace(/.*node_modules\//, "nm/").replace(/.*\/dist\//, "dist/")}:${cf.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + t);
}
// inclusive by url-package
const pkg = new Map();
for (const n of p.nodes) {
  const t = dt.get(n.id) ?? 0;
  const u = n.callFrame.url;
  const k = u.includes("node_modules/")
    ? u.replace(/.*node_modules\/((@[^/]+\/)?[^/]+).*/, "$1")
    : u.includes("/dist/")
      ? "steward:" + u.replace(/.*\/dist\//, "")
      : u || n.callFrame.functionName;
  pkg.set(k, (pkg.get(k) ?? 0) + t);
}
console.log("total ms", (total / 1000).toFixed(0));
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, +process.argv[2] || 35))
  console.log(((v / total) * 100).toFixed(1).padStart(5), k);
console.log("--- self by module");
for (const [k, v] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(((v / total) * 100).toFixed(1).padStart(5), k);
