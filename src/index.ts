/**
 * Steward as a library (SPEC §8): the same core as `steward serve`, in your process, on the same
 * database. Verify API tokens in Express, Fastify, Hono or plain node:http; manage users and tokens
 * through the same services the server uses.
 *
 * @example
 * import { createSteward } from "steward";
 * const steward = await createSteward({ dataDir: "/var/lib/steward" });
 * const principal = await steward.verify(req); // null when there is no valid token
 */
import type { IncomingMessage } from "node:http";
import type { FastifyPluginAsync } from "fastify";
import { FailureLimiter } from "./auth/rate-limiter.js";
import { TokenAuthenticator, type TokenAuthResult, tokenAuthError } from "./auth/token-credentials.js";
import { type Config, loadConfig } from "./config.js";
import { systemClock } from "./core/clock.js";
import { DATABASE_UNAVAILABLE, StewardError } from "./core/errors.js";
import { ANONYMOUS, type Principal } from "./core/permissions.js";
import { systemRandom } from "./core/random.js";
import type { Actor } from "./service/context.js";
import { buildServices, type Services } from "./service/services.js";
import { openStore } from "./store/open.js";
import { isDatabaseUnavailable } from "./store/postgres/unavailable.js";
import type { Store } from "./store/store.js";

export { CONFIG_DEFAULTS, type Config, ConfigError, loadConfig } from "./config.js";
export { ERROR_STATUS, type ErrorCode, StewardError } from "./core/errors.js";
export {
  type AuthMethod,
  hasScope,
  isScope,
  type Principal,
  ROLES,
  type Role,
  SCOPES,
  type Scope,
  type UserKind,
} from "./core/permissions.js";
export {
  hasValidStewardChecksum,
  looksLikeToken,
  type ParsedToken,
  parseToken,
  type TokenFormat,
} from "./core/token-format.js";
export { SIGNATURE_HEADER, signWebhook, verifyWebhookSignature } from "./core/webhook-signature.js";
export { type RunningServer, type ServerOptions, startServer } from "./server.js";
export type { Actor } from "./service/context.js";
export type { Services } from "./service/services.js";
export type { IssuedToken, NewTokenRequest } from "./service/tokens.js";
export type { NewUser } from "./service/users.js";
export type { Store, TokenRecord, UserRecord } from "./store/store.js";

export interface StewardOptions {
  /** `postgres://…` selects PostgreSQL; otherwise SQLite in `dataDir`. */
  databaseUrl?: string;
  /** Folder of the SQLite database and generated secrets; default `./data`, as `steward serve`. */
  dataDir?: string;
  /**
   * Any other setting (token cache size, usage flush interval, failure limits, …). The environment is
   * not read: pass `loadConfig(process.env)` here to honour the `STEWARD_*` variables.
   */
  config?: Partial<Config>;
}

/**
 * What `verify` reads: the `Authorization` header and the client address. Node's `IncomingMessage`,
 * Express' and Fastify's requests all fit. `ip` (Express, Fastify) is preferred over the socket address,
 * so the framework's trust-proxy setting decides which address a token's allow-list sees.
 */
export interface VerifiableRequest {
  /** Node's header object (names in any case), or a Fetch `Headers` (Hono's `c.req.raw`, Deno, Bun). */
  headers: Record<string, string | string[] | undefined> | { get(name: string): string | null };
  socket?: { remoteAddress?: string };
  ip?: string;
}

export interface GuardOptions {
  /** Answer 401 (403 for an address outside the token's allow-list, 429 after repeated failures) instead of passing on without a principal. */
  required?: boolean;
}

/** The Express/Connect shape `expressMiddleware` needs; a plain node:http pair fits too. */
export interface MiddlewareRequest extends VerifiableRequest {
  stewardPrincipal?: Principal | null;
}
export interface MiddlewareResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}
export type Middleware = (
  req: MiddlewareRequest,
  res: MiddlewareResponse,
  next: (error?: unknown) => void,
) => void;

declare module "fastify" {
  interface FastifyRequest {
    /** Set by Steward's `fastifyPlugin`: the token's principal, or null. */
    stewardPrincipal: Principal | null;
  }
}

export interface Steward {
  /**
   * The principal of the request's API token — `Authorization: Bearer <token>` or Jenkins'
   * `Basic user:token` — or null when it has none or it is not valid (unknown, revoked, expired, outside
   * its allow-list, or after too many failures from that address). Passwords are never accepted here.
   */
  verify(req: VerifiableRequest | IncomingMessage): Promise<Principal | null>;
  /**
   * A Fastify plugin: decorates `request.stewardPrincipal` on every request of the instance it is
   * registered on; with `{ required: true }` answers requests without a valid token itself.
   *
   * @example
   * await app.register(steward.fastifyPlugin, { required: true });
   * app.get("/hello", async (request) => ({ hello: request.stewardPrincipal!.userId }));
   */
  fastifyPlugin: FastifyPluginAsync<GuardOptions>;
  /**
   * Express/Connect middleware: sets `req.stewardPrincipal`; with `{ required: true }` answers requests
   * without a valid token itself (JSON `{ "error": { "code", "message" } }`).
   *
   * @example
   * app.get("/hello", steward.expressMiddleware({ required: true }), (req, res) =>
   *   res.json({ hello: req.stewardPrincipal.userId }));
   */
  expressMiddleware(options?: GuardOptions): Middleware;
  /** The store, shared with every Steward server on the same database. */
  store: Store;
  /** Users, tokens, sessions: the same services the server uses. Pass `operatorActor(...)` as actor. */
  services: Services;
  /** Writes pending usage statistics and closes the database. */
  close(): Promise<void>;
}

/**
 * Who acts when your code calls `services` directly: an operator with full rights, recorded in the
 * audit log under `name`, as the `steward` command line is.
 *
 * @example
 * const owner = await steward.services.users.get("alice");
 * const { value } = await steward.services.tokens.create(operatorActor("billing-app"), owner, { name: "nightly" });
 */
export function operatorActor(name: string): Actor {
  return {
    principal: Object.freeze<Principal>({
      ...ANONYMOUS,
      userId: name,
      fullName: name,
      roles: ["admin", "user"],
      authenticatedBy: "cli",
      scopes: null,
    }),
    ip: null,
    userAgent: `steward-library (${name})`.slice(0, 512),
    requestId: null,
  };
}

function authorizationOf(req: VerifiableRequest): string | undefined {
  const { headers } = req;
  if (typeof headers.get === "function") return headers.get("authorization") ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  let value = record.authorization;
  if (value === undefined) {
    // A hand-made header object may spell the name another way (`Authorization`).
    const name = Object.keys(record).find((key) => key.toLowerCase() === "authorization");
    value = name === undefined ? undefined : record[name];
  }
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A database that cannot be reached is a typed 503 (`unavailable`), never a driver error that would
 * reach the application's users with the database's address in it.
 */
function unavailableOr(error: unknown): unknown {
  if (error instanceof StewardError || !isDatabaseUnavailable(error)) return error;
  return new StewardError("unavailable", DATABASE_UNAVAILABLE, {}, { cause: error });
}

function isUnavailable(error: unknown): error is StewardError {
  return error instanceof StewardError && error.code === "unavailable";
}

const UNAVAILABLE_ANSWER = {
  status: 503,
  headers: { "content-type": "application/json; charset=utf-8", "retry-after": "5" },
  body: { error: { code: "unavailable", message: DATABASE_UNAVAILABLE } },
};

function ipOf(req: VerifiableRequest): string {
  return req.ip ?? req.socket?.remoteAddress ?? "";
}

/** Bearer first: clients of an API built with the library use it; Basic stays accepted. */
const CHALLENGE = 'Bearer realm="Steward", Basic realm="Steward"';

function rejection(result: Extract<TokenAuthResult, { ok: false }>) {
  const error = tokenAuthError(result);
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  if (error.status === 401) headers["www-authenticate"] = CHALLENGE;
  if (error.code === "rate_limited") headers["retry-after"] = String(error.details.retryAfter ?? 60);
  return { status: error.status, headers, body: { error: { code: error.code, message: error.message } } };
}

/**
 * Opens the database (migrating it if needed) and wires Steward's services in this process. Usage
 * statistics are written in batches, as by the server; call `close()` on shutdown so none are lost.
 * The server's other background jobs (webhook deliveries, expiry notices) are not run here: keep a
 * `steward serve` on the same database for them.
 *
 * @example
 * import express from "express";
 * import { createSteward } from "steward";
 *
 * const steward = await createSteward({ databaseUrl: process.env.STEWARD_DATABASE_URL });
 * const app = express();
 * app.use(steward.expressMiddleware({ required: true }));
 * app.get("/whoami", (req, res) => res.json({ user: req.stewardPrincipal.userId }));
 */
export async function createSteward(options: StewardOptions = {}): Promise<Steward> {
  const config = loadConfig(
    {},
    {
      ...options.config,
      ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
      ...(options.databaseUrl !== undefined ? { databaseUrl: options.databaseUrl } : {}),
    },
  );
  const store = await openStore(config);
  let services: Services;
  try {
    services = await buildServices({
      store,
      config,
      clock: systemClock,
      random: systemRandom,
      onBackgroundError: (error) =>
        process.emitWarning(
          `Steward could not write usage statistics (kept for the next try): ${error instanceof Error ? error.message : String(error)}`,
        ),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  services.usage.start(config.usageFlushMs);
  const tokens = new TokenAuthenticator(
    services.verifier,
    new FailureLimiter(
      { maxFailures: config.authFailuresPerIp, windowMs: config.authFailureWindowMs },
      services.deps.clock,
      store,
    ),
  );
  // One check (and one counted use) per request, however many layers ask: a plugin on the instance and
  // again, required, in a child scope; middleware on the app and on a route; `verify` in the handler.
  const checked = new WeakMap<object, Promise<TokenAuthResult>>();
  const check = (req: VerifiableRequest): Promise<TokenAuthResult> => {
    const key = (req as { raw?: object }).raw ?? req;
    let pending = checked.get(key);
    if (!pending) {
      pending = tokens.authenticate(authorizationOf(req), ipOf(req)).catch((error: unknown) => {
        throw unavailableOr(error);
      });
      checked.set(key, pending);
    }
    return pending;
  };

  const fastifyPlugin: FastifyPluginAsync<GuardOptions> = async (app, pluginOptions) => {
    if (!app.hasRequestDecorator("stewardPrincipal")) app.decorateRequest("stewardPrincipal", null);
    app.addHook("onRequest", async (request, reply) => {
      let result: TokenAuthResult;
      try {
        result = await check(request);
      } catch (error) {
        if (!isUnavailable(error)) throw error;
        const { status, headers, body } = UNAVAILABLE_ANSWER;
        return reply.code(status).headers(headers).send(body);
      }
      request.stewardPrincipal = result.ok ? result.principal : null;
      if (result.ok || !pluginOptions.required) return;
      const { status, headers, body } = rejection(result);
      return reply.code(status).headers(headers).send(body);
    });
  };
  // What `fastify-plugin` does: the hook applies to the instance it is registered on, not a child scope.
  Object.assign(fastifyPlugin, {
    [Symbol.for("skip-override")]: true,
    [Symbol.for("fastify.display-name")]: "steward",
  });

  let closing: Promise<void> | null = null;
  return {
    async verify(req) {
      const result = await check(req);
      return result.ok ? result.principal : null;
    },
    fastifyPlugin,
    expressMiddleware(guard: GuardOptions = {}): Middleware {
      return (req, res, next) => {
        const answer = ({ status, headers, body }: { status: number; headers: object; body: object }) => {
          res.statusCode = status;
          for (const [name, value] of Object.entries(headers)) res.setHeader(name, value as string);
          res.end(JSON.stringify(body));
        };
        check(req).then(
          (result) => {
            req.stewardPrincipal = result.ok ? result.principal : null;
            if (result.ok || !guard.required) return next();
            answer(rejection(result));
          },
          (error: unknown) => (isUnavailable(error) ? answer(UNAVAILABLE_ANSWER) : next(error)),
        );
      };
    },
    store,
    services,
    close() {
      closing ??= (async () => {
        try {
          await services.usage.stop();
        } finally {
          await store.close();
        }
      })();
      return closing;
    },
  };
}
