import type { LightMyRequestResponse } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { basic, createTestApp, signIn, type TestApp } from "./support/harness.js";

interface UserJson {
  id: string;
  fullName: string;
  email: string | null;
  roles: string[];
  kind: "user" | "service";
  ownerId: string | null;
  disabled: boolean;
  hasPassword: boolean;
  createdAt: string;
}
interface EventJson {
  id: number;
  at: string;
  action: string;
  actor: { userId: string | null; tokenId: string | null };
  target: { userId: string | null; tokenId: string | null };
  ip: string | null;
  userAgent: string | null;
  outcome: string;
  requestId: string | null;
  details: Record<string, unknown>;
}

let t: TestApp;
let root: string;
let rootTokenId: string;
let alice: string;

beforeEach(async () => {
  t = await createTestApp();
  await t.addUser("root", "root-password", { admin: true });
  await t.addUser("alice", "alice-password");
  const token = await t.addToken("root", { name: "admin cli" });
  root = basic("root", token.value);
  rootTokenId = token.id;
  alice = basic("alice", (await t.addToken("alice")).value);
});
afterEach(async () => {
  await t.close();
});

function api(
  method: "GET" | "POST" | "PATCH" | "DELETE",
  url: string,
  auth: string,
  body?: unknown,
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method,
    url,
    headers: {
      authorization: auth,
      "user-agent": "api-users-test",
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}
const errorOf = (r: LightMyRequestResponse) =>
  (r.json() as { error: { code: string; message: string } }).error;

describe("users and service accounts", () => {
  it("creates a user who can then sign in and use tokens", async () => {
    const created = await api("POST", "/api/v1/users", root, {
      id: "Carol.Smith",
      fullName: "Carol Smith",
      email: "carol@example.com",
      password: "carol-password",
      roles: ["user"],
    });
    expect(created.statusCode).toBe(201);
    const user = created.json() as UserJson;
    expect(user).toEqual({
      id: "Carol.Smith",
      fullName: "Carol Smith",
      email: "carol@example.com",
      roles: ["user"],
      kind: "user",
      ownerId: null,
      disabled: false,
      hasPassword: true,
      createdAt: new Date(t.clock.now()).toISOString(),
    });
    expect(created.body).not.toContain("scrypt");
    expect(await signIn(t.app, "carol.smith", "carol-password")).toMatch(/^steward_session=/);
    const again = await api("POST", "/api/v1/users", root, { id: "carol.SMITH" });
    expect(again.statusCode).toBe(409);
  });

  it("creates service accounts: no password, an owner who manages their tokens", async () => {
    const withPassword = await api("POST", "/api/v1/users", root, {
      id: "deploy-bot",
      kind: "service",
      password: "something-long",
    });
    expect(withPassword.statusCode).toBe(400);
    expect(errorOf(withPassword).message).toContain("service account has no password");

    const created = await api("POST", "/api/v1/users", root, {
      id: "deploy-bot",
      kind: "service",
      ownerId: "alice",
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ kind: "service", ownerId: "alice", hasPassword: false });

    // Its owner (not an admin) can create and list its tokens; the token works for the service account.
    const issued = await api("POST", "/api/v1/users/deploy-bot/tokens", alice, { name: "pipeline" });
    expect(issued.statusCode).toBe(201);
    const { token, value } = issued.json() as { token: { id: string; userId: string }; value: string };
    expect(token.userId).toBe("deploy-bot");
    const who = await t.app.inject({
      url: "/api/v1/me",
      headers: { authorization: basic("deploy-bot", value) },
    });
    expect(who.json()).toMatchObject({ id: "deploy-bot", kind: "service" });
    const list = await api("GET", "/api/v1/users/deploy-bot/tokens", alice);
    expect((list.json() as { items: { id: string }[] }).items.map((i) => i.id)).toEqual([token.id]);
    // A service account cannot sign in, and cannot be given a password later.
    const patched = await api("PATCH", "/api/v1/users/deploy-bot", root, { password: "a-new-password" });
    expect(patched.statusCode).toBe(400);
    // Ownership moves.
    await t.addUser("dave", "dave-password");
    const moved = await api("PATCH", "/api/v1/users/deploy-bot", root, { ownerId: "dave" });
    expect((moved.json() as UserJson).ownerId).toBe("dave");
    expect((await api("GET", "/api/v1/users/deploy-bot/tokens", alice)).statusCode).toBe(404);
  });

  it("refuses bad input with a message naming the field", async () => {
    for (const [body, message] of [
      [{ id: "no spaces allowed" }, "A user id is 1 to 64 characters"],
      [{ id: "eve", kind: "robot" }, "body.kind must be one of: user, service"],
      [{ id: "eve", roles: ["superuser"] }, "body.roles.0 must be one of: admin, user"],
      [{ id: "eve", password: "short" }, "8 to 1024 characters"],
      [{ id: "eve", email: "not-an-email" }, "not an email address"],
      [{ id: "eve", ownerId: "alice" }, "Only a service account has an owner"],
      [{ id: "eve", isAdmin: true }, 'unknown field "isAdmin"'],
      [{ id: "eve", password: "eve-password", fullName: "a\u0007b" }, "control characters"],
      [{}, 'missing the field "id"'],
    ] as const) {
      const response = await api("POST", "/api/v1/users", root, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(response).message).toContain(message);
    }
    const empty = await api("PATCH", "/api/v1/users/alice", root, {});
    expect(empty.statusCode).toBe(400);
  });

  it("lists users in pages, filtered by kind and search", async () => {
    for (const id of ["u1", "u2", "u3"]) await t.addUser(id, `${id}-password`);
    await api("POST", "/api/v1/users", root, { id: "svc-a", kind: "service" });
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await api("GET", `/api/v1/users?limit=2${cursor ? `&cursor=${cursor}` : ""}`, root);
      const page = response.json() as { items: UserJson[]; next: string | null };
      ids.push(...page.items.map((u) => u.id));
      cursor = page.next;
    } while (cursor);
    expect(ids).toEqual(["alice", "root", "svc-a", "u1", "u2", "u3"]);
    const services = (await api("GET", "/api/v1/users?kind=service", root)).json() as { items: UserJson[] };
    expect(services.items.map((u) => u.id)).toEqual(["svc-a"]);
    const search = (await api("GET", "/api/v1/users?search=U2", root)).json() as { items: UserJson[] };
    expect(search.items.map((u) => u.id)).toEqual(["u2"]);
  });

  it("sets a password: the new one works, the old one and the user's sessions do not", async () => {
    const session = await signIn(t.app, "alice", "alice-password");
    const patched = await api("PATCH", "/api/v1/users/alice", root, {
      password: "brand-new-password",
      fullName: "Alice A.",
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ fullName: "Alice A.", hasPassword: true });
    const me = (auth: Record<string, string>) => t.app.inject({ url: "/api/v1/me", headers: auth });
    expect((await me({ authorization: basic("alice", "alice-password") })).statusCode).toBe(401);
    expect((await me({ authorization: basic("alice", "brand-new-password") })).statusCode).toBe(200);
    expect((await me({ cookie: session })).statusCode).toBe(401);
    const actions = (await t.store.queryAudit({ userId: "alice", limit: 5 })).map((e) => e.action);
    expect(actions.slice(0, 2)).toEqual(["user.password.changed", "user.updated"]);
  });

  it("deleting a user kills its tokens at once", async () => {
    await t.addUser("mallory", "mallory-password");
    const token = basic("mallory", (await t.addToken("mallory")).value);
    const me = () => t.app.inject({ url: "/api/v1/me", headers: { authorization: token } });
    expect((await me()).statusCode).toBe(200);
    const deleted = await api("DELETE", "/api/v1/users/mallory", root);
    expect(deleted.statusCode).toBe(204);
    expect((await me()).statusCode).toBe(401);
    expect((await api("GET", "/api/v1/users/mallory", root)).statusCode).toBe(404);
    expect((await api("DELETE", "/api/v1/users/mallory", root)).statusCode).toBe(404);
  });

  it("never removes the last administrator", async () => {
    const demote = await api("PATCH", "/api/v1/users/root", root, { roles: ["user"] });
    expect(demote.statusCode).toBe(409);
    expect((await api("DELETE", "/api/v1/users/root", root)).statusCode).toBe(409);
    expect((await api("PATCH", "/api/v1/users/root", root, { disabled: true })).statusCode).toBe(409);
  });
});

describe("a token acts with its owner's current permissions", () => {
  it("loses admin rights the moment its owner is demoted, though it was cached", async () => {
    await t.addUser("ops", "ops-password", { admin: true });
    const ops = basic("ops", (await t.addToken("ops", { scopes: ["users:read"] })).value);
    expect((await api("GET", "/api/v1/users", ops)).statusCode).toBe(200);
    const hits = t.services.verifier.hits;
    expect((await api("GET", "/api/v1/users", ops)).statusCode).toBe(200);
    expect(t.services.verifier.hits).toBe(hits + 1); // answered from the cache

    const demoted = await api("PATCH", "/api/v1/users/ops", root, { roles: ["user"] });
    expect(demoted.statusCode).toBe(200);
    expect((demoted.json() as UserJson).roles).toEqual(["user"]);
    const refused = await api("GET", "/api/v1/users", ops);
    expect(refused.statusCode).toBe(403);
    expect(errorOf(refused).code).toBe("forbidden");
    // Promoted again: admin again, at once.
    await api("PATCH", "/api/v1/users/ops", root, { roles: ["admin", "user"] });
    expect((await api("GET", "/api/v1/users", ops)).statusCode).toBe(200);
  });

  it("stops working the moment its owner is disabled, and works again when enabled", async () => {
    const me = () => t.app.inject({ url: "/api/v1/me", headers: { authorization: alice } });
    expect((await me()).statusCode).toBe(200);
    expect((await api("PATCH", "/api/v1/users/alice", root, { disabled: true })).statusCode).toBe(200);
    expect((await me()).statusCode).toBe(401);
    expect((await api("PATCH", "/api/v1/users/alice", root, { disabled: false })).statusCode).toBe(200);
    expect((await me()).statusCode).toBe(200);
  });
});

describe("GET, POST /api/v1/users/{id}/tokens", () => {
  it("shows an admin a user's tokens, never their values", async () => {
    const issued = await t.addToken("alice", { name: "second" });
    const response = await api("GET", "/api/v1/users/alice/tokens", root);
    expect(response.statusCode).toBe(200);
    const page = response.json() as { items: { name: string }[]; next: string | null };
    expect(page.items.map((i) => i.name)).toContain("second");
    expect(response.body).not.toContain(issued.value);
    expect(page.next).toBeNull();
    expect((await api("GET", "/api/v1/users/nobody/tokens", root)).statusCode).toBe(404);
  });

  it("lets an admin create tokens for others only when the policy allows", async () => {
    const refused = await api("POST", "/api/v1/users/alice/tokens", root, { name: "for alice" });
    expect(refused.statusCode).toBe(403);
    expect(errorOf(refused).message).toContain("Only the owner");
    const allowed = await api("PATCH", "/api/v1/settings", root, { adminCanGenerateTokensForOthers: true });
    expect(allowed.statusCode).toBe(200);
    const created = await api("POST", "/api/v1/users/alice/tokens", root, {
      name: "for alice",
      expiresIn: 3600,
    });
    expect(created.statusCode).toBe(201);
    const { token, value } = created.json() as {
      token: { userId: string; expiresAt: string };
      value: string;
    };
    expect(token.userId).toBe("alice");
    const who = await t.app.inject({ url: "/api/v1/me", headers: { authorization: basic("alice", value) } });
    expect(who.json()).toMatchObject({ id: "alice" });
    const event = (await t.store.queryAudit({ action: "token.created", limit: 1 }))[0]!;
    expect(event).toMatchObject({ actorUserId: "root", targetUserId: "alice" });
  });

  it("lets users use it for themselves", async () => {
    expect((await api("GET", "/api/v1/users/alice/tokens", alice)).statusCode).toBe(200);
    expect((await api("POST", "/api/v1/users/ALICE/tokens", alice, { name: "mine" })).statusCode).toBe(201);
  });
});

describe("GET, PATCH /api/v1/settings", () => {
  it("shows and changes the token policy, which applies at once", async () => {
    const before = (await api("GET", "/api/v1/settings", root)).json() as Record<string, unknown>;
    expect(before).toMatchObject({ maxTokenLifetimeSeconds: null, passwordBasicAuthEnabled: true });
    const patched = await api("PATCH", "/api/v1/settings", root, {
      maxTokenLifetimeSeconds: 86_400,
      defaultTokenLifetimeSeconds: 3600,
      passwordBasicAuthEnabled: false,
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      maxTokenLifetimeSeconds: 86_400,
      defaultTokenLifetimeSeconds: 3600,
    });
    expect(t.services.deps.settings.current.passwordBasicAuthEnabled).toBe(false);
    // In force: new tokens get the default lifetime, passwords over Basic are refused.
    const issued = await api("POST", "/api/v1/tokens", alice, { name: "x" });
    expect((issued.json() as { token: { expiresAt: string } }).token.expiresAt).toBe(
      new Date(t.clock.now() + 3_600_000).toISOString(),
    );
    const password = await t.app.inject({
      url: "/api/v1/me",
      headers: { authorization: basic("alice", "alice-password") },
    });
    expect(password.statusCode).toBe(401);
    const event = (await t.store.queryAudit({ action: "settings.updated", limit: 1 }))[0]!;
    expect(event).toMatchObject({ actorUserId: "root", actorTokenId: rootTokenId, outcome: "success" });
    expect(event.details).toEqual({
      changed: {
        maxTokenLifetimeSeconds: 86_400,
        defaultTokenLifetimeSeconds: 3600,
        passwordBasicAuthEnabled: false,
      },
    });
  });

  it("refuses inconsistent, unknown and mistyped settings", async () => {
    for (const [body, message] of [
      [
        { maxTokenLifetimeSeconds: 60, defaultTokenLifetimeSeconds: 120 },
        "cannot be longer than the maximum",
      ],
      [{ legacyTokensEnabled: "yes" }, "body.legacyTokensEnabled must be of type boolean"],
      [{ colour: "blue" }, 'unknown field "colour"'],
      [{ maxTokenLifetimeSeconds: 0 }, "body.maxTokenLifetimeSeconds must be >= 1"],
      [{ maxTokenLifetimeSeconds: 10 * 367 * 86_400 }, "at most ten years"],
      [{}, "body must NOT have fewer than 1 properties"],
    ] as const) {
      const response = await api("PATCH", "/api/v1/settings", root, body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(errorOf(response).message).toContain(message);
    }
    expect(t.services.deps.settings.current.maxTokenLifetimeSeconds).toBeNull();
  });
});

describe("GET /api/v1/audit/export", () => {
  it("streams every matching event as JSON lines, oldest first, for administrators only", async () => {
    const created = await api("POST", "/api/v1/tokens", alice, { name: "exported" });
    const tokenId = (created.json() as { token: { id: string } }).token.id;
    await api("DELETE", `/api/v1/tokens/${tokenId}`, alice);
    const response = await api("GET", `/api/v1/audit/export?token=${tokenId}`, root);
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("application/x-ndjson; charset=utf-8");
    const lines = response.body.trimEnd().split("\n");
    const events = lines.map((line) => JSON.parse(line) as EventJson);
    expect(events.map((e) => e.action)).toEqual(["token.created", "token.revoked"]);
    const listed = (await api("GET", `/api/v1/audit?token=${tokenId}`, root)).json() as {
      items: EventJson[];
    };
    expect(events).toEqual([...listed.items].reverse());
    expect((await api("GET", "/api/v1/audit/export", alice)).statusCode).toBe(403);
    expect((await api("GET", "/api/v1/audit/export?since=yesterday", root)).statusCode).toBe(400);
  });

  it("pages through the store: more events than one read are all exported, each once", async () => {
    // The export reads 500 events at a time.
    for (let i = 0; i < 510; i++) await api("POST", "/api/v1/tokens", alice, { name: `n${i}` });
    const response = await api("GET", "/api/v1/audit/export?action=token.created&user=alice", root);
    const ids = response.body
      .trimEnd()
      .split("\n")
      .map((line) => (JSON.parse(line) as EventJson).id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(510);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  });
});

describe("GET /api/v1/audit", () => {
  it("answers events in the documented shape, newest first", async () => {
    await api("POST", "/api/v1/tokens", alice, { name: "audited" });
    const response = await api("GET", "/api/v1/audit?limit=1", root);
    expect(response.statusCode).toBe(200);
    const page = response.json() as { items: EventJson[]; next: string | null };
    expect(page.next).not.toBeNull();
    const [event] = page.items;
    expect(Object.keys(event!).sort()).toEqual(
      ["id", "at", "action", "actor", "target", "ip", "userAgent", "outcome", "requestId", "details"].sort(),
    );
    expect(event).toMatchObject({
      at: new Date(t.clock.now()).toISOString(),
      action: "token.created",
      actor: { userId: "alice" },
      target: { userId: "alice" },
      ip: "127.0.0.1",
      userAgent: "api-users-test",
      outcome: "success",
    });
    expect(event!.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event!.details).toMatchObject({ name: "audited", format: "steward" });
  });

  it("filters by user, token, action and time, and pages with a cursor", async () => {
    t.clock.advance(60_000);
    const start = new Date(t.clock.now()).toISOString();
    const created = await api("POST", "/api/v1/tokens", alice, { name: "one" });
    const tokenId = (created.json() as { token: { id: string } }).token.id;
    await api("PATCH", `/api/v1/tokens/${tokenId}`, alice, { name: "two" });
    t.clock.advance(60_000);
    await api("DELETE", `/api/v1/tokens/${tokenId}`, alice);
    const query = async (q: string) => {
      const response = await api("GET", `/api/v1/audit?${q}`, root);
      expect(response.statusCode, response.body).toBe(200);
      return response.json() as { items: EventJson[]; next: string | null };
    };
    expect((await query(`token=${tokenId}`)).items.map((e) => e.action)).toEqual([
      "token.revoked",
      "token.renamed",
      "token.created",
    ]);
    expect((await query("action=token.renamed")).items).toHaveLength(1);
    expect((await query(`action=token.*&user=ALICE&since=${start}`)).items.map((e) => e.action)).toEqual([
      "token.revoked",
      "token.renamed",
      "token.created",
    ]);
    const until = new Date(t.clock.now()).toISOString();
    expect((await query(`since=${start}&until=${until}`)).items.map((e) => e.action)).toEqual([
      "token.renamed",
      "token.created",
    ]);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await query(`limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      all.push(...page.items.map((e) => String(e.id)));
      cursor = page.next;
    } while (cursor);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe((await t.store.queryAudit({ limit: 1000 })).length);
  });

  it("refuses malformed filters", async () => {
    for (const q of ["since=yesterday", "until=2026-13-45", "cursor=%5B%5D", "limit=-1"]) {
      const response = await api("GET", `/api/v1/audit?${q}`, root);
      expect(response.statusCode, q).toBe(400);
    }
  });
});
