import type { LightMyRequestResponse } from "fastify";
import type { Scope } from "../../src/core/permissions.js";
import { basic, createTestApp, fetchCrumb, SYSTEM_ACTOR, signIn, type TestApp } from "./harness.js";

/**
 * Every /api/v1 operation, with what it demands and a valid request for it: the table the shared
 * security harness (STYLE habit 10) and the OpenAPI tests run over. A route missing here fails the
 * coverage test, so a new route cannot ship without its security tests.
 */
export interface ApiRoute {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** As in the OpenAPI document: `/api/v1/tokens/{id}`. */
  path: string;
  /** No authentication at all (and no crumb). */
  public?: boolean;
  /** The scope a token caller needs; null = any authenticated caller. */
  scope: Scope | null;
  admin: boolean;
  /** `{id}` is a token: another user's is answered 404. */
  tokenParam?: boolean;
  /** `{id}` is a user whose tokens are managed: another user's is answered 404 to non-admins. */
  tokenOwnerParam?: boolean;
  /** A valid body. */
  body?: (world: World) => unknown;
  /** Path parameters for a request by `caller` that should succeed (fresh resources: some get consumed). */
  params?: (world: World) => Promise<Record<string, string>>;
}

const STATE_CHANGING = new Set(["POST", "PATCH", "DELETE"]);
export const isStateChanging = (route: ApiRoute) => STATE_CHANGING.has(route.method);

let counter = 0;
export const unique = (prefix: string) => `${prefix}${++counter}`;

export const API_ROUTES: readonly ApiRoute[] = [
  { method: "GET", path: "/api/v1/me", scope: null, admin: false },
  { method: "GET", path: "/api/v1/openapi.json", public: true, scope: null, admin: false },
  { method: "GET", path: "/api/v1/docs", public: true, scope: null, admin: false },
  { method: "GET", path: "/api/v1/tokens", scope: "tokens:read", admin: false },
  {
    method: "POST",
    path: "/api/v1/tokens",
    scope: "tokens:write",
    admin: false,
    body: () => ({ name: "harness" }),
  },
  {
    method: "GET",
    path: "/api/v1/tokens/{id}",
    scope: "tokens:read",
    admin: false,
    tokenParam: true,
    params: async (w) => ({ id: (await w.token("root")).id }),
  },
  {
    method: "PATCH",
    path: "/api/v1/tokens/{id}",
    scope: "tokens:write",
    admin: false,
    tokenParam: true,
    body: () => ({ name: "renamed" }),
    params: async (w) => ({ id: (await w.token("root")).id }),
  },
  {
    method: "DELETE",
    path: "/api/v1/tokens/{id}",
    scope: "tokens:write",
    admin: false,
    tokenParam: true,
    params: async (w) => ({ id: (await w.token("root")).id }),
  },
  {
    method: "POST",
    path: "/api/v1/tokens/{id}/rotate",
    scope: "tokens:write",
    admin: false,
    tokenParam: true,
    body: () => ({ graceSeconds: 0 }),
    // Within tokens:write, so that a token holding only that scope may rotate it.
    params: async (w) => ({ id: (await w.token("root", ["tokens:write"])).id }),
  },
  {
    method: "POST",
    path: "/api/v1/tokens/self/rotate",
    scope: "tokens:write",
    admin: false,
    body: () => ({}),
  },
  {
    method: "POST",
    path: "/api/v1/tokens/report-leak",
    public: true,
    scope: null,
    admin: false,
    body: () => ({ tokens: ["stw_not-a-real-token"] }),
  },
  { method: "GET", path: "/api/v1/users", scope: "users:read", admin: true },
  {
    method: "POST",
    path: "/api/v1/users",
    scope: "users:write",
    admin: true,
    body: () => ({ id: unique("svc"), kind: "service", ownerId: "alice" }),
  },
  {
    method: "GET",
    path: "/api/v1/users/{id}",
    scope: "users:read",
    admin: true,
    params: async () => ({ id: "bob" }),
  },
  {
    method: "PATCH",
    path: "/api/v1/users/{id}",
    scope: "users:write",
    admin: true,
    body: () => ({ fullName: "Bob Builder" }),
    params: async () => ({ id: "bob" }),
  },
  {
    method: "DELETE",
    path: "/api/v1/users/{id}",
    scope: "users:write",
    admin: true,
    params: async (w) => ({ id: await w.user() }),
  },
  {
    method: "GET",
    path: "/api/v1/users/{id}/tokens",
    scope: "tokens:read",
    admin: false,
    tokenOwnerParam: true,
    params: async () => ({ id: "bob" }),
  },
  {
    method: "POST",
    path: "/api/v1/users/{id}/tokens",
    scope: "tokens:write",
    admin: false,
    tokenOwnerParam: true,
    body: () => ({ name: "for bob" }),
    params: async () => ({ id: "bob" }),
  },
  {
    method: "DELETE",
    path: "/api/v1/users/{id}/tokens",
    scope: "tokens:write",
    admin: false,
    tokenOwnerParam: true,
    params: async () => ({ id: "bob" }),
  },
  { method: "DELETE", path: "/api/v1/tokens", scope: "tokens:write", admin: false },
  { method: "GET", path: "/api/v1/settings", scope: "settings:write", admin: true },
  {
    method: "PATCH",
    path: "/api/v1/settings",
    scope: "settings:write",
    admin: true,
    body: () => ({ usageStatisticsEnabled: true }),
  },
  { method: "GET", path: "/api/v1/audit", scope: "audit:read", admin: true },
  { method: "GET", path: "/api/v1/audit/export", scope: "audit:read", admin: true },
  // Audit notifications (issue 5).
  {
    method: "GET",
    path: "/api/v1/tokens/{id}/addresses",
    scope: "tokens:read",
    admin: false,
    tokenParam: true,
    params: async (w) => ({ id: (await w.token("root")).id }),
  },
  { method: "GET", path: "/api/v1/expiry-warnings", scope: "tokens:read", admin: false },
  { method: "GET", path: "/api/v1/webhooks", scope: "settings:write", admin: true },
  {
    method: "POST",
    path: "/api/v1/webhooks",
    scope: "settings:write",
    admin: true,
    // Never called: no sender runs in these tests, deliveries only queue.
    body: () => ({ url: "http://127.0.0.1:9/hook", events: ["token.revoked"] }),
  },
  {
    method: "DELETE",
    path: "/api/v1/webhooks/{id}",
    scope: "settings:write",
    admin: true,
    params: async (w) => ({ id: await w.webhook() }),
  },
  {
    method: "GET",
    path: "/api/v1/webhooks/{id}/deliveries",
    scope: "settings:write",
    admin: true,
    params: async (w) => ({ id: await w.webhook() }),
  },
  {
    method: "POST",
    path: "/api/v1/webhooks/{id}/test",
    scope: "settings:write",
    admin: true,
    params: async (w) => ({ id: await w.webhook() }),
  },
];

export const PASSWORDS: Record<string, string> = {
  root: "root-password",
  alice: "alice-password",
  bob: "bob-password",
};

/** A Steward with an admin (root), two users (alice, bob), and helpers to mint what requests need. */
export interface World {
  t: TestApp;
  /** A fresh token of `user`, optionally scoped. */
  token(user: string, scopes?: Scope[]): Promise<{ id: string; value: string; auth: string }>;
  /** A fresh user (to be deleted). */
  user(): Promise<string>;
  /** A fresh webhook (to be deleted or tested); its id. */
  webhook(): Promise<string>;
  /** root's browser session and a valid crumb for it. */
  session: { cookie: string; crumb: string };
  /** Sends one request for `route`. */
  call(
    route: ApiRoute,
    options: {
      headers?: Record<string, string>;
      params?: Record<string, string>;
      body?: unknown;
      remoteAddress?: string;
    },
  ): Promise<LightMyRequestResponse>;
}

export function urlOf(route: ApiRoute, params: Record<string, string> = {}): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? "missing"));
}

export async function createWorld(): Promise<World> {
  const t = await createTestApp();
  await t.addUser("root", PASSWORDS.root!, { admin: true });
  await t.addUser("alice", PASSWORDS.alice!);
  await t.addUser("bob", PASSWORDS.bob!);
  // So that an admin's POST /users/{id}/tokens is allowed in the positive checks.
  await t.updateSettings({ adminCanGenerateTokensForOthers: true });
  const cookie = await signIn(t.app, "root", PASSWORDS.root!);
  const session = await fetchCrumb(t.app, { cookie });
  const world: World = {
    t,
    session,
    async token(user, scopes) {
      const issued = await t.addToken(user, scopes ? { scopes } : {});
      return { ...issued, auth: basic(user, issued.value) };
    },
    async user() {
      const id = unique("doomed");
      await t.services.users.create(SYSTEM_ACTOR, { id, kind: "service" });
      return id;
    },
    async webhook() {
      const { webhook } = await t.services.webhooks.create(SYSTEM_ACTOR, {
        url: "http://127.0.0.1:9/hook",
        events: ["token.revoked"],
      });
      return webhook.id;
    },
    async call(route, { headers = {}, params, body, remoteAddress }) {
      const payload = body ?? route.body?.(world);
      return t.app.inject({
        method: route.method,
        url: urlOf(route, params ?? (route.params ? await route.params(world) : {})),
        headers: payload === undefined ? headers : { "content-type": "application/json", ...headers },
        ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
        ...(remoteAddress ? { remoteAddress } : {}),
      });
    },
  };
  return world;
}

export function errorOf(response: LightMyRequestResponse): { code: string; message: string } {
  return (response.json() as { error: { code: string; message: string } }).error;
}
