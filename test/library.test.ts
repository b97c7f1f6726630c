/** The library (SPEC §8): `createSteward` in-process, its verifier, Fastify plugin and Express middleware. */

import { mkdtemp, rm } from "node:fs/promises";
import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StewardError } from "../src/core/errors.js";
import { systemRandom } from "../src/core/random.js";
import { generateStewardToken } from "../src/core/token-format.js";
import { createSteward, operatorActor, parseToken, type Steward } from "../src/index.js";
import { mistyped } from "./support/harness.js";
import { startPostgres } from "./support/postgres.js";

let dir: string;
let steward: Steward;
let good: { id: string; value: string };
let jenkins: { id: string; value: string };
let fenced: { id: string; value: string };

const basicOf = (user: string, secret: string) =>
  `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;

/** Runs an Express-style middleware on a request with `authorization`: whether it called next, and its answer. */
async function run(middleware: ReturnType<Steward["expressMiddleware"]>, authorization?: string) {
  const req: Parameters<typeof middleware>[0] = request(authorization);
  const res = { statusCode: 200, headers: {} as Record<string, string>, body: "" };
  const nextCalled = await new Promise<boolean>((resolve, reject) => {
    middleware(
      req,
      {
        get statusCode() {
          return res.statusCode;
        },
        set statusCode(code: number) {
          res.statusCode = code;
        },
        setHeader: (name: string, value: string) => {
          res.headers[name] = value;
        },
        end: (body?: string) => {
          res.body = body ?? "";
          resolve(false);
        },
      },
      (error?: unknown) => (error ? reject(error) : resolve(true)),
    );
  });
  return { nextCalled, principal: req.stewardPrincipal, ...res };
}

/** A fresh request object each time: the library checks a request once, however many layers ask. */
function request(authorization?: string, ip = "127.0.0.1") {
  return { headers: { authorization }, socket: { remoteAddress: ip } };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "steward-library-"));
  steward = await createSteward({ dataDir: dir, config: { passwordHashCost: 10, authFailuresPerIp: 1000 } });
  const actor = operatorActor("library-test");
  const alice = await steward.services.users.create(actor, { id: "alice", password: "alice-password" });
  const issue = async (options: Parameters<Steward["services"]["tokens"]["create"]>[2]) => {
    const issued = await steward.services.tokens.create(actor, alice, options);
    return { id: issued.token.id, value: issued.value };
  };
  good = await issue({ name: "good" });
  jenkins = await issue({ name: "jenkins", format: "jenkins" });
  fenced = await issue({ name: "fenced", allowedCidrs: ["10.0.0.0/8"] });
});

afterAll(async () => {
  await steward.close();
  await rm(dir, { recursive: true, force: true });
});

describe("createSteward().verify", () => {
  it("returns the owner of a Bearer or Basic user:token, null otherwise", async () => {
    expect(await steward.verify(request(`Bearer ${good.value}`))).toMatchObject({
      userId: "alice",
      authenticatedBy: "token",
      tokenId: good.id,
    });
    expect((await steward.verify(request(basicOf("alice", jenkins.value))))?.tokenId).toBe(jenkins.id);
    expect(await steward.verify(request())).toBeNull();
    // The last character changed (to one it is not), so the checksum fails.
    expect(await steward.verify(request(`Bearer ${mistyped(good.value)}`))).toBeNull();
    expect(await steward.verify(request(basicOf("bob", good.value)))).toBeNull();
    // Passwords are never accepted by the library.
    expect(await steward.verify(request(basicOf("alice", "alice-password")))).toBeNull();
  });

  it("takes a node:http IncomingMessage, and prefers the framework's `ip` for allow-lists", async () => {
    const message = new IncomingMessage(new Socket());
    message.headers.authorization = `Bearer ${good.value}`;
    expect((await steward.verify(message))?.userId).toBe("alice");
    expect(await steward.verify(request(`Bearer ${fenced.value}`, "192.0.2.1"))).toBeNull();
    expect((await steward.verify(request(`Bearer ${fenced.value}`, "10.0.0.9")))?.tokenId).toBe(fenced.id);
    const proxied = { ...request(`Bearer ${fenced.value}`, "127.0.0.1"), ip: "10.1.1.1" };
    expect((await steward.verify(proxied))?.tokenId).toBe(fenced.id);
  });

  it("sees a revoke at once, and re-exports the core helpers", async () => {
    const actor = operatorActor("library-test");
    const owner = await steward.services.users.get("alice");
    const doomed = await steward.services.tokens.create(actor, owner, { name: "doomed" });
    expect(await steward.verify(request(`Bearer ${doomed.value}`))).not.toBeNull();
    await steward.services.tokens.revoke(actor, doomed.token);
    expect(await steward.verify(request(`Bearer ${doomed.value}`))).toBeNull();
    expect(parseToken(good.value)?.format).toBe("steward");
    const events = await steward.store.queryAudit({ action: "token.revoked", limit: 5 });
    expect(events[0]?.actorUserId).toBe("library-test");
  });
});

describe("verify with other request shapes", () => {
  it("reads a Fetch Request's Headers (Hono's c.req.raw) and a header object spelled another way", async () => {
    const fetchRequest = new Request("http://app.example/", {
      headers: { authorization: `Bearer ${good.value}` },
    });
    expect(await steward.verify(fetchRequest)).toMatchObject({ userId: "alice", tokenId: good.id });
    expect(await steward.verify(new Request("http://app.example/"))).toBeNull();
    const capitalised = {
      headers: { Authorization: `Bearer ${good.value}` },
      socket: { remoteAddress: "127.0.0.1" },
    };
    expect(await steward.verify(capitalised)).toMatchObject({ userId: "alice" });
  });
});

describe("fastifyPlugin", () => {
  it("decorates request.stewardPrincipal, rejects in a required scope, and checks a request once", async () => {
    const app = Fastify();
    await app.register(steward.fastifyPlugin);
    app.get("/public", async (req) => ({ user: req.stewardPrincipal?.userId ?? null }));
    await app.register(async (api) => {
      await api.register(steward.fastifyPlugin, { required: true });
      api.get("/private", async (req) => ({ user: req.stewardPrincipal!.userId }));
    });
    await app.ready();
    try {
      expect((await app.inject({ url: "/public" })).json()).toEqual({ user: null });
      const auth = { authorization: `Bearer ${good.value}` };
      expect((await app.inject({ url: "/public", headers: auth })).json()).toEqual({ user: "alice" });
      const refused = await app.inject({ url: "/private" });
      expect(refused.statusCode).toBe(401);
      expect(refused.headers["www-authenticate"]).toContain('Bearer realm="Steward"');
      expect(refused.json()).toMatchObject({ error: { code: "unauthenticated" } });
      const before = steward.services.usage.pendingFor(good.id)?.count ?? 0;
      const ok = await app.inject({ url: "/private", headers: auth });
      expect(ok.json()).toEqual({ user: "alice" });
      expect(steward.services.usage.pendingFor(good.id)?.count).toBe(before + 1);
      const fencedOut = await app.inject({
        url: "/private",
        headers: { authorization: `Bearer ${fenced.value}` },
        remoteAddress: "192.0.2.1",
      });
      expect(fencedOut.statusCode).toBe(403);
    } finally {
      await app.close();
    }
  });
});

describe("expressMiddleware", () => {
  /** Runs the middleware as Express would, with a minimal response object. */
  it("sets req.stewardPrincipal and passes on; required, answers 401 JSON itself", async () => {
    expect(await run(steward.expressMiddleware(), `Bearer ${good.value}`)).toMatchObject({
      nextCalled: true,
      principal: { userId: "alice" },
    });
    expect(await run(steward.expressMiddleware())).toMatchObject({ nextCalled: true, principal: null });
    const refused = await run(steward.expressMiddleware({ required: true }), "Bearer nope");
    expect(refused).toMatchObject({ nextCalled: false, statusCode: 401, principal: null });
    expect(JSON.parse(refused.body)).toEqual({
      error: { code: "unauthenticated", message: "Invalid username or API token." },
    });
    expect(refused.headers["content-type"]).toMatch(/^application\/json/);
  });
});

describe("a database outage", () => {
  it("is a typed 503 from verify, the middleware and the plugin — never a driver error with the database's address", async () => {
    const postgres = await startPostgres();
    const url = await postgres.createDatabase("steward_library_outage");
    const onPostgres = await createSteward({ databaseUrl: url, config: { passwordHashCost: 10 } });
    try {
      const actor = operatorActor("test");
      const owner = await onPostgres.services.users.create(actor, {
        id: "carol",
        password: "carol-password",
      });
      const { value } = await onPostgres.services.tokens.create(actor, owner, { name: "t" });
      const app = Fastify();
      await app.register(onPostgres.fastifyPlugin, { required: true });
      app.get("/", async (req) => ({ user: req.stewardPrincipal?.userId }));
      const bearer = { authorization: `Bearer ${value}` };
      expect((await app.inject({ url: "/", headers: bearer })).statusCode).toBe(200);
      await postgres.halt();
      // A well-formed token not in the cache needs the database.
      const unseen = `Bearer ${generateStewardToken(systemRandom)}`;
      const answer = await app.inject({ url: "/", headers: { authorization: unseen } });
      expect(answer.statusCode).toBe(503);
      expect(answer.headers["retry-after"]).toBe("5");
      expect(answer.json()).toEqual({
        error: {
          code: "unavailable",
          message: "The database is not reachable right now; try again shortly.",
        },
      });
      const failure = await onPostgres.verify(request(unseen)).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StewardError);
      expect((failure as StewardError).code).toBe("unavailable");
      const res = await run(onPostgres.expressMiddleware({ required: true }), unseen);
      expect(res.nextCalled).toBe(false);
      expect(res.statusCode).toBe(503);
      expect(res.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|:\d{4,5}/);
      await app.close();
    } finally {
      await postgres.resume().catch(() => undefined);
      await onPostgres.close().catch(() => undefined);
      await postgres.stop();
    }
  }, 60_000);
});
