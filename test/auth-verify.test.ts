/** `/auth/verify`: forward auth for reverse proxies (SPEC §4.2), in memory through `app.inject()`. */
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SCOPES } from "../src/core/permissions.js";
import { createApp } from "../src/http/app.js";
import { basic, createTestApp, mistyped, SYSTEM_ACTOR, signIn, type TestApp } from "./support/harness.js";

let t: TestApp;

async function verify(
  headers: Record<string, string> = {},
  options: { method?: string; url?: string; remoteAddress?: string; payload?: string } = {},
) {
  return t.app.inject({
    method: (options.method ?? "GET") as "GET",
    url: options.url ?? "/auth/verify",
    headers,
    remoteAddress: options.remoteAddress,
    payload: options.payload,
  });
}

const bearer = (value: string) => ({ authorization: `Bearer ${value}` });

describe("/auth/verify", () => {
  beforeEach(async () => {
    t = await createTestApp({ config: { authFailuresPerIp: 5 } });
    await t.addUser("alice", "alice-password");
    await t.addUser("bob", "bob-password");
  });
  afterEach(async () => t.close());

  it("answers 401 with a challenge and a JSON error when there is no credential", async () => {
    const response = await verify();
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('Basic realm="Steward"');
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(response.json()).toMatchObject({ error: { code: "unauthenticated" } });
    expect(response.headers["x-steward-user"]).toBeUndefined();
  });

  it("accepts a Bearer token alone and names its owner, token id and scopes, never the value", async () => {
    const token = await t.addToken("alice");
    const response = await verify(bearer(token.value));
    expect(response.statusCode).toBe(200);
    expect(response.headers["x-steward-user"]).toBe("alice");
    expect(response.headers["x-steward-token"]).toBe(token.id);
    // An unscoped token of a plain user carries what the user role allows.
    expect(response.headers["x-steward-scopes"]).toBe("tokens:read,tokens:write,jenkins:api");
    expect(response.headers["cache-control"]).toBe("no-store");
    expect(response.json()).toEqual({
      user: "alice",
      tokenId: token.id,
      scopes: ["tokens:read", "tokens:write", "jenkins:api"],
    });
    expect(response.body).not.toContain(token.value);
    expect(JSON.stringify(response.headers)).not.toContain(token.value);
  });

  it("accepts Jenkins' Basic user:token, the scheme in any case, and counts the use", async () => {
    const token = await t.addToken("alice", { format: "jenkins" });
    const response = await verify({ authorization: basic("alice", token.value).replace("Basic", "bAsIc") });
    expect(response.statusCode).toBe(200);
    expect(response.headers["x-steward-user"]).toBe("alice");
    expect((await verify({ authorization: `BEARER ${token.value}` })).statusCode).toBe(200);
    expect(t.services.usage.pendingFor(token.id)?.count).toBe(2);
  });

  it("refuses someone else's token over Basic, a password, a session and malformed headers (401)", async () => {
    const token = await t.addToken("alice");
    expect((await verify({ authorization: basic("bob", token.value) })).statusCode).toBe(401);
    expect((await verify({ authorization: basic("alice", "alice-password") })).statusCode).toBe(401);
    const cookie = await signIn(t.app, "alice", "alice-password");
    expect((await verify({ cookie })).statusCode).toBe(401);
    for (const authorization of [
      "Bearer",
      "Bearer   ",
      `Bearer ${token.value} extra`,
      "Basic !!!",
      "Bearer stw_nope",
    ]) {
      expect((await verify({ authorization })).statusCode, authorization).toBe(401);
    }
  });

  it("refuses a revoked token, an expired one (saying so) and one of a disabled user", async () => {
    const revoked = await t.addToken("alice");
    expect((await verify(bearer(revoked.value))).statusCode).toBe(200);
    await t.services.tokens.revoke(SYSTEM_ACTOR, (await t.store.getToken(revoked.id))!);
    expect((await verify(bearer(revoked.value))).statusCode).toBe(401);

    const expiring = await t.addToken("alice", { expiresInSeconds: 60 });
    t.clock.advance(61_000);
    const expired = await verify(bearer(expiring.value));
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error.code).toBe("token_expired");

    const bobs = await t.addToken("bob");
    await t.services.users.update(SYSTEM_ACTOR, "bob", { disabled: true });
    expect((await verify(bearer(bobs.value))).statusCode).toBe(401);
  });

  it("answers 403 when the token's allow-list refuses the client address", async () => {
    const token = await t.addToken("alice", { allowedCidrs: ["10.0.0.0/8"] });
    const refused = await verify(bearer(token.value), { remoteAddress: "192.0.2.7" });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe("ip_not_allowed");
    expect((await verify(bearer(token.value), { remoteAddress: "10.1.2.3" })).statusCode).toBe(200);
  });

  it("sees the client address through a trusted proxy's X-Forwarded-For", async () => {
    await t.close();
    t = await createTestApp({ config: { trustProxy: ["127.0.0.1"] } });
    await t.addUser("alice", "alice-password");
    const token = await t.addToken("alice", { allowedCidrs: ["10.0.0.0/8"] });
    const forwarded = (ip: string) => verify({ ...bearer(token.value), "x-forwarded-for": ip });
    expect((await forwarded("10.9.9.9")).statusCode).toBe(200);
    expect((await forwarded("192.0.2.7")).statusCode).toBe(403);
  });

  it("requires the scopes named in ?scope= (403 naming the missing one), and refuses unknown names (400)", async () => {
    const scoped = await t.addToken("alice", { scopes: ["tokens:read", "jenkins:api"] });
    const ok = await verify(bearer(scoped.value), { url: "/auth/verify?scope=tokens:read" });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["x-steward-scopes"]).toBe("tokens:read,jenkins:api");
    expect(
      (await verify(bearer(scoped.value), { url: "/auth/verify?scope=tokens:read,jenkins:api" })).statusCode,
    ).toBe(200);
    const missing = await verify(bearer(scoped.value), {
      url: "/auth/verify?scope=jenkins:api&scope=audit:read",
    });
    expect(missing.statusCode).toBe(403);
    expect(missing.json().error).toEqual({
      code: "missing_scope",
      message: 'This token lacks the scope "audit:read".',
    });
    const unknown = await verify(bearer(scoped.value), { url: "/auth/verify?scope=admin" });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.message).toContain('Unknown scope "admin"');
    // An unscoped token acts with its owner's permissions: an admin's carries every scope, a plain
    // user's only what the user role allows (SPEC §1), and the refusal names the scope.
    const full = await t.addToken("alice");
    expect((await verify(bearer(full.value), { url: "/auth/verify?scope=tokens:write" })).statusCode).toBe(
      200,
    );
    const beyondRole = await verify(bearer(full.value), { url: "/auth/verify?scope=settings:write" });
    expect(beyondRole.statusCode).toBe(403);
    expect(beyondRole.json().error.message).toBe(
      'The roles of alice do not allow the scope "settings:write".',
    );
    await t.addUser("root", "root-password", { admin: true });
    const admin = await t.addToken("root");
    const all = await verify(bearer(admin.value), { url: "/auth/verify?scope=audit:read,settings:write" });
    expect(all.statusCode).toBe(200);
    expect(all.headers["x-steward-scopes"]).toBe(SCOPES.join(","));
    // A scoped token of a plain user holding an admin scope still cannot use it.
    const overreach = await t.addToken("alice", { scopes: ["jenkins:api", "users:write"] });
    const refused = await verify(bearer(overreach.value), { url: "/auth/verify?scope=users:write" });
    expect(refused.statusCode).toBe(403);
  });

  it("answers any method without a crumb: proxies forward the original one", async () => {
    const token = await t.addToken("alice");
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]) {
      const response = await verify(
        {
          authorization: basic("alice", token.value),
          "content-type": "application/x-www-form-urlencoded",
        },
        { method, payload: method === "HEAD" || method === "OPTIONS" ? undefined : "a=b" },
      );
      expect(response.statusCode, method).toBe(200);
      expect(response.headers["x-steward-user"], method).toBe("alice");
    }
    const cookie = await signIn(t.app, "alice", "alice-password");
    expect((await verify({ cookie }, { method: "POST" })).statusCode).toBe(401);
  });

  it("logs the request the proxy asked about (nginx, Traefik and Caddy headers), as a path only", async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = await createApp(t.services, { logStream });
    try {
      const token = await t.addToken("alice");
      const nginx = await app.inject({
        url: "/auth/verify",
        headers: {
          ...bearer(token.value),
          "x-original-method": "DELETE",
          "x-original-uri": "/app/x?secret=1",
        },
      });
      expect(nginx.statusCode).toBe(200);
      const traefik = await app.inject({
        url: "/auth/verify",
        headers: { "x-forwarded-method": "PUT", "x-forwarded-uri": "/other" },
      });
      expect(traefik.statusCode).toBe(401);
    } finally {
      await app.close();
    }
    const requests = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === "request");
    expect(requests.map((r) => [r.original, r.status, r.user])).toEqual([
      ["DELETE /app/x", 200, "alice"],
      ["PUT /other", 401, "anonymous"],
    ]);
    expect(lines.join("")).not.toContain("secret=1");
  });

  it("records refused tokens in the audit log (at most one per reason and address a minute), not anonymous calls", async () => {
    const token = await t.addToken("alice", { allowedCidrs: ["10.0.0.0/8"] });
    await verify();
    expect(await t.store.queryAudit({ action: "auth.failed", limit: 10 })).toHaveLength(0);
    await verify(bearer(mistyped(token.value, "x")));
    await verify(bearer(mistyped(token.value, "y")));
    await verify(bearer(token.value), { remoteAddress: "192.0.2.7" });
    const events = await t.store.queryAudit({ action: "auth.failed", limit: 10 });
    expect(events.map((e) => [e.details.reason, e.details.path, e.targetTokenId]).sort()).toEqual([
      ["ip_not_allowed", "/auth/verify", token.id],
      ["unauthenticated", "/auth/verify", null],
    ]);
    expect(JSON.stringify(events)).not.toContain(token.value.slice(0, 20));
  });

  it("limits failed checks per address with 429 and Retry-After, but a valid token still passes", async () => {
    const token = await t.addToken("alice");
    const bad = bearer(mistyped(token.value, "x"));
    for (let i = 0; i < 5; i++) expect((await verify(bad)).statusCode).toBe(401);
    const limited = await verify(bad);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect((await verify(bearer(token.value))).statusCode).toBe(200);
    expect((await verify(bad, { remoteAddress: "10.0.0.1" })).statusCode).toBe(401);
  });
});
