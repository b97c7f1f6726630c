import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import proxyAddr from "@fastify/proxy-addr";
import type { Logger } from "pino";
import { parseBasicHeader } from "../auth/basic-header.js";
import { parseTokenCredentials } from "../auth/token-credentials.js";
import type { TokenVerifier } from "../auth/token-verifier.js";
import { ANONYMOUS, hasEffectiveScope, isScope, type Principal } from "../core/permissions.js";
import type { Metrics } from "../service/metrics.js";
import { JENKINS_JSON_TYPE } from "./jenkins-reply.js";
import { logRequest } from "./log.js";
import {
  AUTH_VERIFY_PATH,
  NOT_STORED,
  originalRequest,
  verifiedBody,
  verifiedHeaders,
} from "./routes/auth-verify.js";
import { WHOAMI_JSON_PATH, whoAmIJson } from "./routes/jenkins-identity.js";
import { securityHeadersOf } from "./security-headers.js";
import { surfaceOf } from "./surface.js";
import { tokenExpiryHeaders } from "./token-headers.js";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const NO_SCOPES: readonly string[] = [];
/** The one query the lane reads: `?scope=` with plain scope names, comma-separated (nothing to decode). */
const SCOPE_QUERY = /^\?scope=[a-z:,]{1,200}$/;

/** A whole answer but the status (200): its headers as name, value, name, value… and its body. */
interface HotAnswer {
  headers: string[];
  body: string;
}

export interface HotLaneOptions {
  /** Counts the lane's answers and token authentications with the rest. */
  metrics: Metrics;
  /** Addresses whose X-Forwarded-For is believed (STEWARD_TRUST_PROXY), as Fastify is told. */
  trustProxy: string[];
  /** The request log, when requests are logged at its level. */
  log: Logger | null;
  /** The request id source Fastify uses too. */
  nextRequestId: () => string;
  /** Told of anything the lane threw; the request then goes to Fastify (when nothing was sent yet). */
  onError: (error: unknown) => void;
}

/** The `http` options Fastify hands its server factory (its defaults applied). */
interface ServerSettings {
  http?: object;
  keepAliveTimeout?: number;
  requestTimeout?: number;
  connectionTimeout?: number;
  maxRequestsPerSocket?: number;
}

function answerOf(headers: Record<string, string>[], contentType: string, body: string): HotAnswer {
  const flat: string[] = [];
  for (const group of headers) for (const [name, value] of Object.entries(group)) flat.push(name, value);
  flat.push("content-type", contentType, "content-length", String(Buffer.byteLength(body)));
  return { headers: flat, body };
}

/** A request without a body: the lane never reads one (Fastify applies its limits and parsers). */
function hasNoBody(request: IncomingMessage): boolean {
  const length = request.headers["content-length"];
  return (length === undefined || length === "0") && request.headers["transfer-encoding"] === undefined;
}

/**
 * The hot lane: the two answers clients ask for most often — `GET /whoAmI/api/json` (how Jenkins clients
 * check their credentials) and `/auth/verify` (forward auth: once per proxied request) — written straight
 * to node:http when the token is in the verifier's cache, before Fastify builds its request and reply.
 * Both depend on the token alone, so each is built once per cached token (its principal is one frozen
 * object); whoAmI also answers callers without any credential (anonymous), so that the cost of a token
 * is measured against the same path. Anything else, and any doubt — not cached, refused, a cookie, a query
 * string other than plain `?scope=`, a body, shutting down — goes to Fastify untouched (the cached check
 * has no side effect unless it succeeds), which answers the same bytes through the full pipeline. Tests
 * (test/hot-lane.test.ts, a differential fuzz among them) hold the two paths to the same answers.
 */
export class HotLane {
  /** Requests the lane answered (for /metrics and tests). */
  answered = 0;
  private closing = false;
  private readonly whoAmIAnswers = new WeakMap<Principal, HotAnswer>();
  private readonly verifyAnswers = new WeakMap<Principal, HotAnswer>();
  private readonly ipOf: (request: IncomingMessage) => string;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly options: HotLaneOptions,
  ) {
    const trust = options.trustProxy.length > 0 ? proxyAddr.compile(options.trustProxy) : null;
    // The address Fastify's `request.ip` gives, so allow-lists and usage see the same client.
    this.ipOf = trust
      ? (request) => proxyAddr(request, trust)
      : (request) => request.socket.remoteAddress ?? "";
  }

  /** From now on everything goes to Fastify, which answers 503 while it closes. */
  close(): void {
    this.closing = true;
  }

  /** Fastify's `serverFactory`: the HTTP/1 server Fastify would make, with the lane in front of its handler. */
  serverFactory = (handler: Handler, settings: ServerSettings): Server => {
    const server = createServer(settings.http ?? {}, (request, response) => {
      let answered = false;
      try {
        answered = this.answer(request, response);
      } catch (error) {
        // A fault here must never take the process down: the full pipeline answers instead.
        this.options.onError(error);
      }
      if (answered) return;
      if (!response.headersSent) handler(request, response);
      else if (!response.writableEnded) response.destroy();
    });
    if (settings.keepAliveTimeout !== undefined) server.keepAliveTimeout = settings.keepAliveTimeout;
    if (settings.requestTimeout !== undefined) server.requestTimeout = settings.requestTimeout;
    if (settings.connectionTimeout !== undefined) server.setTimeout(settings.connectionTimeout);
    if (settings.maxRequestsPerSocket) server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
    return server;
  };

  /** True when the lane answered; false leaves the request as it came. */
  answer(request: IncomingMessage, response: ServerResponse): boolean {
    if (this.closing) return false;
    const url = request.url ?? "";
    if (url === WHOAMI_JSON_PATH) return request.method === "GET" && this.whoAmI(request, response);
    if (!url.startsWith(AUTH_VERIFY_PATH)) return false;
    if (url.length === AUTH_VERIFY_PATH.length) return this.forwardAuth(request, response, NO_SCOPES);
    const query = url.slice(AUTH_VERIFY_PATH.length);
    return (
      SCOPE_QUERY.test(query) && this.forwardAuth(request, response, query.slice("?scope=".length).split(","))
    );
  }

  /**
   * Jenkins' whoAmI for a `Basic user:token` caller, or for a caller with no credential at all (anonymous).
   * A cookie goes to Fastify: a session may be behind it.
   */
  private whoAmI(request: IncomingMessage, response: ServerResponse): boolean {
    const { authorization, cookie } = request.headers;
    if (cookie !== undefined || !hasNoBody(request)) return false;
    const started = this.options.log ? performance.now() : 0;
    const principal = authorization === undefined ? ANONYMOUS : this.tokenPrincipal(authorization, request);
    if (principal === undefined) return false;
    let answer = this.whoAmIAnswers.get(principal);
    if (answer === undefined) {
      const headers = [securityHeadersOf(surfaceOf(WHOAMI_JSON_PATH)), tokenExpiryHeaders(principal)];
      answer = answerOf(headers, JENKINS_JSON_TYPE, whoAmIJson(principal));
      this.whoAmIAnswers.set(principal, answer);
    }
    this.send(request, response, answer, principal, null, started);
    return true;
  }

  /** The principal of a cached, valid `Basic user:token`; undefined for anything else. */
  private tokenPrincipal(authorization: string, request: IncomingMessage): Principal | undefined {
    const credentials = parseBasicHeader(authorization);
    if (credentials.kind !== "basic") return undefined;
    const check = this.verifier.verifyCached(credentials.userId, credentials.secret, this.ipOf(request));
    return check?.ok ? check.principal : undefined;
  }

  /**
   * Forward auth for a Bearer or Basic token that has every scope of a plain `?scope=a,b`. Any other
   * query, an unknown scope name or a missing scope goes to Fastify, which explains the refusal.
   */
  private forwardAuth(
    request: IncomingMessage,
    response: ServerResponse,
    scopes: readonly string[],
  ): boolean {
    if (!hasNoBody(request)) return false;
    const started = this.options.log ? performance.now() : 0;
    const credentials = parseTokenCredentials(request.headers.authorization);
    if (credentials.kind !== "token") return false;
    const check = this.verifier.verifyCached(credentials.userId, credentials.value, this.ipOf(request));
    if (!check?.ok) return false;
    const { principal, tokenId } = check;
    for (const scope of scopes) {
      if (scope !== "" && !(isScope(scope) && hasEffectiveScope(principal, scope))) return false;
    }
    let answer = this.verifyAnswers.get(principal);
    if (answer === undefined) {
      const headers = [
        securityHeadersOf(surfaceOf(AUTH_VERIFY_PATH)),
        NOT_STORED,
        verifiedHeaders(principal, tokenId),
      ];
      answer = answerOf(
        headers,
        "application/json; charset=utf-8",
        JSON.stringify(verifiedBody(principal, tokenId)),
      );
      this.verifyAnswers.set(principal, answer);
    }
    const original = this.options.log ? originalRequest(request.headers) : undefined;
    this.send(request, response, answer, principal, original === undefined ? null : { original }, started);
    return true;
  }

  private send(
    request: IncomingMessage,
    response: ServerResponse,
    answer: HotAnswer,
    principal: Principal,
    fields: Record<string, unknown> | null,
    started: number,
  ): void {
    response.writeHead(200, answer.headers);
    response.end(answer.body);
    this.answered++;
    const { metrics } = this.options;
    metrics.countResponse(200);
    if (principal !== ANONYMOUS) metrics.countAuth("token", "success");
    const { log } = this.options;
    if (log === null) return;
    logRequest(log, {
      id: this.options.nextRequestId(),
      fields,
      method: request.method ?? "GET",
      url: request.url ?? "",
      status: 200,
      ms: performance.now() - started,
      userId: principal.userId,
    });
  }
}
