import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";
import { deliveryView } from "../../service/webhooks.js";
import { decodeCursor, encodeCursor } from "../api-paging.js";
import { PAGE_QUERY_PROPERTIES } from "../api-schemas.js";
import { DELIVERY_SCHEMA, WEBHOOK_ID_PARAMS } from "../api-webhook-schemas.js";

/** GET /api/v1/webhooks/{id}/deliveries: the delivery log of a webhook, newest first. */
export function apiWebhookDeliveriesRoutes(api: FastifyInstance, services: Services): void {
  api.get<{ Params: { id: string }; Querystring: { cursor?: string; limit: number } }>(
    "/api/v1/webhooks/:id/deliveries",
    {
      config: { access: { scope: "settings:write", admin: true } },
      schema: {
        summary: "A webhook's delivery log",
        description: "Newest first: status, attempts, the last answer or error, the next retry.",
        tags: ["webhooks"],
        operationId: "listWebhookDeliveries",
        params: WEBHOOK_ID_PARAMS,
        querystring: { type: "object", properties: PAGE_QUERY_PROPERTIES, additionalProperties: false },
        response: {
          200: {
            type: "object",
            required: ["items", "next"],
            properties: {
              items: { type: "array", items: DELIVERY_SCHEMA },
              next: {
                type: ["string", "null"],
                description: "Pass as `cursor` for the next page; null at the end.",
              },
            },
            additionalProperties: false,
          },
        },
      },
    },
    async (request) => {
      const { cursor, limit } = request.query;
      const before = cursor === undefined ? undefined : decodeCursor(cursor, ["number"] as const)[0];
      const deliveries = await services.webhooks.deliveries(request.params.id, { before, limit: limit + 1 });
      const items = deliveries.slice(0, limit);
      const last = items.at(-1);
      return {
        items: items.map(deliveryView),
        next: deliveries.length > limit && last ? encodeCursor([last.id]) : null,
      };
    },
  );
}
