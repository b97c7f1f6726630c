/**
 * The hot lane (src/http/hot-lane.ts) answers `GET /whoAmI/api/json` and `/auth/verify` for cached tokens
 * before Fastify routes them. Over real TCP (the lane sits in the HTTP server, which `inject` bypasses):
 * its answers are the same as Fastify's for the same request, and it never answers what Fastify would
 * refuse — a revoked, expired, wrong-owner or address-refused token fails at once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { ManualClock } from "../src/core/clock.js";
import { HotLane } from "../src/http/hot-lane.js";
import { type RunningServer, startServer } from "../src/server.js";
import type { UserRecord } from "../src/store/store.js";
import { basic, mistyped, SYSTEM_ACTOR } from "./support/harness.js";

/** Headers that differ between any two answers, or that only a socket adds. */
const PER_ANSWER = new Set(["date", "connection", "keep-alive"]);

let dataDir: string;
let server: RunningServer;
let logLines: Record<string, unknown>[] = [];
const clock = new ManualClock(Date.UTC(2026, 10, 1, 12));
let alice: UserRecord;
let token: { id: string; value: string };

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function comparable(headers: Iterable<[string, string]>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of headers)
    if (!PER_ANSWER.has(name.toLowerCase())) kept[name.toLowerCase()] = value;
  return kept;
}

/** Over TCP: the lane may answer. */
async function viaServer(
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, { method, headers });
  return { status: response.status, headers: comparable(response.headers), body: await response.text() };
}

/** Through Fastify's routing only (`inject` never reaches the HTTP server, so never the lane). */
async function viaFastify(
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<Answer> {
  const response = await server.app.inject({ method: method as "GET", url: path, headers });
  const headerPairs = Object.entries(response.headers).map(
    ([name, value]) => [name, String(value)] as [string, string],
  );
  return { status: response.statusCode, headers: comparable(headerPairs), body: response.body };
}

/** Calls `path` over TCP and says whether the lane answered it. */
async function laneAnswered(path: string, headers: Record<string, string>, method = "GET") {
  const before = server.app.hotLane.answered;
  const answer = await viaServer(path, headers, method);
  return { answer, byLane: server.app.hotLane.answered === before + 1 };
}

async function newToken(request: Parameters<RunningServer["services"]["tokens"]["create"]>[2] = {}) {
  const issued = await server.services.tokens.create(SYSTEM_ACTOR, alice, { name: "lane", ...request });
  return { id: issued.token.id, value: issued.value };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "steward-hot-lane-"));
  const config = loadConfig(
    {},
    {
      host: "127.0.0.1",
      port: 0,
      dataDir,
      adminPassword: "admin-password-for-tests",
      passwordHashCost: 10,
      logLevel: "info",
      trustProxy: ["127.0.0.1"],
      usageFlushMs: 600_000,
      // The differential fuzz sends every refused request twice: no limit may turn the second into a 429.
      authFailuresPerIp: 1_000_000,
      authFailuresPerUser: 1_000_000,
    },
  );
  server = await startServer(config, {
    clock,
    print: () => {},
    logStream: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n")) if (line) logLines.push(JSON.parse(line));
        done();
      },
    }),
  });
  alice = await server.services.users.create(SYSTEM_ACTOR, { id: "alice", password: "alice-password" });
  token = await newToken();
});

afterAll(async () => {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the hot lane answers as Fastify does", () => {
  it("whoAmI with a token: the first call fills the cache through Fastify, the next ones take the lane", async () => {
    const headers = { authorization: basic("alice", token.value) };
    const first = await laneAnswered("/whoAmI/api/json", headers);
    const second = await laneAnswered("/whoAmI/api/json", headers);
    expect(first.byLane).toBe(false);
    expect(second.byLane).toBe(true);
    expect(second.answer).toEqual(first.answer);
    expect(second.answer).toEqual(await viaFastify("/whoAmI/api/json", headers));
    expect(JSON.parse(second.answer.body)).toMatchObject({ name: "alice", authenticated: true });
    expect(second.answer.headers["x-jenkins"]).toBeDefined();
    expect(second.answer.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  });

  it("whoAmI without credentials (anonymous)", async () => {
    const lane = await laneAnswered("/whoAmI/api/json", {});
    expect(lane.byLane).toBe(true);
    expect(lane.answer).toEqual(await viaFastify("/whoAmI/api/json"));
    expect(JSON.parse(lane.answer.body)).toMatchObject({ anonymous: true, name: "anonymous" });
  });

  it("an expiring token's answers carry Steward-Token-Expires", async () => {
    const expiring = await newToken({ expiresInSeconds: 3 * 86_400 });
    const headers = { authorization: basic("alice", expiring.value) };
    await viaServer("/whoAmI/api/json", headers);
    const lane = await laneAnswered("/whoAmI/api/json", headers);
    expect(lane.byLane).toBe(true);
    expect(lane.answer.headers["steward-token-expires"]).toBe(
      new Date(clock.now() + 3 * 86_400_000).toISOString(),
    );
    expect(lane.answer).toEqual(await viaFastify("/whoAmI/api/json", headers));
  });

  it.each([
    ["Bearer", () => `Bearer ${token.value}`],
    ["Basic", () => basic("alice", token.value)],
  ])("forward auth with a %s token", async (_scheme, authorization) => {
    const headers = { authorization: authorization(), "x-original-uri": "/app/page?secret=1" };
    await viaServer("/auth/verify", headers);
    const lane = await laneAnswered("/auth/verify", headers);
    expect(lane.byLane).toBe(true);
    expect(lane.answer).toEqual(await viaFastify("/auth/verify", headers));
    expect(lane.answer.headers["x-steward-user"]).toBe("alice");
    expect(lane.answer.headers["x-steward-token"]).toBe(token.id);
    expect(lane.answer.headers["cache-control"]).toBe("no-store");
  });

  it("forward auth with plain ?scope= lists: answered when the token has every scope, else explained by Fastify", async () => {
    const narrow = await newToken({ scopes: ["tokens:read", "jenkins:api"] });
    const headers = { authorization: `Bearer ${narrow.value}` };
    await viaServer("/auth/verify", headers);
    const held = await laneAnswered("/auth/verify?scope=jenkins:api,tokens:read", headers);
    expect(held.byLane).toBe(true);
    expect(held.answer).toEqual(await viaFastify("/auth/verify?scope=jenkins:api,tokens:read", headers));
    expect(held.answer.headers["x-steward-scopes"]).toBe("tokens:read,jenkins:api");
    const missing = await laneAnswered("/auth/verify?scope=tokens:read,audit:read", headers);
    expect(missing.byLane).toBe(false);
    expect(missing.answer.status).toBe(403);
    expect(missing.answer.body).toContain("audit:read");
    const unknown = await laneAnswered("/auth/verify?scope=tokens:raed", headers);
    expect(unknown.byLane).toBe(false);
    expect(unknown.answer.status).toBe(400);
  });

  it("logs the same one line per request, without the credential", async () => {
    const headers = { authorization: `Bearer ${token.value}`, "x-original-uri": "/app/page?secret=1" };
    await viaServer("/auth/verify", headers);
    logLines = [];
    const lane = await laneAnswered("/auth/verify", headers);
    expect(lane.byLane).toBe(true);
    await viaFastify("/auth/verify?scope=jenkins:api", headers);
    expect(logLines).toHaveLength(2);
    const [byLane, byFastify] = logLines;
    const { reqId: laneId, ms: _laneMs, time: _t1, ...laneLine } = byLane!;
    const { reqId: fastifyId, ms: _fastifyMs, time: _t2, ...fastifyLine } = byFastify!;
    expect(laneLine).toEqual({ ...fastifyLine, path: "/auth/verify" });
    expect(laneLine).toMatchObject({ original: "? /app/page", user: "alice", status: 200, msg: "request" });
    expect(laneId).not.toBe(fastifyId);
    expect(JSON.stringify(logLines)).not.toContain(token.value);
  });

  it("leaves to Fastify what it does not answer: queries, cookies, bodies, other methods", async () => {
    const headers = { authorization: basic("alice", token.value) };
    await viaServer("/whoAmI/api/json", headers);
    for (const [path, extra, method] of [
      ["/whoAmI/api/json?tree=name", {}, "GET"],
      ["/whoAmI/api/json", { cookie: "JSESSIONID.steward=nothing" }, "GET"],
      ["/whoAmI/api/json", {}, "HEAD"],
      ["/auth/verify?scope=tokens%3Aread", {}, "GET"],
      ["/auth/verify?scope=tokens:read&x=1", {}, "GET"],
    ] as const) {
      const outcome = await laneAnswered(path, { ...headers, ...extra }, method);
      expect(outcome.byLane, `${method} ${path}`).toBe(false);
      expect(outcome.answer.status).toBe(200);
    }
    const posted = await fetch(`${server.url}/auth/verify`, { method: "POST", headers, body: "x=1" });
    expect(posted.status).toBe(200);
  });
});

describe("the hot lane refuses nothing and accepts nothing Fastify would not", () => {
  it("a revoked token fails on the very next request", async () => {
    const doomed = await newToken();
    const headers = { authorization: basic("alice", doomed.value) };
    await viaServer("/whoAmI/api/json", headers);
    expect((await laneAnswered("/whoAmI/api/json", headers)).byLane).toBe(true);
    const record = await server.services.tokens.visibleToken(SYSTEM_ACTOR, doomed.id);
    await server.services.tokens.revoke(SYSTEM_ACTOR, record);
    const after = await laneAnswered("/whoAmI/api/json", headers);
    expect(after.byLane).toBe(false);
    expect(after.answer.status).toBe(401);
    const verify = await laneAnswered("/auth/verify", { authorization: `Bearer ${doomed.value}` });
    expect(verify.answer.status).toBe(401);
  });

  it("an expired token fails the moment it expires", async () => {
    const brief = await newToken({ expiresInSeconds: 86_400 });
    const headers = { authorization: basic("alice", brief.value) };
    await viaServer("/whoAmI/api/json", headers);
    expect((await laneAnswered("/whoAmI/api/json", headers)).byLane).toBe(true);
    clock.advance(86_400_000);
    const after = await laneAnswered("/whoAmI/api/json", headers);
    expect(after.byLane).toBe(false);
    expect(after.answer.status).toBe(401);
  });

  it("a token sent with another user's name is refused", async () => {
    await server.services.users.create(SYSTEM_ACTOR, { id: "bob", password: "bob-password" });
    const outcome = await laneAnswered("/whoAmI/api/json", { authorization: basic("bob", token.value) });
    expect(outcome.byLane).toBe(false);
    expect(outcome.answer.status).toBe(401);
  });

  it("an allow-list sees the client address Fastify sees (through a trusted proxy)", async () => {
    const fenced = await newToken({ allowedCidrs: ["10.1.2.0/24"] });
    const headers = { authorization: basic("alice", fenced.value) };
    const allowed = { ...headers, "x-forwarded-for": "10.1.2.3" };
    expect((await viaServer("/whoAmI/api/json", allowed)).status).toBe(200);
    expect((await laneAnswered("/whoAmI/api/json", allowed)).byLane).toBe(true);
    const elsewhere = await laneAnswered("/whoAmI/api/json", { ...headers, "x-forwarded-for": "10.9.9.9" });
    expect(elsewhere.byLane).toBe(false);
    expect(elsewhere.answer.status).toBe(403);
    const direct = await laneAnswered("/whoAmI/api/json", headers);
    expect(direct.byLane).toBe(false);
    expect(direct.answer.status).toBe(403);
  });

  it("a disabled owner's tokens stop at once", async () => {
    const carol = await server.services.users.create(SYSTEM_ACTOR, {
      id: "carol",
      password: "carol-password",
    });
    const issued = await server.services.tokens.create(SYSTEM_ACTOR, carol, { name: "carol" });
    const headers = { authorization: basic("carol", issued.value) };
    await viaServer("/whoAmI/api/json", headers);
    expect((await laneAnswered("/whoAmI/api/json", headers)).byLane).toBe(true);
    await server.services.users.update(SYSTEM_ACTOR, "carol", { disabled: true });
    const after = await laneAnswered("/whoAmI/api/json", headers);
    expect(after.byLane).toBe(false);
    expect(after.answer.status).toBe(401);
  });

  it("counts each use it answers, like any other request", async () => {
    const counted = await newToken();
    const headers = { authorization: basic("alice", counted.value) };
    for (let i = 0; i < 5; i++) await viaServer("/whoAmI/api/json", headers);
    await server.services.usage.flush();
    const record = await server.services.tokens.visibleToken(SYSTEM_ACTOR, counted.id);
    expect(record.useCount).toBe(5);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^steward_hot_lane_answers_total [1-9]\d*$/m);
  });

  it("/metrics counts requests by status class and authentications by method and outcome, lane answers included", async () => {
    const read = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const value = (series: string) => {
        const line = text.split("\n").find((l) => l.startsWith(`${series} `));
        return line ? Number(line.slice(series.length + 1)) : 0;
      };
      return {
        ok: value('steward_http_requests_total{code="2xx"}'),
        clientErrors: value('steward_http_requests_total{code="4xx"}'),
        tokens: value('steward_auth_total{method="token",outcome="success"}'),
        refusedBasic: value('steward_auth_total{method="basic",outcome="refused"}'),
        refusedForwardAuth: value('steward_auth_total{method="token",outcome="refused"}'),
      };
    };
    const fresh = await newToken();
    const headers = { authorization: basic("alice", fresh.value) };
    const before = await read();
    await viaServer("/whoAmI/api/json", headers); // a miss: through Fastify, now cached
    expect((await laneAnswered("/whoAmI/api/json", headers)).byLane).toBe(true);
    await viaServer("/me/api/json", headers);
    await viaServer("/me/api/json", { authorization: basic("alice", "stw_wrong") });
    await viaServer("/auth/verify", { authorization: "Bearer stw_wrong" });
    const after = await read();
    // The /metrics request that read `before` is counted too (2xx).
    expect(after.ok - before.ok).toBe(4);
    expect(after.clientErrors - before.clientErrors).toBe(2);
    expect(after.tokens - before.tokens).toBe(3);
    expect(after.refusedBasic - before.refusedBasic).toBe(1);
    expect(after.refusedForwardAuth - before.refusedForwardAuth).toBe(1);
  });
});

describe("differential fuzz: over TCP (the lane may answer) and through Fastify alone, the same answer", () => {
  it("for random mixes of paths, queries, methods, credentials, cookies and client addresses", async () => {
    const scoped = await newToken({ scopes: ["tokens:read"] });
    const fenced = await newToken({ allowedCidrs: ["10.1.2.0/24"] });
    const expiring = await newToken({ expiresInSeconds: 7 * 86_400 });
    const basicOf = (user: string, value: string) => basic(user, value);
    const credentials = fc.constantFrom<(() => string | undefined)[]>(
      () => undefined,
      () => basicOf("alice", token.value),
      () => basicOf("ALICE", token.value),
      () => basicOf("bob", token.value),
      () => basicOf("alice", mistyped(token.value)),
      () => basicOf("alice", scoped.value),
      () => basicOf("alice", fenced.value),
      () => basicOf("alice", expiring.value),
      () => basicOf("alice", "alice-password"),
      () => `Bearer ${token.value}`,
      () => `Bearer ${scoped.value}`,
      () => `bearer ${fenced.value}`,
      () => "Bearer not-a-token",
      () => `basic ${Buffer.from(`alice:${token.value}`).toString("base64")}`,
      () => "Basic !!!",
      () => "Basic",
      () => "Negotiate abc",
    );
    const paths = fc.constantFrom(
      "/whoAmI/api/json",
      "/whoAmI/api/json?tree=name",
      "/whoAmI/api/json/",
      "/auth/verify",
      "/auth/verify?scope=jenkins:api",
      "/auth/verify?scope=tokens:read",
      "/auth/verify?scope=tokens:read,audit:read",
      "/auth/verify?scope=jenkins:api,,tokens:read",
      "/auth/verify?scope=nonsense",
      "/auth/verify?scope=",
      "/auth/verifyx",
    );
    const request = fc.record({
      path: paths,
      method: fc.constantFrom("GET", "GET", "POST", "HEAD"),
      authorization: credentials,
      cookie: fc.constantFrom(undefined, "JSESSIONID.steward=forged"),
      forwardedFor: fc.constantFrom(undefined, "10.1.2.3", "192.0.2.7", "not an address"),
    });
    let laneAnswers = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ path, method, authorization, cookie, forwardedFor }) => {
        const headers: Record<string, string> = {};
        const value = authorization();
        if (value !== undefined) headers.authorization = value;
        if (cookie !== undefined) headers.cookie = cookie;
        if (forwardedFor !== undefined) headers["x-forwarded-for"] = forwardedFor;
        const before = server.app.hotLane.answered;
        const overTcp = await viaServer(path, headers, method);
        laneAnswers += server.app.hotLane.answered - before;
        const throughFastify = await viaFastify(path, headers, method);
        expect(overTcp.status).toBeLessThan(500);
        expect(overTcp).toEqual(throughFastify);
      }),
      { numRuns: Number(process.env.FUZZ_PROPERTY_RUNS ?? 300), seed: 20261124 },
    );
    // The property held for answers the lane gave, not only for requests it left to Fastify.
    expect(laneAnswers).toBeGreaterThan(20);
  }, 60_000);
});

describe("a fault in the lane", () => {
  it("never takes the server down: the request goes to the full pipeline and the fault is reported", async () => {
    const faults: unknown[] = [];
    class FaultyLane extends HotLane {
      override answer(): boolean {
        throw new Error("lane fault");
      }
    }
    const lane = new FaultyLane(server.services.verifier, {
      metrics: server.services.metrics,
      trustProxy: [],
      log: null,
      nextRequestId: () => "id",
      onError: (error) => faults.push(error),
    });
    const fallback = createServer((_request, response) => response.end("full pipeline"));
    const factory = lane.serverFactory((request, response) => fallback.emit("request", request, response), {
      keepAliveTimeout: 1_000,
    });
    await new Promise<void>((resolve) => factory.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = factory.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/whoAmI/api/json`);
      expect(await response.text()).toBe("full pipeline");
      expect(faults).toHaveLength(1);
      expect(String(faults[0])).toContain("lane fault");
    } finally {
      factory.closeAllConnections();
      await new Promise((resolve) => factory.close(resolve));
    }
  });
});
