import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_PASSWORD,
  cleanEnv,
  REPO_ROOT,
  type ServerProcess,
  startServerProcess,
} from "./support/server-process.js";

/** The README's copy-paste curl session, exactly as printed there, with only the URL and password filled in. */
function readmeRecipe(): string {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### The Jenkins token recipe"));
  const match = /```sh\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error("README has no recipe block");
  return match[1]!;
}

let server: ServerProcess;
beforeAll(async () => {
  server = await startServerProcess();
}, 60_000);
afterAll(async () => server?.stop());

describe("the README's curl recipe", () => {
  it("runs verbatim against Steward: token generated, used, revoked → 401", () => {
    const script = readmeRecipe()
      .replace(/^JENKINS_URL=.*$/m, `JENKINS_URL=${server.url}`)
      .replace(/^PASSWORD=.*$/m, `PASSWORD='${ADMIN_PASSWORD}'`);
    expect(script).toContain("generateNewToken");
    const result = spawnSync("bash", ["-e", "-c", script], {
      env: cleanEnv(),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toBe("admin");
    expect(JSON.parse(lines[1]!)).toMatchObject({ name: "admin", authenticated: true });
    expect(lines.at(-1)).toBe("401");
  });
});
