import type { FastifyInstance } from "fastify";
import { StewardError } from "../../core/errors.js";
import { auditEvent } from "../../service/context.js";
import type { Services } from "../../service/services.js";
import { jenkinsParam } from "../jenkins-reply.js";
import { clearSessionCookie, setSessionCookie } from "../session-cookie.js";

/**
 * Only same-site paths are followed after login, never another origin (no open redirect). Printable
 * ASCII only: browsers drop tabs and newlines from URLs (`/\t/evil.com` would become `//evil.com`), and
 * control or non-ASCII characters cannot go into a Location header at all. Takes `unknown`: a repeated
 * query parameter (`?from=a&from=b`) arrives as an array.
 */
export function safeRedirect(from: unknown): string {
  if (typeof from !== "string" || from.length > 2000 || !/^\/(?![/\\])[\x21-\x7e]*$/.test(from)) return "/";
  return from;
}

/** Jenkins' form login (`/j_spring_security_check`) and logout. The form checks passwords only. */
export function loginRoutes(app: FastifyInstance, services: Services): void {
  app.post("/j_spring_security_check", { config: { crumbExempt: true } }, async (request, reply) => {
    const userId = (jenkinsParam(request, "j_username") ?? "").trim();
    const password = jenkinsParam(request, "j_password") ?? "";
    const from = safeRedirect(jenkinsParam(request, "from"));
    let user = null;
    try {
      user = userId === "" ? null : await services.authenticator.login(userId, password, request.ip);
    } catch (error) {
      if (error instanceof StewardError && error.code === "rate_limited") {
        // Refused attempts change nothing and come as fast as a client can send them: one event per
        // address per minute, so they cannot flood the audit log.
        await services.denials.record(
          `login.rate-limited:${request.ip}`,
          auditEvent(
            services.deps,
            request.actor,
            "login.failed",
            { userId: userId.slice(0, 64) || null },
            { reason: "rate_limited" },
            "denied",
          ),
        );
      }
      throw error;
    }
    if (!user) {
      await services.deps.store.appendAudit(
        auditEvent(
          services.deps,
          request.actor,
          "login.failed",
          { userId: userId.slice(0, 64) || null },
          {},
          "failure",
        ),
      );
      return reply.redirect(`/loginError?from=${encodeURIComponent(from)}`, 302);
    }
    // A fresh session id on every login: a session planted before login is worthless (no fixation).
    if (request.session) await services.sessions.destroy(request.session);
    // The session and its event in one transaction: no sign-in without its record.
    const session = await services.sessions.create(
      user.id,
      auditEvent(
        services.deps,
        {
          ...request.actor,
          principal: { ...request.actor.principal, userId: user.id, authenticatedBy: "password" },
        },
        "login.succeeded",
        { userId: user.id },
      ),
    );
    setSessionCookie(request, reply, services, session);
    return reply.redirect(user.mustChangePassword ? "/account/password" : from, 302);
  });

  const logout = async (request: import("fastify").FastifyRequest, reply: import("fastify").FastifyReply) => {
    const session = request.session;
    if (session) {
      const userId = session.record.userId;
      const event = userId
        ? auditEvent(
            services.deps,
            {
              ...request.actor,
              principal: { ...request.actor.principal, userId, authenticatedBy: "session" },
            },
            "logout",
            { userId },
          )
        : undefined;
      await services.sessions.destroy(session, event);
    }
    clearSessionCookie(reply);
    return reply.redirect("/login", 302);
  };
  app.get("/logout", { config: { crumbExempt: true } }, logout);
  app.post("/logout", logout);
}
