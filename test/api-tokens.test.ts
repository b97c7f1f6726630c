import type { LightMyRequestResponse } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Scope } from "../src/core/permissions.js";
import { systemRandom } from "../src/core/random.js";
import { generateStewardToken, parseToken } from "../src/core/token-format.js";
import { LEAK_REPORTS_PER_WINDOW } from "../src/http/routes/api-token-leak.js";
import { basic, createTestApp, type TestApp } from "./support/harness.js";

interface TokenJson {
  id: string;
  name: string;
  userId: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  useCount: number;
  scopes: Scope[] | null;
  allowedCidrs: string[] | null;
  revokedAt: string | null;
  format: string;
}
interface Issued {
  token: TokenJson;
  value: string;
}

let t: TestApp;
let alice: string;

beforeEach(async () => {
  t = await createTestApp();
  await t.addUser("alice", "alice-password");
  await t.addUser("bob", "bob-password");
  alice = basic("alice", (await t.addToken("alice", { name: "bootstrap" })).value);
});
afterEach(async () => {
  await t.close();
});

function api(
  method: "GET" | "POST" | "PATCH" | "DELETE",
  url: string,
  auth: string | null,
  body?: unknown,
  extra: { remoteAddress?: string; headers?: Record<string, string> } = {},
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...(auth ? { authorization: auth } : {}), ...extra.headers };
  if (body !== undefined) headers["content-type"] ??= "application/json";
  return t.app.inject({
    method,
    url,
    headers,
    ...(body === undefined ? {} : { payload: typeof body === "string" ? body : JSON.stringify(body) }),
    ...(extra.remoteAddress ? { remoteAddress: extra.remoteAddress } : {}),
  });
}

async function create(auth: string, body: Record<string, unknown> = { name: "t" }): Promise<Issued> {
  const response = await api("POST", "/api/v1/tokens", auth, body);
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as Issued;
}

const me = (auth: string, remoteAddress?: string) =>
  api("GET", "/api/v1/me", auth, undefined, remoteAddress ? { remoteAddress } : {});
const errorOf = (r: LightMyRequestResponse) =>
  (r.json() as { error: { code: string; message: string } }).error;

describe("POST /api/v1/tokens", () => {
  it("creates a token whose value is shown once and works at once", async () => {
    const response = await api("POST", "/api/v1/tokens", alice, {
      name: "  deploy bot 🚀  ",
      scopes: ["tokens:read"],
    });
    expect(response.statusCode).toBe(201);
    expect(response.headers["cache-control"]).toBe("no-store");
    const { token, value } = response.json() as Issued;
    expect(value).toMatch(/^stw_[0-9A-Za-z]{36}$/);
    expect(Object.keys(token).sort()).toEqual(
      [
        "id",
        "name",
        "userId",
        "createdAt",
        "expiresAt",
        "lastUsedAt",
        "useCount",
        "scopes",
        "allowedCidrs",
        "revokedAt",
        "format",
      ].sort(),
    );
    expect(token).toMatchObject({
      name: "deploy bot 🚀",
      userId: "alice",
      expiresAt: null,
      scopes: ["tokens:read"],
      allowedCidrs: null,
      revokedAt: null,
      format: "steward",
      useCount: 0,
    });
    expect(response.body).not.toContain(parseToken(value)!.hash);
    const who = await me(basic("alice", value));
    expect(who.json()).toMatchObject({ id: "alice", authenticatedBy: "token", tokenId: token.id });
    // The value never appears again.
    const got = await api("GET", `/api/v1/tokens/${token.id}`, alice);
    expect(got.body).not.toContain(value);
  });

  it("gives a blank name Jenkins' default", async () => {
    const { token } = await create(alice, { name: "  " });
    expect(token.name).toMatch(/^Token created on 2026-11-01T12:00:00\.000\+00:00$/);
    expect((await create(alice, {})).token.name).toMatch(/^Token created on/);
    expect((await create(alice, { name: null })).token.name).toMatch(/^Token created on/);
  });

  it("records the creation in the audit log with the expiry as an ISO date", async () => {
    const { token } = await create(alice, { name: "dated", expiresIn: 3600 });
    const [event] = await t.store.queryAudit({ action: "token.created", tokenId: token.id, limit: 1 });
    expect(event!.details).toMatchObject({ name: "dated", expiresAt: token.expiresAt });
  });

  it("creates Jenkins-format tokens on request (tokenFormat, as SPEC §2 names it, or format)", async () => {
    for (const body of [{ tokenFormat: "jenkins" }, { format: "jenkins" }]) {
      const { token, value } = await create(alice, { name: "legacy tooling", ...body });
      expect(value).toMatch(/^11[0-9a-f]{32}$/);
      expect(token.format).toBe("jenkins");
      expect((await me(basic("alice", value))).statusCode).toBe(200);
    }
    expect((await create(alice, { tokenFormat: "steward" })).value).toMatch(/^stw_/);
    const disagree = await api("POST", "/api/v1/tokens", alice, {
      tokenFormat: "jenkins",
      format: "steward",
    });
    expect(disagree.statusCode).toBe(400);
  });

  it("treats an empty scope list as none: the owner's permissions, as in Jenkins", async () => {
    const { token, value } = await create(alice, { name: "e", scopes: [] });
    expect(token.scopes).toBeNull();
    expect((await api("GET", "/api/v1/tokens", basic("alice", value))).statusCode).toBe(200);
  });

  it("refuses an expiry beyond year 9999 with a 400 and stores nothing; listings keep working", async () => {
    const before = (await t.store.listTokens("alice")).length;
    for (const body of [
      { expiresIn: 9_000_000_000_000 },
      { expiresIn: 1e20 },
      { expiresIn: Number.MAX_SAFE_INTEGER },
      { expiresAt: "+275760-09-13T00:00:00Z" },
    ]) {
      const response = await api("POST", "/api/v1/tokens", alice, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(response).code).toBe("validation_failed");
    }
    expect(await t.store.listTokens("alice")).toHaveLength(before);
    expect((await api("GET", "/api/v1/tokens", alice)).statusCode).toBe(200);
    const latest = await create(alice, { expiresAt: "9999-12-31T00:00:00Z" });
    expect(latest.token.expiresAt).toBe("9999-12-31T00:00:00.000Z");
  });

  it("takes a POST that declares JSON but sends no body as no body", async () => {
    const { token } = await create(alice, { name: "r" });
    const rotated = await api("POST", `/api/v1/tokens/${token.id}/rotate`, alice, undefined, {
      headers: { "content-type": "application/json" },
    });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const deleted = await api(
      "DELETE",
      `/api/v1/tokens/${(rotated.json() as Issued).token.id}`,
      alice,
      undefined,
      {
        headers: { "content-type": "application/json" },
      },
    );
    expect(deleted.statusCode).toBe(204);
  });

  it.each([
    [{ name: "x".repeat(101) }, "at most 100 characters"],
    [{ name: "a\u0000b" }, "control characters"],
    [{ name: 42 }, "body.name must be of type string"],
    [{ name: "x", color: "red" }, 'unknown field "color"'],
    [{ expiresIn: 0 }, "body.expiresIn must be >= 1"],
    [{ expiresIn: "3600" }, "body.expiresIn must be of type integer or null"],
    [{ expiresIn: 60, expiresAt: "2030-01-01T00:00:00Z" }, "not both"],
    [{ expiresAt: "next tuesday" }, "ISO 8601"],
    [{ expiresAt: "2030-02-30T00:00:00Z" }, "ISO 8601"],
    [{ expiresAt: "2020-01-01T00:00:00Z" }, "in the past"],
    [{ scopes: ["tokens:read", "root"] }, "body.scopes.1 must be one of"],
    [{ allowedCidrs: ["10.0.0.0/8", "10.0.0.0/33"] }, "Entry 2"],
    [{ format: "legacy" }, "body.format must be one of: steward, jenkins"],
  ])("refuses %j with a clear 400", async (body, message) => {
    const response = await api("POST", "/api/v1/tokens", alice, body);
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).code).toBe("validation_failed");
    expect(errorOf(response).message).toContain(message);
  });

  it("keeps the policy's maximum lifetime and default lifetime", async () => {
    await t.updateSettings({ maxTokenLifetimeSeconds: 3600, defaultTokenLifetimeSeconds: 600 });
    const tooLong = await api("POST", "/api/v1/tokens", alice, { expiresIn: 7200 });
    expect(tooLong.statusCode).toBe(400);
    expect(errorOf(tooLong).message).toContain("at most 1 hour");
    const defaulted = await create(alice, { name: "d" });
    expect(defaulted.token.expiresAt).toBe(new Date(t.clock.now() + 600_000).toISOString());
  });

  it("requires JSON: other content types get 415 with a clear message", async () => {
    for (const [type, payload] of [
      ["text/plain", "name=x"],
      ["application/x-www-form-urlencoded", "name=x"],
      ["multipart/form-data; boundary=x", "--x--"],
      ["application/merge-patch+json", '{"name":"x"}'],
    ] as const) {
      const response = await api("POST", "/api/v1/tokens", alice, payload, {
        headers: { "content-type": type },
      });
      expect(response.statusCode, type).toBe(415);
      expect(errorOf(response)).toEqual({
        code: "unsupported_media_type",
        message: "Send the request body as JSON, with Content-Type: application/json.",
      });
    }
  });

  it("answers malformed JSON and non-object bodies with 400", async () => {
    for (const payload of ["{", "[]", '"name"', "null", "\u0000\u00ff"]) {
      const response = await api("POST", "/api/v1/tokens", alice, payload);
      expect(response.statusCode, payload).toBe(400);
      expect(errorOf(response).message.length).toBeGreaterThan(5);
    }
  });
});

describe("GET /api/v1/tokens", () => {
  it("lists only my tokens, in pages, oldest first", async () => {
    for (let i = 0; i < 4; i++) {
      t.clock.advance(1000);
      await create(alice, { name: `t${i}` });
    }
    await t.addToken("bob", { name: "not alice's" });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await api(
        "GET",
        `/api/v1/tokens?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        alice,
      );
      expect(response.statusCode).toBe(200);
      const page = response.json() as { items: TokenJson[]; next: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => item.name));
      cursor = page.next;
      pages++;
    } while (cursor);
    expect(seen).toEqual(["bootstrap", "t0", "t1", "t2", "t3"]);
    expect(pages).toBe(3);
  });

  it("shows revoked tokens only when asked", async () => {
    const { token } = await create(alice, { name: "doomed" });
    expect((await api("DELETE", `/api/v1/tokens/${token.id}`, alice)).statusCode).toBe(204);
    const live = (await api("GET", "/api/v1/tokens", alice)).json() as { items: TokenJson[] };
    expect(live.items.map((i) => i.name)).toEqual(["bootstrap"]);
    const all = (await api("GET", "/api/v1/tokens?includeRevoked=true", alice)).json() as {
      items: TokenJson[];
    };
    expect(all.items.find((i) => i.name === "doomed")?.revokedAt).toBe(new Date(t.clock.now()).toISOString());
  });

  it("refuses a forged cursor and a silly limit with 400", async () => {
    for (const query of [
      "cursor=abc",
      `cursor=${Buffer.from('["x"]').toString("base64url")}`,
      "limit=0",
      "limit=9999",
      "limit=ten",
    ]) {
      const response = await api("GET", `/api/v1/tokens?${query}`, alice);
      expect(response.statusCode, query).toBe(400);
    }
  });

  it("counts uses, including those not yet written", async () => {
    const { token, value } = await create(alice);
    await me(basic("alice", value));
    await me(basic("alice", value));
    const got = (await api("GET", `/api/v1/tokens/${token.id}`, alice)).json() as TokenJson;
    expect(got.useCount).toBe(2);
    expect(got.lastUsedAt).toBe(new Date(t.clock.now()).toISOString());
  });
});

describe("GET, PATCH, DELETE /api/v1/tokens/{id}", () => {
  it("renames and revokes; a revoked token stops working at once", async () => {
    const { token, value } = await create(alice, { name: "old" });
    const auth = basic("alice", value);
    expect((await me(auth)).statusCode).toBe(200); // now cached
    const renamed = await api("PATCH", `/api/v1/tokens/${token.id}`, alice, { name: " new name " });
    expect(renamed.statusCode).toBe(200);
    expect((renamed.json() as TokenJson).name).toBe("new name");
    const revoked = await api("DELETE", `/api/v1/tokens/${token.id}`, alice);
    expect(revoked.statusCode).toBe(204);
    expect(revoked.body).toBe("");
    expect((await me(auth)).statusCode).toBe(401);
    // Revoking again changes nothing; renaming a revoked token is not possible.
    expect((await api("DELETE", `/api/v1/tokens/${token.id}`, alice)).statusCode).toBe(204);
    expect((await api("PATCH", `/api/v1/tokens/${token.id}`, alice, { name: "x" })).statusCode).toBe(404);
    const got = (await api("GET", `/api/v1/tokens/${token.id}`, alice)).json() as TokenJson;
    expect(got.revokedAt).not.toBeNull();
    const actions = (await t.store.queryAudit({ tokenId: token.id, limit: 10 })).map((e) => e.action);
    // The use of the revoked value is on the token's record too: someone still holds it.
    expect(actions).toEqual(["auth.failed", "token.revoked", "token.renamed", "token.created"]);
  });

  it("refuses a revoked value like an unknown one, but never counts it as a guess (no 429 for its holder)", async () => {
    const { token, value } = await create(alice, { name: "revoked" });
    await api("DELETE", `/api/v1/tokens/${token.id}`, alice);
    const auth = basic("alice", value);
    for (let i = 0; i < 40; i++) {
      const response = await me(auth);
      expect(response.statusCode).toBe(401);
      expect(errorOf(response).message).toBe("Invalid username, password or API token.");
    }
    // Guesses still count: after the per-user budget, a wrong value gets 429.
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await me(basic("alice", `stw_guess${i}`))).statusCode);
    expect(statuses).toContain(429);
  });

  it("lets an admin see and revoke anyone's token, and the owner of a service account its tokens", async () => {
    await t.addUser("root", "root-password", { admin: true });
    const root = basic("root", (await t.addToken("root")).value);
    const { token } = await create(alice, { name: "alice's" });
    expect((await api("GET", `/api/v1/tokens/${token.id}`, root)).statusCode).toBe(200);
    expect((await api("DELETE", `/api/v1/tokens/${token.id}`, root)).statusCode).toBe(204);
    const created = await api("POST", "/api/v1/users", root, {
      id: "ci-bot",
      kind: "service",
      ownerId: "alice",
    });
    expect(created.statusCode).toBe(201);
    const bot = await t.addToken("ci-bot");
    expect((await api("GET", `/api/v1/tokens/${bot.id}`, alice)).statusCode).toBe(200);
    // Service accounts exist to own tokens and admins manage them: an admin creates theirs without the
    // "admins may generate tokens for others" setting (still off here), which a human's tokens need.
    const ownerless = await api("POST", "/api/v1/users", root, { id: "deployer", kind: "service" });
    expect(ownerless.statusCode).toBe(201);
    expect((await api("POST", "/api/v1/users/deployer/tokens", root, { name: "d" })).statusCode).toBe(201);
    expect((await api("POST", "/api/v1/users/alice/tokens", root, { name: "a" })).statusCode).toBe(403);
    expect(
      (await api("GET", `/api/v1/tokens/${bot.id}`, basic("bob", (await t.addToken("bob")).value)))
        .statusCode,
    ).toBe(404);
  });
});

describe("revoke all", () => {
  it("DELETE /api/v1/tokens revokes all my tokens, or all but ?except=; an unknown except revokes nothing", async () => {
    const keep = await create(alice, { name: "keep" });
    const other = await create(alice, { name: "other" });
    const bobs = await t.addToken("bob");
    // An empty id appended to the path (`DELETE /api/v1/tokens/$ID`) must never revoke everything.
    for (const url of ["/api/v1/tokens/", "/api/v1/tokens//", "/api/v1/users/alice/tokens/"]) {
      const slashed = await api("DELETE", url, alice);
      expect(slashed.statusCode, url).toBe(404);
    }
    expect((await me(basic("alice", other.value))).statusCode).toBe(200);
    const unknown = await api("DELETE", "/api/v1/tokens?except=00000000-0000-4000-8000-000000000000", alice);
    expect(unknown.statusCode).toBe(400);
    expect((await me(basic("alice", other.value))).statusCode).toBe(200);
    const notMine = await api("DELETE", `/api/v1/tokens?except=${bobs.id}`, alice);
    expect(notMine.statusCode).toBe(400);
    const revoked = await api("DELETE", `/api/v1/tokens?except=${keep.token.id}`, alice);
    expect(revoked.statusCode).toBe(200);
    // The bootstrap token that made the call, and "other".
    expect(revoked.json()).toEqual({ revoked: 2 });
    expect((await me(basic("alice", other.value))).statusCode).toBe(401);
    expect((await me(alice)).statusCode).toBe(401);
    const kept = basic("alice", keep.value);
    expect((await me(kept)).statusCode).toBe(200);
    expect((await me(basic("bob", bobs.value))).statusCode).toBe(200);
    expect((await api("DELETE", "/api/v1/tokens", kept)).json()).toEqual({ revoked: 1 });
    expect((await me(kept)).statusCode).toBe(401);
  });

  it("DELETE /api/v1/users/{id}/tokens: an admin revokes all of a user's tokens; others get 404", async () => {
    await t.addUser("root", "root-password", { admin: true });
    const root = basic("root", (await t.addToken("root")).value);
    const bob = basic("bob", (await t.addToken("bob")).value);
    expect((await api("DELETE", "/api/v1/users/alice/tokens", bob)).statusCode).toBe(404);
    expect((await me(alice)).statusCode).toBe(200);
    const response = await api("DELETE", "/api/v1/users/alice/tokens", root);
    expect(response.json()).toEqual({ revoked: 1 });
    expect((await me(alice)).statusCode).toBe(401);
    const events = await t.store.queryAudit({ action: "token.revoked.all", limit: 1 });
    expect(events[0]).toMatchObject({ actorUserId: "root", targetUserId: "alice" });
  });
});

describe("expiry", () => {
  it("refuses an expired token with 401 token_expired, using the injected clock", async () => {
    const { value } = await create(alice, { name: "short", expiresIn: 60 });
    const auth = basic("alice", value);
    const ok = await me(auth);
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["steward-token-expires"]).toBe(new Date(t.clock.now() + 60_000).toISOString());
    t.clock.advance(59_999);
    expect((await me(auth)).statusCode).toBe(200);
    t.clock.advance(1);
    const expired = await me(auth);
    expect(expired.statusCode).toBe(401);
    expect(errorOf(expired).code).toBe("token_expired");
    expect(errorOf(expired).message).toMatch(/expired/);
    expect(expired.headers["www-authenticate"]).toBe('Basic realm="Steward"');
  });

  it("takes an ISO 8601 expiry", async () => {
    const at = new Date(t.clock.now() + 3_600_000).toISOString();
    const { token, value } = await create(alice, { expiresAt: at });
    expect(token.expiresAt).toBe(at);
    t.clock.advance(3_600_000);
    expect(errorOf(await me(basic("alice", value))).code).toBe("token_expired");
  });
});

describe("rotation", () => {
  it("keeps both values working during the grace period, then only the new one", async () => {
    const old = await create(alice, { name: "rotating", scopes: ["tokens:read"], expiresIn: 86_400 });
    const oldAuth = basic("alice", old.value);
    expect((await me(oldAuth)).statusCode).toBe(200);
    t.clock.advance(1000);
    const response = await api("POST", `/api/v1/tokens/${old.token.id}/rotate`, alice, { graceSeconds: 300 });
    expect(response.statusCode).toBe(200);
    expect(response.headers["cache-control"]).toBe("no-store");
    const next = response.json() as Issued;
    expect(next.value).not.toBe(old.value);
    expect(next.token).toMatchObject({ name: "rotating", scopes: ["tokens:read"], revokedAt: null });
    expect(next.token.id).not.toBe(old.token.id);
    // Lifetime carries over, counted from the rotation.
    expect(next.token.expiresAt).toBe(new Date(t.clock.now() + 86_400_000).toISOString());
    const newAuth = basic("alice", next.value);
    expect((await me(oldAuth)).statusCode).toBe(200);
    expect((await me(newAuth)).statusCode).toBe(200);
    t.clock.advance(299_999);
    expect((await me(oldAuth)).statusCode).toBe(200);
    t.clock.advance(1);
    expect((await me(oldAuth)).statusCode).toBe(401);
    expect((await me(newAuth)).statusCode).toBe(200);
  });

  it("with no grace, the old value stops at once", async () => {
    const old = await create(alice);
    const oldAuth = basic("alice", old.value);
    expect((await me(oldAuth)).statusCode).toBe(200);
    const next = (await api("POST", `/api/v1/tokens/${old.token.id}/rotate`, alice)).json() as Issued;
    expect((await me(oldAuth)).statusCode).toBe(401);
    expect((await me(basic("alice", next.value))).statusCode).toBe(200);
  });

  it("refuses a replayed rotation with 409 and records it", async () => {
    const old = await create(alice);
    await api("POST", `/api/v1/tokens/${old.token.id}/rotate`, alice, { graceSeconds: 60 });
    const replay = await api("POST", `/api/v1/tokens/${old.token.id}/rotate`, alice, { graceSeconds: 60 });
    expect(replay.statusCode).toBe(409);
    const events = await t.store.queryAudit({ action: "token.rotate.replayed", limit: 5 });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ targetTokenId: old.token.id, outcome: "denied", actorUserId: "alice" });
  });

  it("bounds the grace period by the policy", async () => {
    const old = await create(alice);
    const max = t.services.deps.settings.current.maxRotationGraceSeconds;
    const response = await api("POST", `/api/v1/tokens/${old.token.id}/rotate`, alice, {
      graceSeconds: max + 1,
    });
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).message).toContain(`from 0 to ${max}`);
    const negative = await api("POST", `/api/v1/tokens/${old.token.id}/rotate`, alice, { graceSeconds: -1 });
    expect(negative.statusCode).toBe(400);
  });

  it("self-rotation works with the token alone, no body needed", async () => {
    const old = await create(alice, { name: "ci", scopes: ["tokens:write"] });
    const oldAuth = basic("alice", old.value);
    const response = await t.app.inject({
      method: "POST",
      url: "/api/v1/tokens/self/rotate",
      headers: { authorization: oldAuth },
    });
    expect(response.statusCode, response.body).toBe(200);
    const next = response.json() as Issued;
    expect(next.token).toMatchObject({ name: "ci", scopes: ["tokens:write"] });
    expect((await me(oldAuth)).statusCode).toBe(401);
    expect((await me(basic("alice", next.value))).statusCode).toBe(200);
    const events = await t.store.queryAudit({ action: "token.rotated", limit: 1 });
    expect(events[0]).toMatchObject({ actorTokenId: old.token.id, targetTokenId: old.token.id });
    expect(events[0]!.details).toMatchObject({ newTokenId: next.token.id, graceSeconds: 0 });
  });

  it("self-rotation with grace, then replay from the old value is refused", async () => {
    const old = await create(alice);
    const oldAuth = basic("alice", old.value);
    const first = await api("POST", "/api/v1/tokens/self/rotate", oldAuth, { graceSeconds: 60 });
    expect(first.statusCode).toBe(200);
    const again = await api("POST", "/api/v1/tokens/self/rotate", oldAuth, {});
    expect(again.statusCode).toBe(409);
  });

  it("self-rotation is only for tokens", async () => {
    const response = await api("POST", "/api/v1/tokens/self/rotate", basic("alice", "alice-password"), {});
    // A password caller needs a crumb first, like any state-changing call.
    expect(response.statusCode).toBe(403);
  });
});

describe("scopes", () => {
  it("a scoped token is refused outside its scopes, naming the missing one", async () => {
    const reader = basic("alice", (await create(alice, { scopes: ["tokens:read"] })).value);
    expect((await api("GET", "/api/v1/tokens", reader)).statusCode).toBe(200);
    const write = await api("POST", "/api/v1/tokens", reader, { name: "x" });
    expect(write.statusCode).toBe(403);
    expect(errorOf(write)).toEqual({
      code: "missing_scope",
      message: 'This token lacks the scope "tokens:write".',
    });
    // The Jenkins surface needs jenkins:api.
    const jenkins = await t.app.inject({ url: "/me/api/json", headers: { authorization: reader } });
    expect(jenkins.statusCode).toBe(403);
  });

  it("a scoped token can only hand out scopes it has, and its children inherit its scopes", async () => {
    const writer = basic("alice", (await create(alice, { scopes: ["tokens:write"] })).value);
    const wider = await api("POST", "/api/v1/tokens", writer, { scopes: ["tokens:write", "users:read"] });
    expect(wider.statusCode).toBe(403);
    expect(errorOf(wider).message).toContain('"users:read"');
    const child = (await api("POST", "/api/v1/tokens", writer, { name: "child" })).json() as Issued;
    expect(child.token.scopes).toEqual(["tokens:write"]);
  });

  it("a scoped token cannot rotate a token that can do more", async () => {
    const writer = basic("alice", (await create(alice, { scopes: ["tokens:write"] })).value);
    const { token } = await create(alice, { name: "unscoped" });
    const response = await api("POST", `/api/v1/tokens/${token.id}/rotate`, writer, {});
    expect(response.statusCode).toBe(403);
    expect(errorOf(response).code).toBe("missing_scope");
    // Nothing happened.
    expect(
      ((await api("GET", `/api/v1/tokens/${token.id}`, alice)).json() as TokenJson).revokedAt,
    ).toBeNull();
  });

  it("a scoped token never exceeds its owner", async () => {
    const scoped = basic("alice", (await create(alice, { scopes: ["users:read", "audit:read"] })).value);
    expect((await api("GET", "/api/v1/users", scoped)).statusCode).toBe(403);
    expect((await api("GET", "/api/v1/audit", scoped)).statusCode).toBe(403);
  });
});

describe("Authorization: Bearer", () => {
  it("authenticates a token on the REST API; a wrong one is 401; the Jenkins surface ignores the scheme", async () => {
    const { token, value } = await create(alice, { name: "bearer" });
    const me = await api("GET", "/api/v1/me", `Bearer ${value}`);
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: "alice", authenticatedBy: "token", tokenId: token.id });
    const created = await api("POST", "/api/v1/tokens", `bearer ${value}`, { name: "by bearer" });
    expect(created.statusCode).toBe(201);
    for (const auth of ["Bearer stw_wrong", "Bearer", `Bearer ${value}x`]) {
      const refused = await api("GET", "/api/v1/me", auth);
      expect(refused.statusCode, auth).toBe(401);
      expect(refused.headers["www-authenticate"]).toBe('Basic realm="Steward"');
    }
    await api("DELETE", `/api/v1/tokens/${token.id}`, alice);
    expect((await api("GET", "/api/v1/me", `Bearer ${value}`)).statusCode).toBe(401);
    // JENKINS.md §4: a non-Basic scheme is no credential there (anonymous → 403 pointing to the login).
    const other = await create(alice, { name: "jenkins" });
    const jenkins = await t.app.inject({
      url: "/me/api/json",
      headers: { authorization: `Bearer ${other.value}` },
    });
    expect(jenkins.statusCode).toBe(403);
  });
});

describe("a token creating tokens", () => {
  it("hands on no later expiry and no wider networks than its own; by default its own limits", async () => {
    const parent = await create(alice, { name: "parent", expiresIn: 3600, allowedCidrs: ["10.0.0.0/8"] });
    const auth = basic("alice", parent.value);
    const from = { remoteAddress: "10.1.2.3" };
    const child = await api("POST", "/api/v1/tokens", auth, { name: "child" }, from);
    expect(child.statusCode, child.body).toBe(201);
    expect((child.json() as Issued).token).toMatchObject({
      expiresAt: parent.token.expiresAt,
      allowedCidrs: ["10.0.0.0/8"],
    });
    const narrower = await api(
      "POST",
      "/api/v1/tokens",
      auth,
      { name: "narrow", expiresIn: 60, allowedCidrs: ["10.1.0.0/16"] },
      from,
    );
    expect(narrower.statusCode).toBe(201);
    const outlives = await api("POST", "/api/v1/tokens", auth, { name: "long", expiresIn: 7200 }, from);
    expect(outlives.statusCode).toBe(400);
    expect(errorOf(outlives).message).toContain("cannot create a token that outlives it");
    const wider = await api(
      "POST",
      "/api/v1/tokens",
      auth,
      { name: "wide", allowedCidrs: ["0.0.0.0/0"] },
      from,
    );
    expect(wider.statusCode).toBe(400);
    expect(errorOf(wider).message).toContain("0.0.0.0/0 is not");
    // A password or session caller is not bound by any token's limits.
    const free = await create(alice, { name: "free" });
    expect(free.token).toMatchObject({ expiresAt: null, allowedCidrs: null });
  });
});

describe("IP allow-lists", () => {
  it("refuses the token from another address", async () => {
    const { token, value } = await create(alice, { allowedCidrs: ["10.0.0.0/8", "2001:db8::/32"] });
    expect(token.allowedCidrs).toEqual(["10.0.0.0/8", "2001:db8::/32"]);
    const auth = basic("alice", value);
    expect((await me(auth, "10.1.2.3")).statusCode).toBe(200);
    expect((await me(auth, "::ffff:10.1.2.3")).statusCode).toBe(200);
    expect((await me(auth, "2001:db8::7")).statusCode).toBe(200);
    const refused = await me(auth, "192.168.1.1");
    expect(refused.statusCode).toBe(403);
    expect(errorOf(refused)).toEqual({
      code: "ip_not_allowed",
      message: "This API token may not be used from this address.",
    });
    expect((await me(auth, "127.0.0.1")).statusCode).toBe(403);
  });
});

describe("POST /api/v1/tokens/report-leak", () => {
  const report = (tokens: unknown, remoteAddress = "203.0.113.9") =>
    api("POST", "/api/v1/tokens/report-leak", null, { tokens }, { remoteAddress });

  it("revokes matching tokens and answers exactly as when nothing matches", async () => {
    const leaked = await create(alice, { name: "pasted in a gist" });
    const rotated = await create(alice, { name: "rotating" });
    const graced = rotated.value;
    await api("POST", `/api/v1/tokens/${rotated.token.id}/rotate`, alice, { graceSeconds: 3600 });
    const innocent = await create(alice, { name: "innocent" });
    const auth = basic("alice", leaked.value);
    expect((await me(auth)).statusCode).toBe(200);

    const forged = `stw_${"A".repeat(36)}`;
    // Well-formed, right checksum, but never issued.
    const unknownButValid = generateStewardToken(systemRandom);
    const hit = await report([leaked.value, graced, "garbage", forged]);
    const miss = await report(["garbage", forged, unknownButValid, "x"]);
    expect(hit.statusCode).toBe(202);
    expect(miss.statusCode).toBe(202);
    expect(hit.body).toBe(miss.body);
    expect(hit.json()).toEqual({ received: 4 });
    const headersOf = (r: LightMyRequestResponse) =>
      Object.keys(r.headers)
        .filter((h) => h !== "date")
        .sort()
        .map(
          (h) =>
            `${h}: ${h === "content-length" || h.startsWith("x-") || h.startsWith("content") ? r.headers[h] : "…"}`,
        );
    expect(headersOf(hit)).toEqual(headersOf(miss));

    expect((await me(auth)).statusCode).toBe(401);
    expect((await me(basic("alice", graced))).statusCode).toBe(401);
    expect((await me(basic("alice", innocent.value))).statusCode).toBe(200);
    const events = await t.store.queryAudit({ action: "token.leak-reported", limit: 10 });
    expect(events.map((e) => e.targetTokenId).sort()).toEqual([leaked.token.id, rotated.token.id].sort());
    expect(events[0]).toMatchObject({ actorUserId: null, targetUserId: "alice", ip: "203.0.113.9" });
    // The answer and the events never hold a value.
    expect(JSON.stringify(events)).not.toContain(leaked.value);
  });

  it("matches a value only in its own format", async () => {
    const jenkins = await create(alice, { format: "jenkins" });
    // The bare 32-hex secret of an `11…` token is not that token.
    await report([jenkins.value.slice(2)]);
    expect((await me(basic("alice", jenkins.value))).statusCode).toBe(200);
    await report([` ${jenkins.value} `]);
    expect((await me(basic("alice", jenkins.value))).statusCode).toBe(401);
  });

  it("needs no credentials and no crumb, and refuses bad bodies", async () => {
    expect((await report([])).statusCode).toBe(202);
    expect((await report(Array.from({ length: 1001 }, () => "x"))).statusCode).toBe(400);
    expect((await report("stw_x")).statusCode).toBe(400);
    expect((await report([42])).statusCode).toBe(400);
    const form = await api("POST", "/api/v1/tokens/report-leak", null, "tokens=x", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      remoteAddress: "203.0.113.9",
    });
    expect(form.statusCode).toBe(415);
  });

  it("is rate-limited per client address", async () => {
    for (let i = 0; i < LEAK_REPORTS_PER_WINDOW; i++) {
      expect((await report(["x"], "198.51.100.1")).statusCode).toBe(202);
    }
    const limited = await report(["x"], "198.51.100.1");
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(errorOf(limited).code).toBe("rate_limited");
    // Another address is not affected; the window passes.
    expect((await report(["x"], "198.51.100.2")).statusCode).toBe(202);
    t.clock.advance(60_000);
    expect((await report(["x"], "198.51.100.1")).statusCode).toBe(202);
  });
});
