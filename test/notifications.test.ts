import { createHmac } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { ManualClock } from "../src/core/clock.js";
import { createPasswordHasher } from "../src/core/password.js";
import { systemRandom } from "../src/core/random.js";
import { verifyWebhookSignature } from "../src/core/webhook-signature.js";
import { buildServices } from "../src/service/services.js";
import { WebhookDispatcher } from "../src/service/webhooks.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { basic, createTestApp, SYSTEM_ACTOR, TEST_PASSWORD_COST, type TestApp } from "./support/harness.js";

const DAY = 24 * 3600 * 1000;

/** A webhook receiver on a local port: records each request, answers with the next queued status. */
interface Receiver {
  url: string;
  requests: { headers: IncomingHttpHeaders; body: string }[];
  /** Statuses to answer, in order; 204 once they run out. */
  answers: number[];
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const requests: Receiver["requests"] = [];
  const answers: number[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.statusCode = answers.shift() ?? 204;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/steward`,
    requests,
    answers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let t: TestApp;
let receiver: Receiver;
let admin: string;

beforeEach(async () => {
  t = await createTestApp();
  receiver = await startReceiver();
  await t.addUser("admin", "admin-password-1", { admin: true });
  await t.addUser("alice", "alice-password-1");
  admin = basic("admin", (await t.addToken("admin")).value);
});
afterEach(async () => {
  await t.close();
  await receiver.close();
});

async function api(method: "GET" | "POST" | "PATCH" | "DELETE", url: string, body?: unknown) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return t.app.inject({
    method,
    url,
    headers: { authorization: admin, ...(payload ? { "content-type": "application/json" } : {}) },
    ...(payload ? { payload } : {}),
  });
}

async function createWebhook(events: string[]): Promise<{ id: string; secret: string }> {
  const response = await api("POST", "/api/v1/webhooks", { url: receiver.url, events });
  expect(response.statusCode).toBe(201);
  return response.json() as { id: string; secret: string };
}

async function useToken(value: string, remoteAddress: string) {
  const response = await t.app.inject({
    url: "/api/v1/me",
    remoteAddress,
    headers: { authorization: basic("alice", value) },
  });
  expect(response.statusCode).toBe(200);
}

/** The addresses `token.used.new-ip` was raised for, for one token. */
const newIpEvents = async (tokenId: string) =>
  (await t.store.queryAudit({ tokenId, action: "token.used.new-ip", order: "asc", limit: 100 })).map(
    (e) => e.details.ip,
  );

describe("usage by address and new-address alerts", () => {
  it("alerts once per new address, at flush time, and lists where the token was used", async () => {
    const hook = await createWebhook(["token.used.new-ip"]);
    const { id, value } = await t.addToken("alice");
    await useToken(value, "192.0.2.1");
    await useToken(value, "192.0.2.1");
    // Counted in memory: shown before the flush, recorded (and alerted) at it.
    expect(await newIpEvents(id)).toEqual([]);
    const before = await api("GET", `/api/v1/tokens/${id}/addresses`);
    expect(before.json()).toEqual({
      items: [
        { ip: "192.0.2.1", firstSeenAt: expect.any(String), lastSeenAt: expect.any(String), useCount: 2 },
      ],
    });
    await t.services.usage.flush();
    expect(await newIpEvents(id)).toEqual(["192.0.2.1"]);

    t.clock.advance(1000);
    await useToken(value, "::ffff:192.0.2.1");
    await useToken(value, "198.51.100.20");
    await t.services.usage.flush();
    await useToken(value, "198.51.100.20");
    await useToken(value, "192.0.2.1");
    await t.services.usage.flush();
    expect(await newIpEvents(id)).toEqual(["192.0.2.1", "198.51.100.20"]);

    const [second] = await t.store.queryAudit({ tokenId: id, action: "token.used.new-ip", limit: 1 });
    expect(second).toMatchObject({
      actorUserId: "alice",
      actorTokenId: id,
      targetTokenId: id,
      ip: "198.51.100.20",
      details: { ip: "198.51.100.20", tokenId: id, firstUse: false },
    });
    const after = await api("GET", `/api/v1/tokens/${id}/addresses`);
    expect((after.json() as { items: { ip: string; useCount: number }[] }).items).toEqual([
      expect.objectContaining({ ip: "192.0.2.1", useCount: 4 }),
      expect.objectContaining({ ip: "198.51.100.20", useCount: 2 }),
    ]);
    // Each alert went to the webhook (alice's two, and one for the admin token this test calls with).
    const log = await api("GET", `/api/v1/webhooks/${hook.id}/deliveries`);
    const delivered = (log.json() as { items: { eventId: number; event: string }[] }).items;
    expect(delivered.map((d) => d.event)).toEqual([
      "token.used.new-ip",
      "token.used.new-ip",
      "token.used.new-ip",
    ]);
    const alerts = await t.store.queryAudit({ tokenId: id, action: "token.used.new-ip", limit: 10 });
    expect(delivered.map((d) => d.eventId)).toEqual(expect.arrayContaining(alerts.map((e) => e.id)));
    // The owner sees them; another user does not.
    const alice = basic("alice", (await t.addToken("alice")).value);
    const mine = await t.app.inject({
      url: `/api/v1/tokens/${id}/addresses`,
      headers: { authorization: alice },
    });
    expect(mine.statusCode).toBe(200);
    await t.addUser("bob", "bob-password-1");
    const bob = basic("bob", (await t.addToken("bob")).value);
    const theirs = await t.app.inject({
      url: `/api/v1/tokens/${id}/addresses`,
      headers: { authorization: bob },
    });
    expect(theirs.statusCode).toBe(404);
  });

  it("alerts once per /24 or /64 at subnet granularity", async () => {
    expect((await api("PATCH", "/api/v1/settings", { newAddressGranularity: "subnet" })).statusCode).toBe(
      200,
    );
    const { id, value } = await t.addToken("alice");
    for (const ip of ["192.0.2.1", "192.0.2.200", "2001:db8:1:2::1", "2001:db8:1:2::beef"])
      await useToken(value, ip);
    await t.services.usage.flush();
    await useToken(value, "192.0.3.1");
    await useToken(value, "2001:db8:1:3::1");
    await t.services.usage.flush();
    expect(await newIpEvents(id)).toEqual(["192.0.2.1", "2001:db8:1:2::1", "192.0.3.1", "2001:db8:1:3::1"]);
  });
});

describe("webhooks", () => {
  it("shows the secret once and never again, and validates what it is given", async () => {
    const { id, secret } = await createWebhook(["token.revoked", "token.*"]);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const list = await api("GET", "/api/v1/webhooks");
    expect(list.json()).toEqual({
      items: [{ id, url: receiver.url, events: ["token.revoked", "token.*"], createdAt: expect.any(String) }],
    });
    expect(list.body).not.toContain(secret);
    for (const body of [
      { url: "ftp://example.com/", events: ["*"] },
      { url: "https://user:pass@example.com/", events: ["*"] },
      { url: "not a url", events: ["*"] },
      { url: receiver.url, events: [] },
      { url: receiver.url, events: ["Token Revoked"] },
    ]) {
      expect((await api("POST", "/api/v1/webhooks", body)).statusCode, JSON.stringify(body)).toBe(400);
    }
    expect((await api("DELETE", `/api/v1/webhooks/${id}`)).statusCode).toBe(204);
    expect((await api("DELETE", `/api/v1/webhooks/${id}`)).statusCode).toBe(404);
    expect((await api("GET", "/api/v1/webhooks")).json()).toEqual({ items: [] });
  });

  it("delivers a correctly signed payload, retries after a 500 with back-off, and stops after success", async () => {
    const { id: hookId, secret } = await createWebhook(["token.revoked"]);
    const token = await t.addToken("alice");
    await t.addToken("alice");
    expect((await api("DELETE", `/api/v1/tokens/${token.id}`)).statusCode).toBe(204);
    receiver.answers.push(500);

    expect(await t.services.deliveries.runOnce()).toBe(1);
    expect(receiver.requests).toHaveLength(1);
    let log = (await api("GET", `/api/v1/webhooks/${hookId}/deliveries`)).json() as {
      items: Record<string, unknown>[];
    };
    expect(log.items).toEqual([
      expect.objectContaining({
        event: "token.revoked",
        status: "pending",
        attempts: 1,
        lastStatus: 500,
        lastError: "HTTP 500",
        nextAttemptAt: new Date(t.clock.now() + 1000).toISOString(),
      }),
    ]);
    // Not before its back-off.
    expect(await t.services.deliveries.runOnce()).toBe(0);
    t.clock.advance(1000);
    expect(await t.services.deliveries.runOnce()).toBe(1);
    expect(receiver.requests).toHaveLength(2);
    t.clock.advance(3600_000);
    expect(await t.services.deliveries.runOnce()).toBe(0);
    expect(receiver.requests).toHaveLength(2);
    log = (await api("GET", `/api/v1/webhooks/${hookId}/deliveries`)).json() as typeof log;
    expect(log.items).toEqual([
      expect.objectContaining({
        status: "delivered",
        attempts: 2,
        lastStatus: 204,
        lastError: null,
        nextAttemptAt: null,
      }),
    ]);

    // What the receiver got: a signed JSON body it can check with the documented recipe.
    const { headers, body } = receiver.requests[1]!;
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["steward-event"]).toBe("token.revoked");
    const signature = String(headers["steward-signature"]);
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature);
    expect(match).not.toBeNull();
    const [, t0, v1] = match!;
    expect(Number(t0)).toBe(Math.floor((t.clock.now() - 3600_000) / 1000));
    expect(v1).toBe(createHmac("sha256", secret).update(`${t0}.${body}`).digest("hex"));
    expect(verifyWebhookSignature(secret, signature, body, Number(t0))).toBe(true);
    expect(verifyWebhookSignature(secret, signature, `${body} `, Number(t0))).toBe(false);
    const payload = JSON.parse(body) as Record<string, unknown>;
    expect(payload).toMatchObject({
      id: headers["steward-delivery"],
      event: "token.revoked",
      data: {
        action: "token.revoked",
        actor: { userId: "admin" },
        target: { userId: "alice", tokenId: token.id },
        outcome: "success",
      },
    });
    expect(receiver.requests[0]!.body).toBe(body);
    expect(body).not.toContain(token.value);
    expect(body).not.toContain(secret);
  });

  it("gives up after the last attempt, waiting longer each time", async () => {
    await createWebhook(["*"]);
    await t.store.appendAudit({ ...SYSTEM_EVENT, at: t.clock.now() });
    const dispatcher = new WebhookDispatcher(t.store, t.clock, () => {}, {
      maxAttempts: 4,
      baseDelayMs: 1000,
    });
    receiver.answers.push(500, 502, 503, 500, 500);
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect(await dispatcher.runOnce()).toBe(1);
      const [delivery] = await t.store.listDeliveries((await t.store.listWebhooks())[0]!.id, { limit: 1 });
      if (delivery!.status === "pending") {
        waits.push(delivery!.nextAttemptAt - t.clock.now());
        t.clock.advance(delivery!.nextAttemptAt - t.clock.now());
      } else {
        expect(delivery).toMatchObject({ status: "failed", attempts: 4, lastStatus: 500 });
      }
    }
    expect(waits).toEqual([1000, 2000, 4000]);
    t.clock.advance(DAY);
    expect(await dispatcher.runOnce()).toBe(0);
    expect(receiver.requests).toHaveLength(4);
  });

  it("records an unreachable receiver as a failed attempt without its URL", async () => {
    const { id } = await createWebhook(["*"]);
    await receiver.close();
    await t.store.appendAudit({ ...SYSTEM_EVENT, at: t.clock.now() });
    expect(await t.services.deliveries.runOnce()).toBe(1);
    const [delivery] = await t.store.listDeliveries(id, { limit: 1 });
    expect(delivery).toMatchObject({ status: "pending", attempts: 1, lastStatus: null });
    expect(delivery!.lastError).toMatch(/^connection failed/);
    expect(delivery!.lastError).not.toContain("127.0.0.1");
    receiver = await startReceiver();
  });

  it("sends a test delivery to the one webhook tested", async () => {
    const tested = await createWebhook(["token.revoked"]);
    const other = await createWebhook(["*"]);
    expect((await api("POST", `/api/v1/webhooks/${tested.id}/test`)).statusCode).toBe(202);
    expect((await api("POST", "/api/v1/webhooks/no-such-hook/test")).statusCode).toBe(404);
    await t.services.deliveries.runOnce();
    expect(receiver.requests.map((r) => JSON.parse(r.body).event)).toEqual(["webhook.tested"]);
    const otherLog = (await api("GET", `/api/v1/webhooks/${other.id}/deliveries`)).json() as {
      items: { event: string }[];
    };
    expect(otherLog.items.map((d) => d.event)).not.toContain("webhook.tested");
  });

  it("sends a delivery queued before a restart after it", async () => {
    const folder = await mkdtemp(join(tmpdir(), "steward-webhooks-"));
    const file = join(folder, "steward.db");
    const clock = new ManualClock(Date.UTC(2026, 10, 1, 12));
    const config = loadConfig({}, { dataDir: folder });
    const open = async () => {
      const store = SqliteStore.open(file);
      await store.migrate();
      const services = await buildServices({
        store,
        config,
        clock,
        random: systemRandom,
        passwords: createPasswordHasher(TEST_PASSWORD_COST),
      });
      return { store, services };
    };
    try {
      const first = await open();
      const { secret } = await first.services.webhooks.create(SYSTEM_ACTOR, {
        url: receiver.url,
        events: ["user.*"],
      });
      await first.services.users.create(SYSTEM_ACTOR, { id: "carol", kind: "service" });
      // Stopped before any sending: the delivery is only in the database.
      await first.store.close();
      expect(receiver.requests).toHaveLength(0);

      const second = await open();
      try {
        expect(await second.services.deliveries.runOnce()).toBe(1);
        expect(receiver.requests).toHaveLength(1);
        const { headers, body } = receiver.requests[0]!;
        expect(JSON.parse(body)).toMatchObject({
          event: "user.created",
          data: { target: { userId: "carol" } },
        });
        expect(
          verifyWebhookSignature(secret, String(headers["steward-signature"]), body, clock.now() / 1000),
        ).toBe(true);
        expect(await second.services.deliveries.runOnce()).toBe(0);
      } finally {
        await second.store.close();
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe("expiry warnings", () => {
  it("fire once per threshold, then once on expiry", async () => {
    await createWebhook(["token.expiring", "token.expired"]);
    const { id } = await t.addToken("alice", { expiresInSeconds: 20 * 24 * 3600 });
    const expiresAt = t.clock.now() + 20 * DAY;
    const run = () => t.services.expiry.runOnce();
    expect(await run()).toBe(0);
    const sent: unknown[] = [];
    for (const daysLeft of [13.5, 6.5, 0.5]) {
      t.clock.set(expiresAt - daysLeft * DAY);
      expect(await run()).toBe(1);
      expect(await run()).toBe(0);
      t.clock.advance(3600_000);
      expect(await run()).toBe(0);
    }
    t.clock.set(expiresAt + 1);
    expect(await run()).toBe(1);
    expect(await run()).toBe(0);
    const events = await t.store.queryAudit({ tokenId: id, action: "token.*", order: "asc", limit: 100 });
    for (const e of events.filter((e) => e.action.startsWith("token.expir")))
      sent.push([e.action, e.details.thresholdDays ?? null]);
    expect(sent).toEqual([
      ["token.expiring", 14],
      ["token.expiring", 7],
      ["token.expiring", 1],
      ["token.expired", null],
    ]);
    const warning = events.find((e) => e.action === "token.expiring")!;
    expect(warning).toMatchObject({
      actorUserId: null,
      targetUserId: "alice",
      targetTokenId: id,
      details: { tokenId: id, userId: "alice", daysLeft: 14, humanOwner: { id: "alice" } },
    });
    await t.services.deliveries.runOnce();
    expect(receiver.requests.map((r) => JSON.parse(r.body).event)).toEqual([
      "token.expiring",
      "token.expiring",
      "token.expiring",
      "token.expired",
    ]);
  });

  it("sends one notice, at the smallest threshold, for a token already close to expiry", async () => {
    const { id } = await t.addToken("alice", { expiresInSeconds: 3 * 24 * 3600 });
    expect(await t.services.expiry.runOnce()).toBe(1);
    expect(await t.services.expiry.runOnce()).toBe(0);
    const [notice] = await t.store.queryAudit({ tokenId: id, action: "token.expiring", limit: 10 });
    expect(notice?.details).toMatchObject({ thresholdDays: 7, daysLeft: 3 });
  });

  it("names the human owner of a service account, and follows the configured thresholds", async () => {
    expect((await api("PATCH", "/api/v1/settings", { expiryWarningDays: [30, 2] })).statusCode).toBe(200);
    await t.services.users.create(SYSTEM_ACTOR, { id: "deploy-bot", kind: "service", ownerId: "alice" });
    const { id } = await t.addToken("deploy-bot", { expiresInSeconds: 25 * 24 * 3600 });
    expect(await t.services.expiry.runOnce()).toBe(1);
    const [notice] = await t.store.queryAudit({ tokenId: id, action: "token.expiring", limit: 10 });
    expect(notice?.details).toMatchObject({
      userId: "deploy-bot",
      ownerKind: "service",
      thresholdDays: 30,
      humanOwner: { id: "alice", fullName: "alice" },
    });
    // The page (and API) shows it to the human owner, for the service account.
    const alice = basic("alice", (await t.addToken("alice")).value);
    const warnings = await t.app.inject({
      url: "/api/v1/expiry-warnings?user=deploy-bot",
      headers: { authorization: alice },
    });
    expect(warnings.statusCode).toBe(200);
    expect(warnings.json()).toEqual({
      items: [
        {
          tokenId: id,
          tokenName: expect.any(String),
          userId: "deploy-bot",
          expiresAt: expect.any(String),
          daysLeft: 25,
          thresholdDays: 30,
          humanOwnerId: "alice",
        },
      ],
    });
    expect(
      (await t.app.inject({ url: "/api/v1/expiry-warnings", headers: { authorization: alice } })).json(),
    ).toEqual({
      items: [],
    });
    await t.addUser("bob", "bob-password-1");
    const bob = basic("bob", (await t.addToken("bob")).value);
    const theirs = await t.app.inject({
      url: "/api/v1/expiry-warnings?user=deploy-bot",
      headers: { authorization: bob },
    });
    expect(theirs.statusCode).toBe(404);
  });

  it("sends nothing for revoked or never-expiring tokens", async () => {
    const revoked = await t.addToken("alice", { expiresInSeconds: 24 * 3600 });
    await t.addToken("alice");
    await t.services.tokens.revoke(SYSTEM_ACTOR, (await t.store.getToken(revoked.id))!);
    expect(await t.services.expiry.runOnce()).toBe(0);
    t.clock.advance(2 * DAY);
    expect(await t.services.expiry.runOnce()).toBe(0);
  });
});

const SYSTEM_EVENT = {
  at: 0,
  action: "token.revoked",
  actorUserId: "admin",
  actorTokenId: null,
  targetUserId: null,
  targetTokenId: null,
  ip: null,
  userAgent: null,
  outcome: "success" as const,
  requestId: null,
  details: {},
};
