import fastifyCookie from "@fastify/cookie";
import fastifyFormbody from "@fastify/formbody";
import Fastify, { type FastifyInstance, type FastifyRequest, LogController } from "fastify";
import type { LoggerOptions } from "pino";
import { SESSION_COOKIE } from "../auth/sessions.js";
import { verifyCrumb } from "../core/crumb.js";
import { CRUMB_MESSAGE, StewardError } from "../core/errors.js";
import { ANONYMOUS } from "../core/permissions.js";
import type { Services } from "../service/services.js";
import { recordAuthFailure, recordCrumbFailure } from "./audit-denials.js";
import { handleError } from "./errors.js";
import { setJenkinsHeaders } from "./jenkins-headers.js";
import { registerRoutes } from "./routes/index.js";
import { surfaceOf } from "./surface.js";
import "./types.js";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Log levels at which each request gets its (one) log line. */
const LOGS_REQUESTS = new Set(["info", "debug", "trace"]);

export interface AppOptions {
  logger?: LoggerOptions | boolean;
  /** Where log lines go (tests capture them); default stdout. */
  logStream?: NodeJS.WritableStream;
}

/** Log a request's path only: query strings can carry secrets (e.g. Jenkins' addFixedToken). */
function pathOnly(url: string): string {
  return url.split("?", 1)[0]!.slice(0, 512);
}

/** The crumb a request carries, from the `Jenkins-Crumb` header or form field. */
function crumbOf(request: FastifyRequest): string | undefined {
  const header = request.headers["jenkins-crumb"];
  if (typeof header === "string") return header;
  const body = request.body as Record<string, unknown> | undefined;
  const field = body && typeof body === "object" ? body["Jenkins-Crumb"] : undefined;
  return typeof field === "string" ? field : undefined;
}

export async function createApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services.deps;
  const loggerOptions: LoggerOptions | false =
    options.logger === false
      ? false
      : {
          level: config.logLevel,
          ...(typeof options.logger === "object" ? options.logger : {}),
          // Never log credentials: headers are not logged at all, URLs only as paths.
          serializers: {
            req: (req: FastifyRequest) => ({ method: req.method, path: pathOnly(req.url) }),
            res: (res: { statusCode: number }) => ({ status: res.statusCode }),
          },
        };
  const app = Fastify({
    logger:
      loggerOptions && options.logStream ? { ...loggerOptions, stream: options.logStream } : loggerOptions,
    // One line per request, written by our onResponse hook, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    bodyLimit: config.bodyLimit,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 200 },
    return503OnClosing: true,
    genReqId: () => services.deps.random.uuid(),
  });

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: config.bodyLimit });
  // Bodies of other types are accepted and ignored, as Jenkins does; JSON routes check the type themselves.
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: config.bodyLimit }, (_req, _body, done) =>
    done(null, undefined),
  );

  app.decorateRequest("principal", null as never);
  app.decorateRequest("session", null);
  app.decorateRequest("actor", null as never);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    handleError(new StewardError("not_found", `Nothing at ${pathOnly(request.url)}.`), request, reply);
  });

  app.addHook("onRequest", async (request, reply) => {
    request.principal = ANONYMOUS;
    request.actor = {
      principal: ANONYMOUS,
      ip: request.ip,
      userAgent: request.headers["user-agent"] ?? null,
      requestId: request.id,
    };
    reply.header("X-Content-Type-Options", "nosniff");
    reply.header("Referrer-Policy", "same-origin");
    if (surfaceOf(request.url) !== "api") {
      setJenkinsHeaders(reply);
      reply.header("X-Frame-Options", "deny");
      reply.header(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
      );
    }
    if (request.routeOptions.config?.public) return;
    let result: Awaited<ReturnType<typeof services.authenticator.authenticate>>;
    try {
      result = await services.authenticator.authenticate({
        authorization: request.headers.authorization,
        sessionCookie: request.cookies[SESSION_COOKIE],
        ip: request.ip,
      });
    } catch (error) {
      await recordAuthFailure(services, request, error);
      throw error;
    }
    request.principal = result.principal;
    request.session = result.session;
    if (result.principal !== ANONYMOUS) request.actor = { ...request.actor, principal: result.principal };
    if (result.principal.tokenExpiresAt) {
      reply.header("Steward-Token-Expires", new Date(result.principal.tokenExpiresAt).toISOString());
    }
  });

  // CSRF: state-changing requests from browsers (session) or with a password need a crumb bound to
  // their session and user. API tokens are exempt (Jenkins 2.96+): they are never sent by a browser on its own.
  // Checked as soon as the body is parsed (a form may carry the crumb), before validation looks at it.
  // A callback hook: reads and token calls pass without a promise; only a refusal waits (for its audit event).
  app.addHook("preValidation", (request, _reply, done) => {
    if (!STATE_CHANGING.has(request.method)) return done();
    if (request.principal.authenticatedBy === "token" || request.routeOptions.config?.crumbExempt) {
      return done();
    }
    const crumb = crumbOf(request);
    const session = request.session;
    if (crumb && session && verifyCrumb(services.crumbSecret, request.principal.userId, session.id, crumb)) {
      return done();
    }
    const refused = new StewardError("crumb_invalid", CRUMB_MESSAGE);
    recordCrumbFailure(services, request, !crumb ? "missing" : !session ? "no_session" : "invalid").then(
      () => done(refused),
      (error: unknown) => done(error instanceof Error ? error : refused),
    );
  });

  // A callback hook, not an async one: no promise per request, and nothing built when info is off.
  app.addHook("onResponse", (request, reply, done) => {
    if (LOGS_REQUESTS.has(request.log.level)) {
      request.log.info(
        {
          method: request.method,
          path: pathOnly(request.url),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          user: request.principal?.userId,
        },
        "request",
      );
    }
    done();
  });

  registerRoutes(app, services);
  return app;
}
