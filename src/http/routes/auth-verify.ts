import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance } from "fastify";
import { FailureLimiter } from "../../auth/rate-limiter.js";
import { TokenAuthenticator, tokenAuthError } from "../../auth/token-credentials.js";
import { invalid } from "../../core/errors.js";
import {
  effectiveScopes,
  isScope,
  type Principal,
  requireEffectiveScope,
  SCOPES,
  type Scope,
} from "../../core/permissions.js";
import { authOutcomeOf } from "../../service/metrics.js";
import type { Services } from "../../service/services.js";
import { recordAuthFailure } from "../audit-denials.js";

/** `?scope=a,b` or `?scope=a&scope=b`: every listed scope is required. A typo is a 400, never ignored. */
function requiredScopes(query: unknown): Scope[] {
  const raw = (query as Record<string, unknown> | undefined)?.scope;
  if (raw === undefined) return [];
  const values = (Array.isArray(raw) ? raw : [raw]).flatMap((value) => String(value).split(","));
  const scopes: Scope[] = [];
  for (const value of values.map((v) => v.trim()).filter((v) => v !== "")) {
    if (!isScope(value)) {
      throw invalid(`Unknown scope "${value.slice(0, 64)}" in ?scope=; scopes are ${SCOPES.join(", ")}.`, {
        field: "scope",
      });
    }
    if (!scopes.includes(value)) scopes.push(value);
  }
  return scopes;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * The request the proxy asks about: nginx sends `X-Original-Method`/`X-Original-URI` (when configured),
 * Traefik and Caddy `X-Forwarded-Method`/`X-Forwarded-Uri`. Only for the log line, as a path: a query
 * string can carry secrets.
 */
export function originalRequest(headers: IncomingHttpHeaders): string | undefined {
  const method = header(headers, "x-original-method") ?? header(headers, "x-forwarded-method");
  const uri = header(headers, "x-original-uri") ?? header(headers, "x-forwarded-uri");
  if (method === undefined && uri === undefined) return undefined;
  const path = (uri ?? "").split("?", 1)[0]!.slice(0, 512);
  return `${(method ?? "?").slice(0, 16)} ${path}`.trim();
}

/** The path; also served by the hot lane (src/http/hot-lane.ts), which must answer the same. */
export const AUTH_VERIFY_PATH = "/auth/verify";

/** Every answer, refusals too: a proxy must not cache a decision. */
export const NOT_STORED: Readonly<Record<string, string>> = { "cache-control": "no-store" };

/** What the proxy passes on to the application: who, with which token (its id, never its value), which scopes. */
export function verifiedHeaders(principal: Principal, tokenId: string): Record<string, string> {
  return {
    "x-steward-user": principal.userId,
    "x-steward-token": tokenId,
    "x-steward-scopes": effectiveScopes(principal).join(","),
  };
}

export function verifiedBody(principal: Principal, tokenId: string) {
  return { user: principal.userId, tokenId, scopes: effectiveScopes(principal) };
}

/**
 * `/auth/verify`: forward auth for nginx `auth_request`, Traefik ForwardAuth and Caddy `forward_auth`
 * (SPEC §4.2). Accepts an API token only — `Authorization: Bearer <token>` or `Basic user:token` — and
 * answers 200 with `X-Steward-User`, `X-Steward-Token` (the token's id, never its value) and
 * `X-Steward-Scopes`; 401 without a valid token; 403 when the token's allow-list refuses the client
 * address or it lacks a scope required by `?scope=`. Any method: Traefik forwards the original one.
 */
export function authVerifyRoutes(app: FastifyInstance, services: Services): void {
  const { config, clock, store } = services.deps;
  const tokens = new TokenAuthenticator(
    services.verifier,
    new FailureLimiter(
      { maxFailures: config.authFailuresPerIp, windowMs: config.authFailureWindowMs },
      clock,
      store,
    ),
  );

  // `public`: the app's own authentication (passwords, session cookies) does not apply here.
  app.all(AUTH_VERIFY_PATH, { config: { public: true, crumbExempt: true } }, async (request, reply) => {
    const original = originalRequest(request.headers);
    if (original !== undefined) request.logFields = { original };
    reply.headers(NOT_STORED);
    const required = requiredScopes(request.query);
    const result = await tokens.authenticate(request.headers.authorization, request.ip);
    if (!result.ok) {
      const error = tokenAuthError(result);
      // A request without any credential is an ordinary anonymous visitor, not a failed authentication.
      if (result.reason !== "missing") {
        services.metrics.countAuth("token", authOutcomeOf(error.code) ?? "refused");
        await recordAuthFailure(services, request, error);
      }
      throw error;
    }
    services.metrics.countAuth("token", "success");
    const { principal } = result;
    request.principal = principal;
    for (const scope of required) requireEffectiveScope(principal, scope);
    return reply
      .headers(verifiedHeaders(principal, result.tokenId))
      .send(verifiedBody(principal, result.tokenId));
  });
}
