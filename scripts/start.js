// `npm start`: build when the compiled output is missing or older than the sources, then serve.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const entry = "dist/cli/main.js";
if (!existsSync(entry) || statSync(entry).mtimeMs < newestMtime("src")) {
  const build = spawnSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
// Run in this process so signals (SIGTERM, SIGINT) reach the server's graceful shutdown directly.
process.argv.splice(2, 0, "serve");
await import(new URL(`../${entry}`, import.meta.url).href);
