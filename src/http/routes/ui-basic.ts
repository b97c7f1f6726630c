import { readFileSync } from "node:fs";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isAdmin } from "../../core/permissions.js";
import type { Services } from "../../service/services.js";
import type { Html } from "../../ui/html.js";
import type { PageContext } from "../../ui/layout.js";
import { homePage, loginPage } from "../../ui/pages-login.js";
import { issueCrumb } from "../session-cookie.js";
import { safeRedirect } from "./login.js";

const STATIC_FILES: Record<string, { type: string; body: Buffer }> = {
  "steward.css": {
    type: "text/css; charset=utf-8",
    body: readFileSync(new URL("../../../public/steward.css", import.meta.url)),
  },
  "steward.js": {
    type: "text/javascript; charset=utf-8",
    body: readFileSync(new URL("../../../public/steward.js", import.meta.url)),
  },
};

/** The context every page renders with: who is signed in and a crumb for its forms. */
export async function pageContext(
  request: FastifyRequest,
  reply: FastifyReply,
  services: Services,
): Promise<PageContext> {
  // Forms are for browser sessions (the account pages need one). Neither Basic auth (JENKINS.md §4) nor an
  // anonymous visit starts a session here: python-jenkins reads `GET /` on every get_version().
  const crumb = request.session ? await issueCrumb(request, reply, services) : null;
  // The first admin keeps a warning on every page until the printed initial password is changed.
  const user =
    request.principal.authenticatedBy === "session"
      ? await services.deps.store.getUser(request.principal.userId)
      : null;
  // As Jenkins' administrative monitor: admins are told while any user still holds a legacy token.
  const legacyTokenHolders =
    request.session && isAdmin(request.principal) ? await services.deps.store.countLegacyTokenHolders() : 0;
  return {
    principal: request.principal,
    crumb,
    mustChangePassword: user?.mustChangePassword ?? false,
    legacyTokenHolders,
  };
}

export function sendPage(reply: FastifyReply, page: Html, status = 200): FastifyReply {
  return reply
    .code(status)
    .type("text/html; charset=utf-8")
    .header("Cache-Control", "no-store")
    .send(page.value);
}

export function uiBasicRoutes(app: FastifyInstance, services: Services): void {
  app.get<{ Params: { file: string } }>(
    "/static/:file",
    { config: { public: true } },
    async (request, reply) => {
      const file = Object.hasOwn(STATIC_FILES, request.params.file)
        ? STATIC_FILES[request.params.file]
        : undefined;
      if (!file) return reply.code(404).type("text/plain").send("Not found");
      return reply.type(file.type).header("Cache-Control", "public, max-age=3600").send(file.body);
    },
  );

  app.get("/", async (request, reply) =>
    sendPage(reply, homePage(await pageContext(request, reply, services))),
  );

  app.get<{ Querystring: { from?: string } }>("/login", async (request, reply) => {
    const context = await pageContext(request, reply, services);
    return sendPage(reply, loginPage(context, { from: safeRedirect(request.query.from), failed: false }));
  });
  app.get<{ Querystring: { from?: string } }>("/loginError", async (request, reply) => {
    const context = await pageContext(request, reply, services);
    return sendPage(reply, loginPage(context, { from: safeRedirect(request.query.from), failed: true }), 401);
  });
}
