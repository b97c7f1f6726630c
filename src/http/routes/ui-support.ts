import type { FastifyReply, FastifyRequest } from "fastify";
import { StewardError } from "../../core/errors.js";
import { isAnonymous, type Principal, requireAdmin } from "../../core/permissions.js";
import type { Services } from "../../service/services.js";
import { flashFor } from "../../ui/flash.js";
import type { PageContext } from "../../ui/layout.js";
import { pageContext } from "./ui-basic.js";

/**
 * The web pages are for browser sign-ins only. Anonymous visitors are sent to the sign-in form (see
 * http/errors); API credentials are refused, so every change made through a page goes through a
 * session and therefore needs its crumb (a token-authenticated request would be exempt).
 */
export function requireBrowserSignIn(principal: Principal): void {
  if (isAnonymous(principal)) throw new StewardError("login_required", "Sign in to see this page.");
  if (principal.authenticatedBy !== "session") {
    throw new StewardError(
      "forbidden",
      "These pages need a browser sign-in. With an API token or a password, use the REST API (/api/v1) or the Jenkins-compatible API instead.",
    );
  }
}

/** The context of a page for the signed-in user, with the `?done=` message of the previous action. */
export async function accountPage(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
): Promise<PageContext> {
  requireBrowserSignIn(request.principal);
  const context = await pageContext(request, reply, services);
  return { ...context, flash: flashFor((request.query as Record<string, unknown> | undefined)?.done) };
}

/** As `accountPage`, for administrators only (others get the 403 page). */
export async function adminPage(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
): Promise<PageContext> {
  requireBrowserSignIn(request.principal);
  requireAdmin(request.principal, "users:write");
  const context = await accountPage(request, reply, services);
  return { ...context, section: "manage" };
}

/** A form field as one string: "" when missing; the first value when a field was repeated. */
export function field(body: unknown, name: string): string {
  if (!body || typeof body !== "object") return "";
  const value = (body as Record<string, unknown>)[name];
  if (typeof value === "string") return value;
  if (Array.isArray(value) && typeof value[0] === "string") return value[0];
  return "";
}

/** A repeated form field (checkboxes) as a list of strings. */
export function fieldList(body: unknown, name: string): string[] {
  if (!body || typeof body !== "object") return [];
  const value = (body as Record<string, unknown>)[name];
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return [];
}

/** Errors a person can fix on the form they sent: shown on that form rather than on an error page. */
const FORM_ERRORS = new Set(["validation_failed", "bad_request", "conflict", "forbidden", "missing_scope"]);

/** Runs a change; a fixable error is returned (to be shown beside the form), anything else propagates. */
export async function attempt<T>(change: () => Promise<T>): Promise<{ ok: T } | { error: StewardError }> {
  try {
    return { ok: await change() };
  } catch (error) {
    if (error instanceof StewardError && FORM_ERRORS.has(error.code)) return { error };
    throw error;
  }
}

/** POST-redirect-GET: after a change, the browser loads the result page with a plain GET. */
export function seeOther(reply: FastifyReply, location: string): FastifyReply {
  return reply.redirect(location, 303);
}
