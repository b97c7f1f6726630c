import fastifyFormbody from "@fastify/formbody";
import Fastify, {
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerFactory,
  type preValidationHookHandler,
} from "fastify";
import type { LoggerOptions } from "pino";
import type { AuthResult } from "../auth/authenticator.js";
import { SESSION_COOKIE } from "../auth/sessions.js";
import { bearerTokenOf } from "../auth/token-credentials.js";
import { CRUMB_FIELD, verifyCrumb } from "../core/crumb.js";
import { CRUMB_MESSAGE, StewardError } from "../core/errors.js";
import { ANONYMOUS } from "../core/permissions.js";
import type { Actor } from "../service/context.js";
import { type AuthMetricMethod, authOutcomeOf } from "../service/metrics.js";
import type { Services } from "../service/services.js";
import { recordAuthFailure, recordCrumbFailure } from "./audit-denials.js";
import { cookieOf } from "./cookies.js";
import { handleClientError, handleError, handleFrameworkError } from "./errors.js";
import { HotLane } from "./hot-lane.js";
import { jenkinsParam } from "./jenkins-reply.js";
import { createLog, logRequest, logsRequests, pathOnly } from "./log.js";
import { requestIdSource } from "./request-id.js";
import { registerRoutes } from "./routes/index.js";
import { setSecurityHeaders, surfaceOfRequest } from "./security-headers.js";
import { tokenExpiryHeaders } from "./token-headers.js";
import "./types.js";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export interface AppOptions {
  logger?: LoggerOptions | boolean;
  /** Where log lines go (tests capture them); default stdout. */
  logStream?: NodeJS.WritableStream;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The methods a 405 may name. */
const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** The crumb a request carries: the `Jenkins-Crumb` header, else the parameter (query or form), as Jenkins reads it. */
function crumbOf(request: FastifyRequest): string | undefined {
  const header = request.headers["jenkins-crumb"];
  if (typeof header === "string") return header;
  return jenkinsParam(request, CRUMB_FIELD);
}

export async function createApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services.deps;
  const log = createLog(config.logLevel, options);
  const nextRequestId = requestIdSource(services.deps.random);
  const { metrics } = services;
  const hotLane = new HotLane(services.verifier, {
    metrics,
    trustProxy: config.trustProxy,
    log: logsRequests(log) ? log : null,
    nextRequestId,
    onError: (error) => log.error({ err: error }, "hot lane failed; the request went to Fastify"),
  });
  const app = Fastify({
    // Routing errors and requests Node's parser refuses answer in Steward's error shape too.
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
    // Steward logs through its own logger (`app.stewardLog`): Fastify's would give every request a
    // child logger and response listeners, work most requests (which log nothing) should not pay for.
    logger: false,
    trustProxy: config.trustProxy.length > 0 ? config.trustProxy : false,
    bodyLimit: config.bodyLimit,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 200 },
    return503OnClosing: true,
    genReqId: nextRequestId,
    // The hot lane answers the most frequent cached-token requests before Fastify (see hot-lane.ts).
    serverFactory: hotLane.serverFactory as FastifyServerFactory,
  });
  app.addHook("preClose", (done) => {
    hotLane.close();
    done();
  });

  await app.register(fastifyFormbody, { bodyLimit: config.bodyLimit });
  // JSON as Fastify parses it (prototype poisoning refused), except that an empty body is no body:
  // clients often send `Content-Type: application/json` on a POST without one.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser(
    "application/json",
    { parseAs: "string", bodyLimit: config.bodyLimit },
    (request, body, done) => {
      const text = body.toString();
      if (text.trim() === "") return done(null, undefined);
      parseJson(request, text, done);
    },
  );
  // Bodies of other types are accepted and ignored, as Jenkins does; JSON routes check the type themselves.
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: config.bodyLimit }, (_req, _body, done) =>
    done(null, undefined),
  );

  app.decorate("stewardLog", log);
  app.decorate("hotLane", hotLane);
  app.decorateRequest("logFields", null);
  app.decorateRequest("principal", null as never);
  app.decorateRequest("session", null);
  // Built when something is audited, not on every request.
  app.decorateRequest("actor", {
    getter(this: FastifyRequest): Actor {
      return {
        principal: this.principal,
        ip: this.ip,
        userAgent: this.headers["user-agent"] ?? null,
        requestId: this.id,
      };
    },
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    // A path that exists with other methods is a 405 naming them, not a 404.
    const path = pathOnly(request.url);
    const allowed = HTTP_METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
    if (allowed.length === 0) {
      handleError(new StewardError("not_found", `Nothing at ${path}.`), request, reply);
      return;
    }
    reply.header("Allow", allowed.join(", "));
    const message = `${request.method} is not allowed at ${path}; use ${allowed.join(" or ")}.`;
    handleError(new StewardError("method_not_allowed", message), request, reply);
  });

  // Authentication, as a callback hook: a cached token (the hot path) is accepted without a promise.
  app.addHook("onRequest", (request, reply, done) => {
    request.principal = ANONYMOUS;
    setSecurityHeaders(request, reply);
    if (request.routeOptions.config?.public) return done();
    const accept = (result: AuthResult): void => {
      const { principal } = result;
      request.principal = principal;
      request.session = result.session;
      if (principal.tokenExpiresAt) reply.headers(tokenExpiryHeaders(principal));
      if (principal.authenticatedBy !== "anonymous")
        metrics.countAuth(principal.authenticatedBy as AuthMetricMethod, "success");
    };
    const result = services.authenticator.authenticate({
      authorization: request.headers.authorization,
      sessionCookie: cookieOf(request.headers.cookie, SESSION_COOKIE),
      ip: request.ip,
      acceptBearer: surfaceOfRequest(request) === "api",
    });
    if (!(result instanceof Promise)) {
      accept(result);
      return done();
    }
    result.then(
      (settled) => {
        accept(settled);
        done();
      },
      (error: unknown) => {
        const outcome = error instanceof StewardError ? authOutcomeOf(error.code) : undefined;
        const bearer = bearerTokenOf(request.headers.authorization) !== undefined;
        if (outcome) metrics.countAuth(bearer ? "token" : "basic", outcome);
        recordAuthFailure(services, request, error).then(
          () => done(asError(error)),
          (failure: unknown) => done(asError(failure)),
        );
      },
    );
  });

  // CSRF: state-changing requests from browsers (session) or with a password need a crumb bound to
  // their session and user. API tokens are exempt (Jenkins 2.96+): they are never sent by a browser on its own.
  // Checked as soon as the body is parsed (a form may carry the crumb), before validation looks at it.
  // Attached to state-changing routes only; a refusal waits for its audit event.
  const checkCrumb: preValidationHookHandler = (request, _reply, done) => {
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
  };
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.some((method) => STATE_CHANGING.has(method))) return;
    const own = route.preValidation;
    route.preValidation = own ? [checkCrumb, ...(Array.isArray(own) ? own : [own])] : checkCrumb;
  });

  // Every answer is counted; the one log line per request only at levels that show it.
  const logged = logsRequests(log);
  app.addHook("onResponse", (request, reply, done) => {
    metrics.countResponse(reply.statusCode);
    if (logged) {
      logRequest(log, {
        id: request.id,
        fields: request.logFields,
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: reply.elapsedTime,
        userId: request.principal?.userId,
      });
    }
    done();
  });

  registerRoutes(app, services);
  return app;
}
