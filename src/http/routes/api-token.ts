import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";
import { tokenView } from "../../service/views.js";
import { ID_PARAMS, type IdParams } from "../api-schemas.js";

const NOT_MINE = "Owner, owner of the service account, or an administrator; anyone else gets 404.";

/** GET, PATCH (rename) and DELETE (revoke) /api/v1/tokens/{id}. */
export function apiTokenRoutes(api: FastifyInstance, services: Services): void {
  const { tokens } = services;

  api.get<{ Params: IdParams }>(
    "/api/v1/tokens/:id",
    {
      config: { access: { scope: "tokens:read" } },
      schema: {
        summary: "Get a token",
        description: `Never its value. ${NOT_MINE}`,
        tags: ["tokens"],
        operationId: "getToken",
        params: ID_PARAMS,
        response: { 200: { $ref: "Token#" } },
      },
    },
    async (request) => tokenView(await tokens.visibleToken(request.actor, request.params.id), services.usage),
  );

  api.patch<{ Params: IdParams; Body: { name: string } }>(
    "/api/v1/tokens/:id",
    {
      config: { access: { scope: "tokens:write" } },
      schema: {
        summary: "Rename a token",
        description: `Names are trimmed, 1–100 characters of any Unicode. ${NOT_MINE}`,
        tags: ["tokens"],
        operationId: "renameToken",
        params: ID_PARAMS,
        body: {
          type: "object",
          required: ["name"],
          properties: { name: { type: "string", maxLength: 1000 } },
          additionalProperties: false,
        },
        response: { 200: { $ref: "Token#" } },
      },
    },
    async (request) => {
      const token = await tokens.visibleToken(request.actor, request.params.id);
      await tokens.rename(request.actor, token, request.body.name);
      return tokenView(await tokens.visibleToken(request.actor, token.id), services.usage);
    },
  );

  api.delete<{ Params: IdParams }>(
    "/api/v1/tokens/:id",
    {
      config: { access: { scope: "tokens:write" } },
      schema: {
        summary: "Revoke a token",
        description: `Refused everywhere at once (cached verifications are dropped). Revoking a revoked token is a no-op. ${NOT_MINE}`,
        tags: ["tokens"],
        operationId: "revokeToken",
        params: ID_PARAMS,
        response: {
          204: { type: "null", description: "Revoked." },
        },
      },
    },
    async (request, reply) => {
      const token = await tokens.visibleToken(request.actor, request.params.id);
      await tokens.revoke(request.actor, token);
      return reply.code(204).send();
    },
  );
}
