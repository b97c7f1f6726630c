import type { FastifyInstance } from "fastify";
import { StewardError } from "../../core/errors.js";
import { auditEvent } from "../../service/context.js";
import type { Services } from "../../service/services.js";
import { jenkinsParam } from "../jenkins-reply.js";
import { clearSessionCookie, setSessionCookie } from "../session-cookie.js";

/** Only same-site paths are followed after login, never another origin (no open redirect). */
export function safeRedirect(from: string | undefined): string {
  if (!from || !from.startsWith("/") || from.startsWith("//") || from.startsWith("/\\")) return "/";
  return from.length > 2000 ? "/" : from;
}

/** Jenkins' form login (`/j_spring_security_check`) and logout. The form checks passwords only. */
export function loginRoutes(app: FastifyInstance, services: Services): void {
  app.post("/j_spring_security_check", { config: { crumbExempt: true } }, async (request, reply) => {
    const userId = (jenkinsParam(request.query, request.body, "j_username") ?? "").trim();
    const password = jenkinsParam(request.query, request.body, "j_password") ?? "";
    const from = safeRedirect(jenkinsParam(request.query, request.body, "from"));
    let user = null;
    try {
      user = userId === "" ? null : await services.authenticator.login(userId, password, request.ip);
    } catch (error) {
      if (error instanceof StewardError && error.code === "rate_limited") {
        await services.deps.store.appendAudit(
          auditEvent(
            services.deps,
            request.actor,
            "login.failed",
            { userId: userId || null },
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
    const session = await services.sessions.create(user.id);
    setSessionCookie(request, reply, services, session);
    await services.deps.store.appendAudit(
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
    return reply.redirect(user.mustChangePassword ? "/account/password" : from, 302);
  });

  const logout = async (request: import("fastify").FastifyRequest, reply: import("fastify").FastifyReply) => {
    if (request.session) await services.sessions.destroy(request.session);
    clearSessionCookie(reply);
    return reply.redirect("/login", 302);
  };
  app.get("/logout", { config: { crumbExempt: true } }, logout);
  app.post("/logout", logout);
}
