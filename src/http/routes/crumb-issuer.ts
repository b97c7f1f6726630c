import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { CRUMB_FIELD } from "../../core/crumb.js";
import { StewardError } from "../../core/errors.js";
import type { Services } from "../../service/services.js";
import { sendJenkinsJson } from "../jenkins-reply.js";
import { issueCrumb } from "../session-cookie.js";

const CRUMB_CLASS = "hudson.security.csrf.DefaultCrumbIssuer";

/** The only xpath expressions answered (those Jenkins recipes use), each to plain text. */
function answerXpath(xpath: string, crumb: string): string | null {
  switch (xpath) {
    case "/*/crumbRequestField/text()":
      return CRUMB_FIELD;
    case "/*/crumb/text()":
      return crumb;
    case 'concat(//crumbRequestField,":",//crumb)':
      return `${CRUMB_FIELD}:${crumb}`;
    case "concat(//crumbRequestField,'=',//crumb)":
      return `${CRUMB_FIELD}=${crumb}`;
    default:
      return null;
  }
}

/** GET /crumbIssuer/api/json|xml: a crumb bound to the caller's session (created if needed) and user. */
export function crumbIssuerRoutes(app: FastifyInstance, services: Services): void {
  // Crumb answers are never framed, sniffed or cached (as Jenkins' crumb issuer).
  async function crumbWithHeaders(request: FastifyRequest, reply: FastifyReply): Promise<string> {
    const crumb = await issueCrumb(request, reply, services);
    reply
      .header("X-Frame-Options", "deny")
      .header("X-Content-Type-Options", "nosniff")
      .header("Cache-Control", "no-store");
    return crumb;
  }

  app.get<{ Querystring: Record<string, string | undefined> }>(
    "/crumbIssuer/api/json",
    async (request, reply) => {
      if (request.query.jsonp !== undefined) throw new StewardError("forbidden", "jsonp is not supported.");
      const crumb = await crumbWithHeaders(request, reply);
      return sendJenkinsJson(reply, { _class: CRUMB_CLASS, crumb, crumbRequestField: CRUMB_FIELD });
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>(
    "/crumbIssuer/api/xml",
    async (request, reply) => {
      const crumb = await crumbWithHeaders(request, reply);
      const xpath = request.query.xpath;
      if (xpath !== undefined) {
        const answer = answerXpath(xpath, crumb);
        if (answer === null)
          throw new StewardError("forbidden", "Only the crumb xpath expressions are supported.");
        return reply.type("text/plain;charset=utf-8").send(answer);
      }
      return reply
        .type("application/xml;charset=utf-8")
        .send(
          `<defaultCrumbIssuer _class="${CRUMB_CLASS}"><crumb>${crumb}</crumb><crumbRequestField>${CRUMB_FIELD}</crumbRequestField></defaultCrumbIssuer>`,
        );
    },
  );
}
