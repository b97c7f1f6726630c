import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AuditEvent } from "../src/store/store.js";
import {
  basic,
  createTestApp,
  fetchCrumb,
  sessionCookieOf,
  signIn,
  type TestApp,
} from "./support/harness.js";

/**
 * Audit completeness (issue 5): every change writes its event, refusals are recorded without flooding,
 * and no event ever holds a secret.
 */

const ADMIN_PASSWORD = "admin-password-1";
const ALICE_PASSWORD = "alice-password-1";
const ALICE_NEW_PASSWORD = "alice-password-2";
const MINUTE = 60_000;

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
  await t.addUser("admin", ADMIN_PASSWORD, { admin: true });
});
afterEach(async () => {
  await t.close();
});

async function events(): Promise<AuditEvent[]> {
  return t.store.queryAudit({ limit: 10_000, order: "asc" });
}

const JSON_TYPE = { "content-type": "application/json" };

async function call(
  method: "GET" | "POST" | "PATCH" | "DELETE",
  url: string,
  auth: string,
  body?: unknown,
  remoteAddress = "192.0.2.10",
) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return t.app.inject({
    method,
    url,
    remoteAddress,
    headers: { authorization: auth, ...(payload ? { "content-type": "application/json" } : {}) },
    ...(payload ? { payload } : {}),
  });
}

describe("the audit log", () => {
  it("records every kind of change, and never a secret", async () => {
    const secrets: string[] = [ADMIN_PASSWORD, ALICE_PASSWORD, ALICE_NEW_PASSWORD];
    const admin = await t.addToken("admin");
    secrets.push(admin.value);
    const asAdmin = basic("admin", admin.value);

    // Sign-in: a failure, a success (with its session), a refused crumb, a sign-out.
    const failed = await t.app.inject({
      method: "POST",
      url: "/j_spring_security_check",
      payload: new URLSearchParams({ j_username: "admin", j_password: "wrong-password" }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(failed.statusCode).toBe(302);
    const cookie = await signIn(t.app, "admin", ADMIN_PASSWORD);
    secrets.push(cookie.split("=")[1]!);
    const { crumb } = await fetchCrumb(t.app, { cookie });
    secrets.push(crumb);
    const noCrumb = await t.app.inject({
      method: "POST",
      url: "/api/v1/tokens",
      headers: { cookie, ...JSON_TYPE },
      payload: JSON.stringify({ name: "x" }),
    });
    expect(noCrumb.statusCode).toBe(403);
    const wrongCrumb = await t.app.inject({
      method: "POST",
      url: "/api/v1/tokens",
      remoteAddress: "192.0.2.99",
      headers: { cookie, "jenkins-crumb": `${crumb.slice(0, -4)}0000`, "content-type": "application/json" },
      payload: JSON.stringify({ name: "x" }),
    });
    expect(wrongCrumb.statusCode).toBe(403);

    // Users: created, roles changed, password changed, and (at the end) deleted.
    expect(
      (await call("POST", "/api/v1/users", asAdmin, { id: "alice", password: ALICE_PASSWORD })).statusCode,
    ).toBe(201);
    expect(
      (await call("PATCH", "/api/v1/users/alice", asAdmin, { roles: ["user", "admin"] })).statusCode,
    ).toBe(200);
    expect(
      (await call("PATCH", "/api/v1/users/alice", asAdmin, { password: ALICE_NEW_PASSWORD })).statusCode,
    ).toBe(200);
    expect(
      (await call("POST", "/api/v1/users", asAdmin, { id: "robot", kind: "service", ownerId: "alice" }))
        .statusCode,
    ).toBe(201);

    // Tokens: created, used (new address), renamed, rotated, revoked, reported leaked, bad credentials.
    const aliceLogin = basic("alice", ALICE_NEW_PASSWORD);
    const created = await call("POST", "/api/v1/tokens", basic("alice", (await t.addToken("alice")).value), {
      name: "deploy",
      expiresIn: 3 * 24 * 3600,
    });
    expect(created.statusCode).toBe(201);
    const { token, value } = created.json() as { token: { id: string }; value: string };
    secrets.push(value);
    const asAlice = basic("alice", value);
    expect((await call("GET", "/api/v1/me", asAlice, undefined, "198.51.100.7")).statusCode).toBe(200);
    await t.services.usage.flush();
    expect(
      (await call("PATCH", `/api/v1/tokens/${token.id}`, asAlice, { name: "deploy 2" })).statusCode,
    ).toBe(200);
    const rotated = await call("POST", `/api/v1/tokens/${token.id}/rotate`, asAlice, { graceSeconds: 60 });
    expect(rotated.statusCode).toBe(200);
    const next = rotated.json() as { token: { id: string }; value: string };
    secrets.push(next.value);
    expect((await call("DELETE", `/api/v1/tokens/${next.token.id}`, asAdmin)).statusCode).toBe(204);
    const leaked = await t.addToken("alice");
    secrets.push(leaked.value);
    const report = await t.app.inject({
      method: "POST",
      url: "/api/v1/tokens/report-leak",
      headers: JSON_TYPE,
      payload: JSON.stringify({ tokens: [leaked.value] }),
    });
    expect(report.statusCode).toBe(202);
    const revoked = await call("GET", "/api/v1/me", basic("alice", leaked.value), undefined, "203.0.113.5");
    expect(revoked.statusCode).toBe(401);
    expect((await call("GET", "/api/v1/me", aliceLogin)).statusCode).toBe(200);

    // Settings, webhooks, expiry notices, sign-out, user deletion.
    expect(
      (await call("PATCH", "/api/v1/settings", asAdmin, { newAddressGranularity: "subnet" })).statusCode,
    ).toBe(200);
    const hook = await call("POST", "/api/v1/webhooks", asAdmin, {
      url: "https://hooks.example.com/services/T000/B000/very-secret-path",
      events: ["*"],
    });
    expect(hook.statusCode).toBe(201);
    const { id: hookId, secret } = hook.json() as { id: string; secret: string };
    secrets.push(secret, "very-secret-path");
    expect((await call("POST", `/api/v1/webhooks/${hookId}/test`, asAdmin)).statusCode).toBe(202);
    const out = await t.app.inject({
      method: "POST",
      url: "/logout",
      headers: { cookie, "jenkins-crumb": crumb },
    });
    expect(out.statusCode).toBe(302);
    const expiring = await t.addToken("alice", { expiresInSeconds: 5 * 24 * 3600 });
    secrets.push(expiring.value);
    t.clock.advance(2 * 24 * 3600 * 1000);
    expect(await t.services.expiry.runOnce()).toBeGreaterThan(0);
    expect((await call("DELETE", `/api/v1/webhooks/${hookId}`, asAdmin)).statusCode).toBe(204);
    expect((await call("DELETE", "/api/v1/users/robot", asAdmin)).statusCode).toBe(204);

    const recorded = await events();
    const actions = new Set(recorded.map((e) => e.action));
    for (const action of [
      "user.created",
      "user.roles.changed",
      "user.password.changed",
      "user.deleted",
      "login.failed",
      "login.succeeded",
      "logout",
      "crumb.invalid",
      "auth.failed",
      "token.created",
      "token.used.new-ip",
      "token.renamed",
      "token.rotated",
      "token.revoked",
      "token.leak-reported",
      "token.expiring",
      "settings.updated",
      "webhook.created",
      "webhook.tested",
      "webhook.deleted",
    ]) {
      expect(actions, action).toContain(action);
    }
    // Who, what, from where, how it ended, which request.
    const rename = recorded.find((e) => e.action === "token.renamed")!;
    expect(rename).toMatchObject({
      actorUserId: "alice",
      actorTokenId: token.id,
      targetUserId: "alice",
      targetTokenId: token.id,
      ip: "192.0.2.10",
      outcome: "success",
      details: { from: "deploy", to: "deploy 2" },
    });
    expect(rename.requestId).toEqual(expect.any(String));
    expect(recorded.filter((e) => e.action === "crumb.invalid").map((e) => e.details.reason)).toEqual([
      "missing",
      "invalid",
    ]);
    expect(recorded.find((e) => e.action === "crumb.invalid" && e.ip === "192.0.2.99")).toMatchObject({
      actorUserId: "admin",
      outcome: "denied",
      details: { method: "POST", path: "/api/v1/tokens", reason: "invalid" },
    });
    expect(recorded.find((e) => e.action === "auth.failed")).toMatchObject({
      ip: "203.0.113.5",
      outcome: "failure",
      details: { reason: "unauthenticated" },
    });
    expect(recorded.find((e) => e.action === "login.succeeded")).toMatchObject({ actorUserId: "admin" });
    expect(recorded.find((e) => e.action === "webhook.created")?.details).toEqual({
      webhookId: hookId,
      host: "hooks.example.com",
      events: ["*"],
    });

    // Nothing secret in any row: values, passwords, crumbs, session ids, webhook secrets.
    const serialized = JSON.stringify(recorded);
    for (const secretText of secrets) expect(serialized).not.toContain(secretText);
    const rows = JSON.stringify(await t.store.queryAudit({ limit: 10_000 }));
    expect(rows).not.toMatch(/stw_[0-9A-Za-z]{30}/);
    expect(rows).not.toMatch(/whsec_/);
  });

  it("records at most one crumb failure per address per minute, counting the rest", async () => {
    const cookie = await signIn(t.app, "admin", ADMIN_PASSWORD);
    const post = (remoteAddress: string) =>
      t.app.inject({
        method: "POST",
        url: "/api/v1/tokens",
        remoteAddress,
        headers: { cookie, ...JSON_TYPE },
        payload: "{}",
      });
    for (let i = 0; i < 25; i++) expect((await post("192.0.2.1")).statusCode).toBe(403);
    await post("192.0.2.2");
    const crumbEvents = async () => (await events()).filter((e) => e.action === "crumb.invalid");
    expect((await crumbEvents()).map((e) => e.ip)).toEqual(["192.0.2.1", "192.0.2.2"]);
    t.clock.advance(MINUTE);
    await post("192.0.2.1");
    const [, , third] = await crumbEvents();
    expect(third).toMatchObject({ ip: "192.0.2.1", outcome: "denied", details: { suppressed: 24 } });
  });

  it("records refused sign-ins that are rate-limited without flooding", async () => {
    const attempt = () =>
      t.app.inject({
        method: "POST",
        url: "/j_spring_security_check",
        remoteAddress: "192.0.2.50",
        payload: new URLSearchParams({ j_username: "admin", j_password: "nope-nope" }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await attempt()).statusCode);
    expect(statuses).toContain(429);
    const failures = (await events()).filter((e) => e.action === "login.failed");
    const limited = failures.filter((e) => e.details.reason === "rate_limited");
    expect(limited).toHaveLength(1);
    expect(failures.length).toBeLessThan(statuses.length);
  });

  it("writes the sign-in event with the session it creates", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/j_spring_security_check",
      remoteAddress: "192.0.2.77",
      headers: { "user-agent": "probe/1.0", "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({ j_username: "ADMIN", j_password: ADMIN_PASSWORD }).toString(),
    });
    sessionCookieOf(response);
    const [login] = (await events()).filter((e) => e.action === "login.succeeded");
    expect(login).toMatchObject({
      actorUserId: "admin",
      targetUserId: "admin",
      ip: "192.0.2.77",
      userAgent: "probe/1.0",
      outcome: "success",
    });
  });
});
