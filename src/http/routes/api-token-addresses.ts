import type { FastifyInstance } from "fastify";
import { ADDRESSES_PER_TOKEN } from "../../auth/usage-recorder.js";
import type { Services } from "../../service/services.js";
import { tokenAddresses } from "../../service/token-addresses.js";
import { ID_PARAMS, type IdParams, listOf } from "../api-schemas.js";

const iso = (ms: number) => new Date(ms).toISOString();

/** GET /api/v1/tokens/{id}/addresses: where a token was used from. */
export function apiTokenAddressesRoutes(api: FastifyInstance, services: Services): void {
  api.get<{ Params: IdParams }>(
    "/api/v1/tokens/:id/addresses",
    {
      config: { access: { scope: "tokens:read" } },
      schema: {
        summary: "Client addresses of a token",
        description:
          `The ${ADDRESSES_PER_TOKEN} addresses it was used from most recently, most recent first, with ` +
          "first and last use and a use count. Counted in memory and written in batches with the use " +
          "counters. Owner, owner of the service account, or an administrator; anyone else gets 404.",
        tags: ["tokens"],
        operationId: "listTokenAddresses",
        params: ID_PARAMS,
        response: {
          200: listOf({
            type: "object",
            required: ["ip", "firstSeenAt", "lastSeenAt", "useCount"],
            properties: {
              ip: { type: "string" },
              firstSeenAt: { type: "string", format: "date-time" },
              lastSeenAt: { type: "string", format: "date-time" },
              useCount: { type: "integer", minimum: 1 },
            },
            additionalProperties: false,
          }),
        },
      },
    },
    async (request) => {
      const token = await services.tokens.visibleToken(request.actor, request.params.id);
      const addresses = await tokenAddresses(services.deps.store, services.usage, token.id);
      return {
        items: addresses.map((a) => ({
          ip: a.ip,
          firstSeenAt: iso(a.firstSeenAt),
          lastSeenAt: iso(a.lastSeenAt),
          useCount: a.useCount,
        })),
      };
    },
  );
}
