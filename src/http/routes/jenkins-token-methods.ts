import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { StewardError } from "../../core/errors.js";
import { endOfDayUtc, isAboutToExpire } from "../../core/expiry.js";
import { isAdmin, requireScope } from "../../core/permissions.js";
import type { Services } from "../../service/services.js";
import type { UserRecord } from "../../store/store.js";
import { jenkinsParam, sendJenkinsError, sendJenkinsJson } from "../jenkins-reply.js";
import { requireJenkinsApi } from "./jenkins-identity.js";

const DAY = 24 * 3600 * 1000;
const BASE = "descriptorByName/jenkins.security.ApiTokenProperty";

type MethodRequest = FastifyRequest<{ Params: { id?: string; method: string } }>;

function param(request: MethodRequest, name: string): string | undefined {
  return jenkinsParam(request, name);
}

/** Jenkins' expirationDuration / tokenExpiration → expiry (ms), null = never, or an error message. */
function jenkinsExpiry(
  request: MethodRequest,
  now: number,
): { expiresAt: number | null } | { error: string } {
  const duration = (param(request, "expirationDuration") ?? "").trim();
  if (duration === "" || duration === "never") return { expiresAt: null };
  if (duration === "custom") {
    const end = endOfDayUtc((param(request, "tokenExpiration") ?? "").trim());
    if (end === null) return { error: "The expiration date must be a date in the form yyyy-MM-dd." };
    if (end <= now) return { error: "Expiration date is in the past." };
    return { expiresAt: end };
  }
  if (!/^\d{1,5}$/.test(duration) || Number(duration) < 1) {
    return { error: "The expiration duration must be a number of days, custom, or never." };
  }
  const startOfToday = Math.floor(now / DAY) * DAY;
  return { expiresAt: startOfToday + (Number(duration) + 1) * DAY };
}

function formatDay(ms: number): string {
  return new Date(ms - 1).toISOString().slice(0, 10);
}

/**
 * Jenkins' ApiTokenProperty descriptor methods under /me/… and /user/<id>/…, POST only, parameters
 * from the query string or a form body, answers in Jenkins' shapes (JENKINS.md §1–§2).
 */
export function jenkinsTokenMethodRoutes(app: FastifyInstance, services: Services): void {
  const { tokens } = services;

  /**
   * The user whose tokens the method acts on. Jenkins answers 403 to a caller who may not manage that
   * user; a non-admin gets it whether or not the user exists (no enumeration), an admin gets 404.
   */
  async function targetUser(request: MethodRequest): Promise<UserRecord> {
    const { principal } = request;
    requireJenkinsApi(principal);
    requireScope(principal, "tokens:write");
    try {
      return await tokens.ownerFor(request.actor, request.params.id ?? principal.userId);
    } catch (error) {
      if (error instanceof StewardError && error.code === "not_found" && !isAdmin(principal)) {
        throw new StewardError("forbidden", "You may not manage the tokens of this user.", {
          permission: "Overall/Administer",
        });
      }
      throw error;
    }
  }

  /** Jenkins answers a refused token generation with a bare 403 (no body). */
  async function creationTarget(request: MethodRequest, reply: FastifyReply): Promise<UserRecord | null> {
    try {
      const owner = await targetUser(request);
      await tokens.assertMayCreateFor(request.actor, owner);
      return owner;
    } catch (error) {
      if (!(error instanceof StewardError && error.code === "forbidden")) throw error;
      await reply.code(403).send();
      return null;
    }
  }

  /** A token of `owner` by uuid, or null (unknown uuids are silent no-ops in Jenkins). */
  async function ownedToken(owner: UserRecord, uuid: string) {
    const token = await services.deps.store.getToken(uuid);
    return token && token.userId === owner.id && token.revokedAt === null ? token : null;
  }

  const handlers: Record<string, (request: MethodRequest, reply: FastifyReply) => Promise<unknown>> = {
    async generateNewToken(request, reply) {
      const owner = await creationTarget(request, reply);
      if (!owner) return reply;
      const expiry = jenkinsExpiry(request, services.deps.clock.now());
      if ("error" in expiry) return sendJenkinsError(reply, expiry.error);
      const format = param(request, "tokenFormat") === "jenkins" ? "jenkins" : "steward";
      try {
        const issued = await tokens.create(request.actor, owner, {
          name: param(request, "newTokenName"),
          expiresAt: expiry.expiresAt,
          format,
        });
        const { expiresAt } = issued.token;
        return sendJenkinsJson(reply, {
          status: "ok",
          data: {
            tokenName: issued.token.name,
            tokenUuid: issued.token.id,
            tokenValue: issued.value,
            expirationDate: expiresAt === null ? "never" : formatDay(expiresAt),
            aboutToExpire: isAboutToExpire(expiresAt, services.deps.clock.now()),
          },
        });
      } catch (error) {
        if (error instanceof StewardError && error.code === "validation_failed")
          return sendJenkinsError(reply, error.message);
        throw error;
      }
    },

    async addFixedToken(request, reply) {
      const owner = await creationTarget(request, reply);
      if (!owner) return reply;
      const token = await tokens.addFixed(
        request.actor,
        owner,
        param(request, "newTokenName"),
        param(request, "newTokenPlainValue") ?? "",
      );
      return sendJenkinsJson(reply, { status: "ok", data: { tokenUuid: token.id, tokenName: token.name } });
    },

    async revoke(request, reply) {
      const owner = await targetUser(request);
      const uuid = (param(request, "tokenUuid") ?? "").trim();
      if (uuid === "") throw new StewardError("bad_request", "The tokenUuid cannot be empty");
      const token = await ownedToken(owner, uuid);
      if (token) await tokens.revoke(request.actor, token);
      return reply.code(200).send();
    },

    async rename(request, reply) {
      const owner = await targetUser(request);
      const uuid = (param(request, "tokenUuid") ?? "").trim();
      const newName = (param(request, "newName") ?? "").trim();
      if (newName === "") return sendJenkinsError(reply, "The name cannot be empty");
      if (uuid === "") return sendJenkinsError(reply, "The tokenUuid cannot be empty");
      const token = await ownedToken(owner, uuid);
      if (!token) return sendJenkinsError(reply, "No token found, try refreshing the page");
      try {
        await tokens.rename(request.actor, token, newName);
      } catch (error) {
        if (error instanceof StewardError && error.code !== "internal")
          return sendJenkinsError(reply, error.message);
        throw error;
      }
      return sendJenkinsJson(reply, { status: "ok" });
    },

    async revokeAll(request, reply) {
      const owner = await targetUser(request);
      await tokens.revokeAll(request.actor, owner, null);
      return reply.code(200).send();
    },

    // Not copied from Jenkins: an unknown uuid deletes nothing (Jenkins deletes every token).
    async revokeAllExcept(request, reply) {
      const owner = await targetUser(request);
      const uuid = (param(request, "tokenUuid") ?? "").trim();
      if (uuid === "") throw new StewardError("bad_request", "The tokenUuid cannot be empty");
      const keep = await ownedToken(owner, uuid);
      if (!keep)
        throw new StewardError("bad_request", "No token found with this tokenUuid; nothing was revoked.");
      await tokens.revokeAll(request.actor, owner, keep.id);
      return reply.code(200).send();
    },

    async changeToken(request, reply) {
      const owner = await targetUser(request);
      reply.header("X-Jenkins-ValidateButton-Callback", "");
      if (!services.deps.settings.current.legacyTokensEnabled) {
        return reply
          .type("text/html;charset=utf-8")
          .send(
            "<div class=error>Capability to generate a legacy token for this user is currently disabled. An administrator can enable it in the token policy settings.</div>",
          );
      }
      const value = await services.tokens.replaceLegacy(request.actor, owner);
      return reply
        .type("text/html;charset=utf-8")
        .send(
          `<div class=ok>Updated. See the new token in the field above: <code>${value}</code> (shown once).</div>`,
        );
    },
  };

  const handle = async (request: MethodRequest, reply: FastifyReply) => {
    const handler = Object.hasOwn(handlers, request.params.method)
      ? handlers[request.params.method]
      : undefined;
    if (!handler) throw new StewardError("not_found", `There is no token method "${request.params.method}".`);
    return handler(request, reply);
  };
  const methodNotAllowed = async (_request: FastifyRequest, reply: FastifyReply) => {
    reply.header("Allow", "POST");
    throw new StewardError("method_not_allowed", "This method needs POST.");
  };
  for (const prefix of ["/me", "/user/:id"]) {
    app.post(`${prefix}/${BASE}/:method`, handle);
    // Jenkins' @RequirePOST: every other method is 405 (HEAD comes with GET).
    app.route({
      method: ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"],
      url: `${prefix}/${BASE}/:method`,
      handler: methodNotAllowed,
    });
  }
}
