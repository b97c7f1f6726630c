import type { FastifyRequest } from "fastify";
import { StewardError } from "../core/errors.js";
import { auditEvent } from "../service/context.js";
import type { Services } from "../service/services.js";

/** Refusals at authentication worth an audit event, with the outcome each is recorded as. */
const AUTH_FAILURES: Partial<Record<string, "failure" | "denied">> = {
  unauthenticated: "failure",
  token_expired: "failure",
  ip_not_allowed: "denied",
  rate_limited: "denied",
};

function pathOf(request: FastifyRequest): string {
  return request.url.split("?", 1)[0]!.slice(0, 200);
}

/**
 * A state-changing request without a valid crumb: a possible CSRF attempt. It changes nothing, so it is
 * a standalone `crumb.invalid` event (outcome "denied"), at most one per client address per minute.
 * Never the crumb itself or the session: only that one was missing or wrong.
 */
export async function recordCrumbFailure(
  services: Services,
  request: FastifyRequest,
  reason: "missing" | "no_session" | "invalid",
): Promise<void> {
  await services.denials.record(
    `crumb.invalid:${request.ip}`,
    auditEvent(
      services.deps,
      request.actor,
      "crumb.invalid",
      {},
      { method: request.method, path: pathOf(request), reason },
      "denied",
    ),
  );
}

/**
 * Credentials refused at authentication (bad or expired token, token from a refused address, too many
 * failures) as `auth.failed`, at most one per reason and client address per minute. The user name a
 * client sent is not recorded: it may be anything, a mistyped password included.
 */
export async function recordAuthFailure(
  services: Services,
  request: FastifyRequest,
  error: unknown,
): Promise<void> {
  if (!(error instanceof StewardError)) return;
  const outcome = AUTH_FAILURES[error.code];
  if (!outcome) return;
  const tokenId = typeof error.details.tokenId === "string" ? error.details.tokenId : null;
  await services.denials.record(
    `auth.failed:${error.code}:${request.ip}`,
    auditEvent(
      services.deps,
      request.actor,
      "auth.failed",
      { tokenId },
      { reason: error.code, method: request.method, path: pathOf(request) },
      outcome,
    ),
  );
}
