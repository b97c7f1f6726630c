import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import {
  CRUMB_MESSAGE,
  DATABASE_UNAVAILABLE,
  ERROR_STATUS,
  type ErrorCode,
  StewardError,
} from "../core/errors.js";
import { ANONYMOUS } from "../core/permissions.js";
import { isDatabaseUnavailable } from "../store/postgres/unavailable.js";
import { escapeHtml } from "../ui/html.js";
import { errorPage } from "../ui/pages-error.js";
import { setJenkinsHeaders } from "./jenkins-headers.js";
import { requestLog } from "./log.js";
import { securityHeadersOf, setSecurityHeaders } from "./security-headers.js";
import { surfaceOf } from "./surface.js";

export const REALM = 'Basic realm="Steward"';

/** Fastify's own errors (body parsing, limits) mapped to our catalogue with a message a person understands. */
function fromFastify(error: FastifyError): StewardError | null {
  const status = error.statusCode ?? 0;
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE")
    return new StewardError("payload_too_large", "The request body is too large.");
  if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return new StewardError(
      "unsupported_media_type",
      "Unsupported Content-Type: send application/json or a form.",
    );
  }
  if (error.validation) return new StewardError("validation_failed", `Invalid request: ${error.message}`);
  if (status === 404) return new StewardError("not_found", "Not found.");
  if (status === 405) return new StewardError("method_not_allowed", "Method not allowed.");
  if (status === 415) return new StewardError("unsupported_media_type", "Unsupported Content-Type.");
  if (status === 413) return new StewardError("payload_too_large", "The request body is too large.");
  if (status >= 400 && status < 500) return new StewardError("bad_request", `Bad request: ${error.message}`);
  return null;
}

function toStewardError(error: unknown): StewardError | null {
  if (error instanceof StewardError) return error;
  // Client errors first: a body upload the client aborts fails with ECONNRESET (and status 400) too, and
  // says nothing about the database.
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) return fromFastify(error as FastifyError);
  // A database that is down, restarting or overloaded is the service being unavailable, not a bug: 503.
  if (isDatabaseUnavailable(error)) return new StewardError("unavailable", DATABASE_UNAVAILABLE);
  if (error && typeof error === "object" && "statusCode" in error) return fromFastify(error as FastifyError);
  return null;
}

function statusFor(error: StewardError, jenkins: boolean): number {
  // Jenkins answers an anonymous caller on a protected page with 403 and a pointer to the login page.
  if (error.code === "login_required" && jenkins) return 403;
  return ERROR_STATUS[error.code as ErrorCode];
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} — Steward</title><link rel="stylesheet" href="/static/steward.css"></head><body><main class="error"><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/**
 * The one error handler: a known error becomes its status and a stable message in the shape of the
 * surface it happened on; anything else is a generic 500 with the request id, details only in the log.
 */
/**
 * What of an unexpected error goes to the log: its kind, code, message and stack. Never driver extras
 * such as PostgreSQL's `detail` ("Key (hash)=(…)"), which can quote stored values.
 */
function loggableError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    code: typeof code === "string" ? code : undefined,
    message: error.message,
    stack: error.stack,
  };
}

export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const known = toStewardError(error);
  const surface = surfaceOf(request.url);
  if (known?.code === "unavailable" && !(error instanceof StewardError)) {
    requestLog(request).warn({ err: loggableError(error) }, "database unavailable");
  }
  if (!known) {
    requestLog(request).error({ err: loggableError(error) }, "unhandled error");
    if (surface === "ui") {
      sendUiError(request, reply, 500, "internal", `Internal error (request ${request.id}).`);
      return;
    }
    const body = { error: { code: "internal", message: `Internal error (request ${request.id}).` } };
    void reply.code(500).type("application/json; charset=utf-8").send(body);
    return;
  }
  const status = statusFor(known, surface === "jenkins");
  reply.code(status);
  if (status === 401) reply.header("WWW-Authenticate", REALM);
  if (known.code === "rate_limited") reply.header("Retry-After", String(known.details.retryAfter ?? 60));
  if (known.code === "unavailable") reply.header("Retry-After", "5");
  if (
    (known.code === "forbidden" || known.code === "missing_scope") &&
    !request.principal?.authenticatedBy.startsWith("anon")
  ) {
    // Jenkins' "authenticated but not permitted" headers; for a token's missing scope, the scope.
    reply.header("X-You-Are-Authenticated-As", request.principal?.userId ?? "anonymous");
    const required = known.details.permission ?? known.details.scope;
    if (typeof required === "string") reply.header("X-Required-Permission", required);
  }
  if (request.principal?.tokenId && request.principal.tokenExpiresAt) {
    reply.header("Steward-Token-Expires", new Date(request.principal.tokenExpiresAt).toISOString());
  }
  if (surface === "api") {
    void reply
      .type("application/json; charset=utf-8")
      .send({ error: { code: known.code, message: known.message } });
    return;
  }
  setJenkinsHeaders(reply);
  if (surface === "ui") {
    if (known.code === "login_required") {
      // A browser on a page that needs a sign-in goes to the sign-in form and comes back afterwards.
      const from = request.method === "GET" ? request.url : "/account/tokens";
      reply.removeHeader("WWW-Authenticate");
      void reply.redirect(`/login?from=${encodeURIComponent(from)}`, 303);
      return;
    }
    sendUiError(request, reply, status, known.code, known.message);
    return;
  }
  if (known.code === "login_required" && surface === "jenkins") {
    const from = encodeURIComponent(request.url);
    void reply
      .type("text/html; charset=utf-8")
      .send(
        page(
          "Authentication required",
          `<p>You are not signed in. <a href="/login?from=${escapeHtml(from)}">Sign in</a> or use an API token.</p>`,
        ),
      );
    return;
  }
  if (known.code === "crumb_invalid" && surface === "jenkins") {
    void reply
      .type("text/html; charset=utf-8")
      .send(page("Error 403", `<p>${escapeHtml(CRUMB_MESSAGE)}</p>`));
    return;
  }
  void reply
    .type("text/html; charset=utf-8")
    .send(page(`Error ${status}`, `<p>${escapeHtml(known.message)}</p>`));
}

/**
 * Fastify's routing errors (a URL that cannot be decoded, a path segment longer than routes allow):
 * answered like every other error, in the shape of the surface, with the security headers.
 */
export function handleFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  request.principal = ANONYMOUS;
  setSecurityHeaders(request, reply);
  const known =
    error.code === "FST_ERR_MAX_PARAM_LENGTH"
      ? new StewardError("uri_too_long", "A part of the path is too long.")
      : new StewardError("bad_request", "The URL cannot be decoded (check its %-escapes).");
  handleError(known, request, reply);
}

/**
 * Requests Node's HTTP parser refuses before any route sees them (headers too large, a malformed
 * request line or header): a JSON error in Steward's shape, then the connection is closed, as Node does.
 */
export function handleClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [status, code, message] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "headers_too_large", "The request headers are too large."]
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "timeout", "The request took too long to arrive."]
        : [400, "bad_request", "The request is not valid HTTP."];
  const body = JSON.stringify({ error: { code, message } });
  const headers = Object.entries(securityHeadersOf("api")).map(([name, value]) => `${name}: ${value}\r\n`);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${headers.join("")}content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** Web UI errors as a page of the UI: the message, a way on, never a stack trace; never cached. */
function sendUiError(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
): void {
  const page = errorPage(request.principal ?? ANONYMOUS, { status, code, message, requestId: request.id });
  void reply
    .code(status)
    .type("text/html; charset=utf-8")
    .header("Cache-Control", "no-store")
    .send(page.value);
}
