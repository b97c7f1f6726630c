import type { FastifyInstance, FastifyRequest } from "fastify";
import { notFound } from "../../core/errors.js";
import { isAnonymous, type Principal, requireAuthenticated, requireScope } from "../../core/permissions.js";
import type { Services } from "../../service/services.js";
import type { UserRecord } from "../../store/store.js";
import { sendJenkinsJson, sendSerialisedJenkinsJson, xmlEscape } from "../jenkins-reply.js";

/** The answer's path; also served by the hot lane (src/http/hot-lane.ts), which must answer the same. */
export const WHOAMI_JSON_PATH = "/whoAmI/api/json";

/** The public base URL: configured, or derived from the request (through trusted proxies only). */
export function baseUrlOf(request: FastifyRequest, services: Services): string {
  return services.deps.config.baseUrl ?? `${request.protocol}://${request.host}`;
}

function whoAmI(principal: Principal) {
  const anonymous = isAnonymous(principal);
  return {
    _class: "hudson.security.WhoAmI",
    anonymous,
    authenticated: !anonymous,
    // As Jenkins' own user database: roles are not authorities there (clients read roles from /api/v1/me).
    authorities: [anonymous ? "anonymous" : "authenticated"],
    name: anonymous ? "anonymous" : principal.userId,
  };
}

/**
 * A cached token's principal is one frozen object shared by all its requests, so the answer clients poll
 * most is serialised once per principal, not once per request.
 */
const whoAmIBodies = new WeakMap<Principal, string>();

export function whoAmIJson(principal: Principal): string {
  let body = whoAmIBodies.get(principal);
  if (body === undefined) {
    body = JSON.stringify(whoAmI(principal));
    if (Object.isFrozen(principal)) whoAmIBodies.set(principal, body);
  }
  return body;
}

function userJson(user: UserRecord, base: string) {
  return {
    _class: "hudson.model.User",
    absoluteUrl: `${base}/user/${encodeURIComponent(user.id)}`,
    description: null,
    fullName: user.fullName,
    id: user.id,
    property: [
      { _class: "jenkins.security.ApiTokenProperty" },
      { _class: "hudson.tasks.Mailer$UserProperty", address: user.email },
    ],
  };
}

/** A Jenkins-surface call must be authenticated and, for a scoped token, carry `jenkins:api`. */
export function requireJenkinsApi(principal: Principal): void {
  requireAuthenticated(principal);
  requireScope(principal, "jenkins:api");
}

export function jenkinsIdentityRoutes(app: FastifyInstance, services: Services): void {
  // whoAmI is readable by anyone and never shows the session id or the Authorization value.
  app.get(WHOAMI_JSON_PATH, async (request, reply) =>
    sendSerialisedJenkinsJson(reply, whoAmIJson(request.principal)),
  );
  app.get("/whoAmI/api/xml", async (request, reply) => {
    const who = whoAmI(request.principal);
    const authorities = who.authorities.map((a) => `<authority>${xmlEscape(a)}</authority>`).join("");
    return reply
      .type("application/xml;charset=utf-8")
      .send(
        `<whoAmI _class="${who._class}"><anonymous>${who.anonymous}</anonymous><authenticated>${who.authenticated}</authenticated>${authorities}<name>${xmlEscape(who.name)}</name></whoAmI>`,
      );
  });

  app.get("/me/api/json", async (request, reply) => {
    requireJenkinsApi(request.principal);
    const user = await services.deps.store.getUser(request.principal.userId);
    if (!user) throw notFound("User");
    return sendJenkinsJson(reply, userJson(user, baseUrlOf(request, services)));
  });

  app.get<{ Params: { id: string } }>("/user/:id/api/json", async (request, reply) => {
    requireJenkinsApi(request.principal);
    const user = await services.deps.store.getUser(request.params.id);
    if (!user) throw notFound("User");
    return sendJenkinsJson(reply, userJson(user, baseUrlOf(request, services)));
  });

  // A minimal root object so Jenkins clients work: they need the `jobs` array.
  app.get("/api/json", async (request, reply) => {
    requireJenkinsApi(request.principal);
    return sendJenkinsJson(reply, {
      _class: "hudson.model.Hudson",
      assignedLabels: [{ name: "built-in" }],
      mode: "NORMAL",
      nodeDescription: "Steward: Jenkins-compatible API tokens",
      nodeName: "",
      numExecutors: 0,
      description: null,
      jobs: [],
      overallLoad: {},
      primaryView: { _class: "hudson.model.AllView", name: "all", url: `${baseUrlOf(request, services)}/` },
      quietingDown: false,
      slaveAgentPort: -1,
      unlabeledLoad: { _class: "jenkins.model.UnlabeledLoadStatistics" },
      useCrumbs: true,
      useSecurity: true,
      views: [{ _class: "hudson.model.AllView", name: "all", url: `${baseUrlOf(request, services)}/` }],
    });
  });
}
