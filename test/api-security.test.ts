import { randomUUID } from "node:crypto";
import Fastify, { type FastifyContextConfig } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SCOPES } from "../src/core/permissions.js";
import { registerApiV1 } from "../src/http/api-v1.js";
import {
  API_ROUTES,
  type ApiRoute,
  createWorld,
  errorOf,
  isStateChanging,
  PASSWORDS,
  unique,
  type World,
} from "./support/api-routes.js";
import { basic, fetchCrumb, signIn } from "./support/harness.js";

/**
 * The shared security harness (STYLE habit 10), run over every /api/v1 route: no credentials → 401,
 * wrong scope → 403 naming it, non-admin on admin routes → 403, someone else's token → 404, a session
 * or password without crumb on a state-changing route → 403; and the right credentials get through.
 */

let world: World;
beforeAll(async () => {
  world = await createWorld();
});
afterAll(async () => {
  await world.t.close();
});

let addresses = 0;
const name = (route: ApiRoute) => `${route.method} ${route.path}`;
const protectedRoutes = API_ROUTES.filter((r) => !r.public);

describe("every /api/v1 route is in the security table", () => {
  it("matches the operations of the OpenAPI document exactly", async () => {
    const doc = (await world.t.app.inject({ url: "/api/v1/openapi.json" })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(new Set(documented)).toEqual(new Set(API_ROUTES.map(name)));
  });

  it("names only routes Fastify has", () => {
    for (const route of API_ROUTES) {
      const url = route.path.replace(/\{(\w+)\}/g, ":$1");
      expect(world.t.app.hasRoute({ method: route.method, url }), name(route)).toBe(true);
    }
  });
});

describe("registration", () => {
  it("refuses an /api/v1 route without an access rule, or an admin rule without a scope", async () => {
    const configs: FastifyContextConfig[] = [{}, { access: { scope: null, admin: true } }];
    for (const config of configs) {
      const app = Fastify();
      registerApiV1(app, world.t.services, [(api) => api.get("/api/v1/oops", { config }, async () => ({}))]);
      await expect(app.ready()).rejects.toThrow(/GET \/api\/v1\/oops/);
    }
  });
});

describe.each(protectedRoutes.map((r) => [name(r), r] as const))("%s", (_label, route) => {
  it("answers 401 with WWW-Authenticate to a caller without credentials", async () => {
    const response = await world.call(route, {});
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('Basic realm="Steward"');
    expect(errorOf(response).code).toBe("login_required");
  });

  it("answers 401 to wrong credentials", async () => {
    // A user and an address of its own, so failed-attempt limits of other tests do not interfere.
    const response = await world.call(route, {
      headers: { authorization: basic(unique("ghost"), "wrong-password") },
      remoteAddress: `10.9.${++addresses}.1`,
    });
    expect(response.statusCode).toBe(401);
    expect(errorOf(response).code).toBe("unauthenticated");
  });

  if (route.scope) {
    const scope = route.scope;
    it(`answers 403 naming "${scope}" to a token without it`, async () => {
      // An admin's token holding every scope but the one needed: only the scope is missing.
      const others = SCOPES.filter((s) => s !== scope);
      const { auth } = await world.token("root", others);
      const response = await world.call(route, { headers: { authorization: auth } });
      expect(response.statusCode).toBe(403);
      expect(errorOf(response).code).toBe("missing_scope");
      expect(errorOf(response).message).toContain(`"${scope}"`);
    });
  } else {
    it("is open to a token of any scope", async () => {
      const { auth } = await world.token("root", ["jenkins:api"]);
      expect((await world.call(route, { headers: { authorization: auth } })).statusCode).toBe(200);
    });
  }

  it("lets a token with exactly the needed scope through", async () => {
    const { auth } = await world.token("root", route.scope ? [route.scope] : ["jenkins:api"]);
    const response = await world.call(route, { headers: { authorization: auth } });
    expect(response.statusCode).toBeLessThan(300);
  });

  if (route.admin) {
    it("answers 403 to a user who is not an administrator (token, unscoped)", async () => {
      const { auth } = await world.token("alice");
      const response = await world.call(route, { headers: { authorization: auth } });
      expect(response.statusCode).toBe(403);
      expect(errorOf(response).code).toBe("forbidden");
      expect(response.headers["x-you-are-authenticated-as"]).toBe("alice");
    });

    it("answers 403 to a user who is not an administrator (session with crumb)", async () => {
      const cookie = await signIn(world.t.app, "alice", PASSWORDS.alice!);
      const { crumb } = await fetchCrumb(world.t.app, { cookie });
      const response = await world.call(route, { headers: { cookie, "jenkins-crumb": crumb } });
      expect(response.statusCode).toBe(403);
      expect(errorOf(response).code).toBe("forbidden");
    });
  }

  if (route.tokenParam) {
    it("answers 404 for someone else's token, exactly as for a token that does not exist", async () => {
      const { auth } = await world.token("alice");
      const bobs = await world.token("bob");
      const theirs = await world.call(route, { headers: { authorization: auth }, params: { id: bobs.id } });
      const none = await world.call(route, {
        headers: { authorization: auth },
        params: { id: randomUUID() },
      });
      expect(theirs.statusCode).toBe(404);
      expect(none.statusCode).toBe(404);
      expect(theirs.body).toBe(none.body);
      // And it was left alone.
      const still = await world.t.app.inject({ url: "/api/v1/me", headers: { authorization: bobs.auth } });
      expect(still.statusCode).toBe(200);
    });
  }

  if (route.tokenOwnerParam) {
    it("answers 404 for another user's tokens, exactly as for a user that does not exist", async () => {
      const { auth } = await world.token("alice");
      const theirs = await world.call(route, { headers: { authorization: auth }, params: { id: "bob" } });
      const none = await world.call(route, { headers: { authorization: auth }, params: { id: "nobody" } });
      expect(theirs.statusCode).toBe(404);
      expect(theirs.body).toBe(none.body);
    });
  }

  if (isStateChanging(route)) {
    it("answers 403 to a session without a crumb", async () => {
      const response = await world.call(route, { headers: { cookie: world.session.cookie } });
      expect(response.statusCode).toBe(403);
      expect(errorOf(response)).toEqual({
        code: "crumb_invalid",
        message: "No valid crumb was included in the request",
      });
    });

    it("answers 403 to a session with a wrong crumb, and to a password without one", async () => {
      const wrong = await world.call(route, {
        headers: { cookie: world.session.cookie, "jenkins-crumb": "0".repeat(64) },
      });
      expect(wrong.statusCode).toBe(403);
      const password = await world.call(route, {
        headers: { authorization: basic("root", PASSWORDS.root!) },
      });
      expect(password.statusCode).toBe(403);
      expect(errorOf(password).code).toBe("crumb_invalid");
    });

    it("accepts a session with its crumb", async () => {
      const response = await world.call(route, {
        headers: { cookie: world.session.cookie, "jenkins-crumb": world.session.crumb },
      });
      if (route.path.endsWith("/self/rotate")) {
        // Only a token can rotate itself: past the crumb, a session is told so.
        expect(response.statusCode).toBe(400);
        expect(errorOf(response).message).toContain("Only a token can rotate itself");
      } else {
        expect(response.statusCode, response.body).toBeLessThan(300);
      }
    });
  } else {
    it("accepts a session (no crumb needed to read)", async () => {
      const response = await world.call(route, { headers: { cookie: world.session.cookie } });
      expect(response.statusCode).toBe(200);
    });
  }
});

describe.each(API_ROUTES.filter((r) => r.public).map((r) => [name(r), r] as const))(
  "%s (public)",
  (_l, route) => {
    it("needs neither credentials nor a crumb", async () => {
      const anonymous = await world.call(route, {});
      expect(anonymous.statusCode).toBeLessThan(300);
      const session = await world.call(route, { headers: { cookie: world.session.cookie } });
      expect(session.statusCode).toBe(anonymous.statusCode);
    });
  },
);
