import type { FastifyReply, FastifyRequest } from "fastify";
import { type ActiveSession, SESSION_COOKIE } from "../auth/sessions.js";
import { computeCrumb } from "../core/crumb.js";
import type { Services } from "../service/services.js";
import { clearCookie, setCookie } from "./cookies.js";

function isSecure(request: FastifyRequest, services: Services): boolean {
  return request.protocol === "https" || (services.deps.config.baseUrl?.startsWith("https://") ?? false);
}

export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
  session: ActiveSession,
): void {
  setCookie(reply, SESSION_COOKIE, session.id, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: isSecure(request, services),
    maxAge: Math.floor(services.deps.config.sessionTtlMs / 1000),
  });
}

export function clearSessionCookie(reply: FastifyReply): void {
  clearCookie(reply, SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "lax" });
}

/** The request's session, created (with its cookie) when it has none: fetching a crumb starts one, as in Jenkins. */
export async function ensureSession(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
): Promise<ActiveSession> {
  if (request.session) return request.session;
  const session = await services.sessions.create(null);
  setSessionCookie(request, reply, services, session);
  request.session = session;
  return session;
}

/** A crumb for this request's session (started if needed) and user: what forms and the crumb issuer hand out. */
export async function issueCrumb(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
): Promise<string> {
  const session = await ensureSession(request, reply, services);
  return computeCrumb(services.crumbSecret, request.principal.userId, session.id);
}
