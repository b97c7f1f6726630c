/**
 * HTTP fuzz, in memory: thousands of malformed requests (random methods, paths from the real route
 * table plus mutations, broken Authorization/Cookie/Content-Type headers, random and invalid UTF-8
 * bodies, NUL bytes, bodies over the limit, deeply nested JSON) → never a 5xx, never a crash, and
 * afterwards the server still answers a valid token request correctly. The long run over TCP, with raw
 * malformed HTTP too, is `npm run fuzz` (scripts/fuzz.ts).
 */
import type { HTTPMethods } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assertStillServes,
  FUZZ_BODY_LIMIT,
  parseRouteTree,
  type RouteInfo,
  runHttpFuzz,
  type Send,
} from "./fuzz/http-fuzz.js";
import { createTestApp, type TestApp } from "./support/harness.js";

const RUNS = Number(process.env.FUZZ_CI_RUNS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? 20260101);
const ADMIN_PASSWORD = "admin-fuzz-password";

/** Headers Node keeps only once (the first wins); the others are joined as Node joins them. */
const SINGLE = new Set(["authorization", "content-type", "content-length", "user-agent", "referer", "host"]);

function injectSender(t: TestApp): Send {
  return async (request) => {
    const headers: Record<string, string> = {};
    for (const [rawName, value] of request.headers) {
      const name = rawName.toLowerCase();
      if (!(name in headers)) headers[name] = value;
      else if (!SINGLE.has(name)) headers[name] += name === "cookie" ? `; ${value}` : `, ${value}`;
    }
    const response = await t.app.inject({
      method: request.method as HTTPMethods,
      url: request.url,
      headers,
      ...(request.body ? { payload: request.body } : {}),
      remoteAddress: request.remote,
    });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  };
}

let t: TestApp;
let routes: RouteInfo[];
const unhandled: unknown[] = [];
const onUnhandled = (error: unknown) => unhandled.push(error);

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
  t = await createTestApp({
    config: {
      bodyLimit: FUZZ_BODY_LIMIT,
      // The fuzz comes from 16 addresses and may hit the per-address limit; the per-user limit would
      // lock out the fuzz session's own sign-ins (it is tested in hardening-bruteforce).
      authFailuresPerUser: 1_000_000,
      // X-Forwarded-* from 127.0.0.1 is honoured, so garbage in them reaches request.ip.
      trustProxy: ["127.0.0.1"],
    },
  });
  await t.addUser("admin", ADMIN_PASSWORD, { admin: true });
  routes = parseRouteTree(t.app.printRoutes({ commonPrefix: false }));
});

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
  await t?.close();
});

describe("HTTP fuzz (in memory)", () => {
  it("reads the real route table", () => {
    const paths = routes.map((r) => r.path);
    expect(paths).toContain("/me/descriptorByName/jenkins.security.ApiTokenProperty/:method");
    expect(paths).toContain("/crumbIssuer/api/xml");
    expect(paths).toContain("/j_spring_security_check");
    expect(routes.length).toBeGreaterThan(15);
  });

  it(`answers ${RUNS} malformed requests without a 5xx or a crash, then still serves tokens`, async () => {
    const send = injectSender(t);
    const { stats, session } = await runHttpFuzz({
      send,
      routes,
      runs: RUNS,
      seed: SEED,
      adminPassword: ADMIN_PASSWORD,
      refreshEvery: 300,
      concurrency: 4,
    });
    const summary = {
      requests: stats.requests,
      serverErrors: stats.serverErrors,
      noAnswer: stats.noAnswer,
      byStatus: Object.fromEntries([...stats.byStatus].sort(([a], [b]) => a - b)),
    };
    console.log(`HTTP fuzz (seed ${SEED}):`, JSON.stringify(summary));
    expect(stats.failures.slice(0, 5)).toEqual([]);
    expect(stats.serverErrors).toBe(0);
    expect(unhandled).toEqual([]);
    // Every registered route was reached, and the fuzz got past authentication as well as being refused.
    const untouched = routes.filter((r) => !stats.byRoute.has(r.path)).map((r) => r.path);
    expect(untouched).toEqual([]);
    for (const status of [200, 400, 401, 403, 404, 413, 415])
      expect(stats.byStatus.get(status) ?? 0).toBeGreaterThan(0);
    await assertStillServes(session, send);
  }, 240_000);
});
