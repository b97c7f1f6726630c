import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";
import { listOf } from "../api-schemas.js";

/** GET /api/v1/expiry-warnings: tokens of mine (or of a user I manage) close to expiry. */
export function apiExpiryWarningsRoutes(api: FastifyInstance, services: Services): void {
  api.get<{ Querystring: { user?: string } }>(
    "/api/v1/expiry-warnings",
    {
      config: { access: { scope: "tokens:read" }, documentedErrors: [404] },
      schema: {
        summary: "Tokens about to expire",
        description:
          "Live tokens within the largest expiry-warning threshold (setting `expiryWarningDays`, default 14, 7 " +
          "and 1 days), soonest first: what the token page shows. The caller's own, or with `user` those of " +
          "a service account the caller owns (any user's, for an administrator); anyone else gets 404.",
        tags: ["tokens"],
        operationId: "listExpiryWarnings",
        querystring: {
          type: "object",
          properties: {
            user: { type: "string", maxLength: 64, description: "Whose tokens (default: mine)." },
          },
          additionalProperties: false,
        },
        response: {
          200: listOf({
            type: "object",
            required: [
              "tokenId",
              "tokenName",
              "userId",
              "expiresAt",
              "daysLeft",
              "thresholdDays",
              "humanOwnerId",
            ],
            properties: {
              tokenId: { type: "string" },
              tokenName: { type: "string" },
              userId: { type: "string", description: "The token's owner." },
              expiresAt: { type: "string", format: "date-time" },
              daysLeft: { type: "integer", minimum: 1, description: "Whole days left, rounded up." },
              thresholdDays: { type: "integer", description: "The smallest threshold it is within." },
              humanOwnerId: {
                type: ["string", "null"],
                description: "For a service account's token: the person who should act.",
              },
            },
            additionalProperties: false,
          }),
        },
      },
    },
    async (request) => {
      const owner = await services.tokens.ownerFor(
        request.actor,
        request.query.user ?? request.principal.userId,
      );
      const tokens = await services.tokens.list(owner.id);
      return { items: services.expiry.warningsFor(owner, tokens) };
    },
  );
}
