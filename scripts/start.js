// `npm start`: build when the compiled output is missing or older than the sources, then serve.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The newest modification time under `dir`, tests left out (they are not built). */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (!entry.name.endsWith(".test.ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

// An incremental build rewrites only what changed, so compare with the newest output, not one file.
const entry = "dist/cli/main.js";
if (!existsSync(entry) || newestMtime("dist") < newestMtime("src")) {
  const build = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
// Run in this process so signals (SIGTERM, SIGINT) reach the server's graceful shutdown directly.
process.argv.splice(2, 0, "serve");
await import(new URL(`../${entry}`, import.meta.url).href);
