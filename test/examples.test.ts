/**
 * The example apps in examples/ run as a user would run them (`node examples/<app>.mjs`, importing the
 * built package by its name) against a data dir prepared with the real CLI, and answer a good token,
 * a bad one and a revoked one as they should. Needs a built `dist/` (npm test builds first).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childEnv, makeTempDir, REPO_ROOT, removeDir, runCli } from "./support/server-process.js";

const LISTENING = /Example app listening on (http:\/\/\S+)/;

interface ExampleApp {
  url: string;
  child: ChildProcess;
  output: () => string;
}

function startExample(file: string, dataDir: string): Promise<ExampleApp> {
  const child = spawn(process.execPath, [join(REPO_ROOT, "examples", file)], {
    cwd: REPO_ROOT,
    env: childEnv(dataDir, { PORT: "0" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${file} did not start within 20 s:\n${output}`));
    }, 20_000);
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      const match = LISTENING.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1]!, child, output: () => output });
      }
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before listening:\n${output}`));
    });
  });
}

async function cliJson<T>(args: string[], dataDir: string, input?: string): Promise<T> {
  const result = await runCli([...args, "--json"], { dataDir, input });
  if (result.code !== 0)
    throw new Error(`steward ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

describe.each(["express-app.mjs", "fastify-app.mjs"])("examples/%s", (file) => {
  let dataDir: string;
  let app: ExampleApp;
  let good: string;
  let doomed: { id: string; value: string };

  beforeAll(async () => {
    dataDir = makeTempDir("steward-example-");
    await cliJson(["user", "add", "alice", "--password-stdin"], dataDir, "alice-password-123\n");
    good = (await cliJson<{ value: string }>(["token", "create", "alice", "--name", "example"], dataDir))
      .value;
    const issued = await cliJson<{ token: { id: string }; value: string }>(
      ["token", "create", "alice", "--name", "doomed"],
      dataDir,
    );
    doomed = { id: issued.token.id, value: issued.value };
    app = await startExample(file, dataDir);
  });

  afterAll(async () => {
    if (app && app.child.exitCode === null) {
      app.child.kill("SIGKILL");
      await new Promise((resolve) => app.child.once("exit", resolve));
    }
    removeDir(dataDir);
  });

  const call = (path: string, authorization?: string) =>
    fetch(`${app.url}${path}`, { headers: authorization ? { authorization } : {} });

  it("answers a good token with its owner (Bearer or Basic user:token)", async () => {
    const response = await call("/hello", `Bearer ${good}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ hello: "alice", scopes: "all" });
    const basic = await call("/hello", `Basic ${Buffer.from(`alice:${good}`).toString("base64")}`);
    expect(basic.status).toBe(200);
    expect(await (await call("/public", `Bearer ${good}`)).json()).toEqual({ hello: "alice" });
  });

  it("refuses a bad or missing token with 401 on protected routes only", async () => {
    const bad = await call("/hello", `Bearer ${good.slice(0, -2)}xx`);
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toContain("Bearer");
    expect(await bad.json()).toMatchObject({ error: { code: "unauthenticated" } });
    expect((await call("/hello")).status).toBe(401);
    expect(await (await call("/public", "Bearer nope")).json()).toEqual({ hello: "stranger" });
  });

  it("refuses a token revoked by another process (the CLI) within moments", async () => {
    expect((await call("/hello", `Bearer ${doomed.value}`)).status).toBe(200);
    await cliJson(["token", "revoke", doomed.id], dataDir);
    const deadline = Date.now() + 3000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      status = (await call("/hello", `Bearer ${doomed.value}`)).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(401);
  });

  it("writes its usage statistics when stopped", async () => {
    const exited = new Promise<number | null>((resolve) => app.child.once("exit", resolve));
    app.child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const tokens = await cliJson<{ name: string; useCount: number }[]>(["token", "list", "alice"], dataDir);
    // Three uses of "example" above: /hello twice and /public once.
    expect(tokens.find((t) => t.name === "example")?.useCount).toBe(3);
  });
});
