import type { FastifyInstance } from "fastify";
import { StewardError } from "../../core/errors.js";
import type { Services } from "../../service/services.js";
import { tokenView } from "../../service/views.js";
import { ID_PARAMS, type IdParams } from "../api-schemas.js";

const ROTATE_BODY = {
  type: "object",
  properties: {
    graceSeconds: {
      type: "integer",
      minimum: 0,
      default: 0,
      description:
        "How long the old value keeps working, in seconds (at most the policy's maxRotationGraceSeconds).",
    },
  },
  additionalProperties: false,
} as const;

interface RotateBody {
  graceSeconds: number;
}

const ROTATE_DESCRIPTION =
  "A new value replaces the old one; name, scopes, allow-list and lifetime carry over. Rotating an " +
  "already-rotated value is refused (409) and recorded as `token.rotate.replayed`: someone else may hold it.";

/** POST /api/v1/tokens/{id}/rotate and POST /api/v1/tokens/self/rotate. */
export function apiTokenRotateRoutes(api: FastifyInstance, services: Services): void {
  const { tokens } = services;
  const issued = (result: Awaited<ReturnType<typeof tokens.rotate>>) => ({
    token: tokenView(result.token, services.usage),
    value: result.value,
  });

  api.post<{ Body: RotateBody }>(
    "/api/v1/tokens/self/rotate",
    {
      config: { access: { scope: "tokens:write" }, documentedErrors: [409] },
      schema: {
        summary: "Rotate the token making this call",
        description: `${ROTATE_DESCRIPTION} Needs no other credential than the token itself.`,
        tags: ["tokens"],
        operationId: "rotateSelf",
        body: ROTATE_BODY,
        response: { 200: { $ref: "IssuedToken#" } },
      },
    },
    async (request, reply) => {
      const { tokenId, authenticatedBy } = request.principal;
      if (authenticatedBy !== "token" || !tokenId) {
        throw new StewardError(
          "bad_request",
          "Only a token can rotate itself: authenticate with the token (Basic user:token).",
        );
      }
      const token = await tokens.visibleToken(request.actor, tokenId);
      const result = await tokens.rotate(request.actor, token, request.body.graceSeconds);
      return reply.header("Cache-Control", "no-store").send(issued(result));
    },
  );

  api.post<{ Params: IdParams; Body: RotateBody }>(
    "/api/v1/tokens/:id/rotate",
    {
      config: { access: { scope: "tokens:write" }, documentedErrors: [409] },
      schema: {
        summary: "Rotate a token",
        description: `${ROTATE_DESCRIPTION} Owner, owner of the service account, or an administrator; anyone else gets 404.`,
        tags: ["tokens"],
        operationId: "rotateToken",
        params: ID_PARAMS,
        body: ROTATE_BODY,
        response: { 200: { $ref: "IssuedToken#" } },
      },
    },
    async (request, reply) => {
      const token = await tokens.visibleToken(request.actor, request.params.id);
      const result = await tokens.rotate(request.actor, token, request.body.graceSeconds);
      return reply.header("Cache-Control", "no-store").send(issued(result));
    },
  );
}
