import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { type Config, loadConfig } from "../../src/config.js";
import { ManualClock } from "../../src/core/clock.js";
import { createPasswordHasher } from "../../src/core/password.js";
import { ANONYMOUS } from "../../src/core/permissions.js";
import { systemRandom } from "../../src/core/random.js";
import type { Settings } from "../../src/core/settings.js";
import { createApp } from "../../src/http/app.js";
import type { Actor } from "../../src/service/context.js";
import { buildServices, type Services } from "../../src/service/services.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";

/** A cheap scrypt cost for tests only: production uses 2^15 (config passwordHashCost). */
export const TEST_PASSWORD_COST = 10;

export const SYSTEM_ACTOR: Actor = {
  principal: { ...ANONYMOUS, userId: "test-setup", roles: ["admin", "user"], authenticatedBy: "cli" },
  ip: null,
  userAgent: "test",
  requestId: null,
};

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  store: Store;
  clock: ManualClock;
  config: Config;
  /** Creates a user with a password (admin when `admin`). */
  addUser(id: string, password: string, options?: { admin?: boolean }): Promise<void>;
  /** Creates a token for a user directly through the service; returns its value and id. */
  addToken(
    userId: string,
    request?: Parameters<Services["tokens"]["create"]>[2],
  ): Promise<{ value: string; id: string }>;
  /** Changes the token policy as an admin would (with its audit event) and applies it at once. */
  updateSettings(patch: Partial<Settings>): Promise<void>;
  close(): Promise<void>;
}

/**
 * An in-memory Steward (SQLite :memory:, manual clock) for `app.inject()` tests. With `store`, on that
 * store instead (migrated here, closed by `close()`): several instances can share one database.
 */
export async function createTestApp(
  options: { config?: Partial<Config>; clock?: ManualClock; store?: Store } = {},
): Promise<TestApp> {
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 10, 1, 12));
  const config = loadConfig({}, { usageFlushMs: 60_000, ...options.config });
  const store = options.store ?? SqliteStore.open(":memory:");
  await store.migrate();
  const services = await buildServices({
    store,
    config,
    clock,
    random: systemRandom,
    passwords: createPasswordHasher(TEST_PASSWORD_COST),
  });
  const app = await createApp(services, { logger: false });
  await app.ready();
  return {
    app,
    services,
    store,
    clock,
    config,
    async addUser(id, password, userOptions = {}) {
      await services.users.create(SYSTEM_ACTOR, {
        id,
        password,
        roles: userOptions.admin ? ["admin", "user"] : ["user"],
      });
    },
    async addToken(userId, request = {}) {
      const owner = await services.users.get(userId);
      const issued = await services.tokens.create(SYSTEM_ACTOR, owner, request);
      return { value: issued.value, id: issued.token.id };
    },
    async updateSettings(patch) {
      await store.updateSettings(patch, {
        at: clock.now(),
        action: "settings.updated",
        actorUserId: null,
        actorTokenId: null,
        targetUserId: null,
        targetTokenId: null,
        ip: null,
        userAgent: null,
        outcome: "success",
        requestId: null,
        details: { keys: Object.keys(patch) },
      });
      await services.deps.settings.reload();
    },
    async close() {
      await app.close();
      await services.usage.stop();
      await store.close();
    },
  };
}

/** `value` with its last character changed to `replacement` (or another one, if it already ends so): never valid. */
export function mistyped(value: string, replacement = "x"): string {
  const last = value.at(-1) === replacement ? (replacement === "0" ? "1" : "0") : replacement;
  return value.slice(0, -1) + last;
}

export function basic(user: string, secret: string): string {
  return `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;
}

/** The `name=value` pair of the session cookie a response set. */
export function sessionCookieOf(response: LightMyRequestResponse): string {
  const cookie = response.cookies.find((c) => c.name === "steward_session");
  if (!cookie) throw new Error("no session cookie was set");
  return `${cookie.name}=${cookie.value}`;
}

/** Fetches a crumb as Jenkins clients do (keeping the cookie), optionally with credentials. */
export async function fetchCrumb(
  app: FastifyInstance,
  headers: Record<string, string> = {},
): Promise<{ cookie: string; crumb: string }> {
  const response = await app.inject({ method: "GET", url: "/crumbIssuer/api/json", headers });
  const cookie = headers.cookie ?? sessionCookieOf(response);
  return { cookie, crumb: (response.json() as { crumb: string }).crumb };
}

/** POSTs the login form, from `remoteAddress` when given (rate limits count per client address). */
export function postLoginForm(
  app: FastifyInstance,
  user: string,
  password: string,
  remoteAddress?: string,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: "POST",
    url: "/j_spring_security_check",
    payload: new URLSearchParams({ j_username: user, j_password: password, from: "/" }).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
  });
}

/** Signs in through the login form; returns the session cookie. */
export async function signIn(app: FastifyInstance, user: string, password: string): Promise<string> {
  return sessionCookieOf(await postLoginForm(app, user, password));
}
