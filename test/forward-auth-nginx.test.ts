/**
 * Forward auth end to end: a real nginx (`auth_request`) in front of a tiny upstream that echoes the
 * `X-Steward-User` header nginx hands it, with a real Steward server as the auth service. The nginx
 * configuration is the one docs/forward-auth.md recommends. Skipped only when nginx is not installed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";
import { SYSTEM_ACTOR } from "./support/harness.js";

const NGINX = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"].find((path) => existsSync(path));
if (!NGINX) {
  console.warn(
    "forward-auth-nginx.test.ts: SKIPPED — nginx is not installed (Debian: apt-get install nginx-light).",
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function nginxConf(dir: string, port: number, stewardPort: number, upstreamPort: number): string {
  // Running as root, nginx would start its worker as `nobody`, which cannot enter our private temp dir.
  const user = process.getuid?.() === 0 ? "user root;" : "";
  const protectedLocation = (path: string, verify: string) => `
    location ${path} {
      auth_request ${verify};
      auth_request_set $steward_user $upstream_http_x_steward_user;
      auth_request_set $steward_token $upstream_http_x_steward_token;
      auth_request_set $steward_scopes $upstream_http_x_steward_scopes;
      proxy_set_header X-Steward-User $steward_user;
      proxy_set_header X-Steward-Token $steward_token;
      proxy_set_header X-Steward-Scopes $steward_scopes;
      proxy_pass http://127.0.0.1:${upstreamPort};
    }`;
  const verifyLocation = (path: string, query: string) => `
    location = ${path} {
      internal;
      proxy_pass http://127.0.0.1:${stewardPort}/auth/verify${query};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Forwarded-For $remote_addr;
    }`;
  return `
daemon off;
${user}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    ${protectedLocation("/", "/_steward/verify")}
    ${protectedLocation("/deploy/", "/_steward/verify-deploy")}
    ${verifyLocation("/_steward/verify", "")}
    ${verifyLocation("/_steward/verify-deploy", "?scope=jenkins:api")}
  }
}
`;
}

describe.skipIf(!NGINX)("forward auth behind a real nginx", () => {
  let dir: string;
  let steward: RunningServer;
  let upstream: Server;
  let nginx: ChildProcess;
  let nginxOutput = "";
  let base: string;
  let upstreamHits = 0;
  let token: { id: string; value: string };
  let scoped: { id: string; value: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "steward-nginx-"));
    const config = loadConfig(
      {},
      {
        host: "127.0.0.1",
        port: 0,
        dataDir: join(dir, "data"),
        adminPassword: "admin-password-for-tests",
        passwordHashCost: 10,
        logLevel: "warn",
        trustProxy: ["127.0.0.1"],
      },
    );
    steward = await startServer(config, {
      print: () => {},
      logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
    });
    const alice = await steward.services.users.create(SYSTEM_ACTOR, {
      id: "alice",
      password: "alice-password",
    });
    const issued = await steward.services.tokens.create(SYSTEM_ACTOR, alice, { name: "nginx" });
    token = { id: issued.token.id, value: issued.value };
    const narrow = await steward.services.tokens.create(SYSTEM_ACTOR, alice, {
      name: "narrow",
      scopes: ["tokens:read"],
    });
    scoped = { id: narrow.token.id, value: narrow.value };

    upstream = createServer((req, res) => {
      upstreamHits++;
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          user: req.headers["x-steward-user"] ?? null,
          tokenId: req.headers["x-steward-token"] ?? null,
          scopes: req.headers["x-steward-scopes"] ?? null,
          method: req.method,
          url: req.url,
        }),
      );
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const upstreamAddress = upstream.address();
    const upstreamPort = typeof upstreamAddress === "object" && upstreamAddress ? upstreamAddress.port : 0;

    const port = await freePort();
    await mkdir(join(dir, "nginx"));
    const conf = join(dir, "nginx", "nginx.conf");
    await writeFile(
      conf,
      nginxConf(join(dir, "nginx"), port, Number(new URL(steward.url).port), upstreamPort),
    );
    nginx = spawn(NGINX!, ["-e", "stderr", "-p", join(dir, "nginx"), "-c", conf], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    nginx.stdout!.on("data", (chunk) => {
      nginxOutput += chunk;
    });
    nginx.stderr!.on("data", (chunk) => {
      nginxOutput += chunk;
    });
    base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (nginx.exitCode !== null) throw new Error(`nginx exited (${nginx.exitCode}):\n${nginxOutput}`);
      try {
        await fetch(`${base}/`);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`nginx did not start listening:\n${nginxOutput}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx.once("exit", resolve));
      nginx.kill("SIGTERM");
      await exited;
    }
    await new Promise((resolve) => upstream?.close(resolve));
    await steward?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers });

  it("refuses a request without a token (401) and never reaches the upstream", async () => {
    const hits = upstreamHits;
    const response = await get("/app");
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Basic realm="Steward"');
    expect(upstreamHits).toBe(hits);
  });

  it("lets a good token through, and the upstream sees who it is", async () => {
    const response = await get("/app/page?x=1", { authorization: `Bearer ${token.value}` });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ user: "alice", tokenId: token.id, url: "/app/page?x=1" });
    const viaBasic = await get("/app", {
      authorization: `Basic ${Buffer.from(`alice:${token.value}`).toString("base64")}`,
    });
    expect(viaBasic.status).toBe(200);
    expect(((await viaBasic.json()) as { user: string }).user).toBe("alice");
  });

  it("passes a POST with its body to the upstream after checking the token", async () => {
    const response = await get(
      "/app/form",
      { authorization: `Bearer ${token.value}` },
      { method: "POST", body: "a=b" },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ user: "alice", method: "POST" });
  });

  it("does not let a client forge X-Steward-User", async () => {
    expect((await get("/app", { "x-steward-user": "admin" })).status).toBe(401);
    const response = await get("/app", { "x-steward-user": "admin", authorization: `Bearer ${token.value}` });
    expect(((await response.json()) as { user: string }).user).toBe("alice");
  });

  it("enforces a scope required by the location (403 for a token without it)", async () => {
    expect((await get("/deploy/now", { authorization: `Bearer ${scoped.value}` })).status).toBe(403);
    const full = await get("/deploy/now", { authorization: `Bearer ${token.value}` });
    expect(full.status).toBe(200);
    expect(((await full.json()) as { scopes: string }).scopes).toContain("jenkins:api");
  });

  it("refuses a token as soon as it is revoked (401)", async () => {
    const owner = await steward.services.users.get("alice");
    const doomed = await steward.services.tokens.create(SYSTEM_ACTOR, owner, { name: "doomed" });
    expect((await get("/app", { authorization: `Bearer ${doomed.value}` })).status).toBe(200);
    await steward.services.tokens.revoke(SYSTEM_ACTOR, doomed.token);
    expect((await get("/app", { authorization: `Bearer ${doomed.value}` })).status).toBe(401);
  });
});
