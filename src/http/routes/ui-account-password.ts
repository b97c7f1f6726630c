import type { FastifyInstance } from "fastify";
import { invalid } from "../../core/errors.js";
import { auditEvent } from "../../service/context.js";
import type { Services } from "../../service/services.js";
import { passwordPage } from "../../ui/pages-password.js";
import { setSessionCookie } from "../session-cookie.js";
import { sendPage } from "./ui-basic.js";
import { accountPage, attempt, field, seeOther } from "./ui-support.js";

/** Change one's own password (and so clear the first admin's "initial password" warning). */
export function uiAccountPasswordRoutes(app: FastifyInstance, services: Services): void {
  app.get("/account/password", async (request, reply) =>
    sendPage(reply, passwordPage(await accountPage(request, reply, services), { error: null })),
  );

  app.post("/account/password", async (request, reply) => {
    const context = await accountPage(request, reply, services);
    const me = context.principal.userId;
    const current = field(request.body, "current");
    const password = field(request.body, "password");
    const confirm = field(request.body, "confirm");
    const result = await attempt(async () => {
      if (password !== confirm) throw invalid("The new password and its confirmation differ.");
      if (password === current) throw invalid("The new password must differ from the current one.");
      // Through the login check, not a bare compare: wrong guesses count towards the same per-user and
      // per-address limits as the sign-in form, so a stolen session cannot brute-force the password.
      const user = await services.authenticator.login(me, current, request.ip);
      if (!user) {
        await services.deps.store.appendAudit(
          auditEvent(
            services.deps,
            request.actor,
            "user.password.change.failed",
            { userId: me },
            {},
            "failure",
          ),
        );
        throw invalid("The current password is not correct.");
      }
      await services.users.setPassword(request.actor, user.id, password);
      // Changing the password ends every session of the user (the store does so), this one included:
      // this browser continues in a fresh session, the others must sign in with the new password.
      setSessionCookie(request, reply, services, await services.sessions.create(user.id));
    });
    if ("error" in result) {
      return sendPage(reply, passwordPage(context, { error: result.error.message }), result.error.status);
    }
    return seeOther(reply, "/account/tokens?done=password");
  });
}
