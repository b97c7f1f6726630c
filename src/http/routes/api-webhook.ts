import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";
import { WEBHOOK_ID_PARAMS } from "../api-webhook-schemas.js";

/** DELETE /api/v1/webhooks/{id}: the webhook, its queue and its delivery log. */
export function apiWebhookRoutes(api: FastifyInstance, services: Services): void {
  api.delete<{ Params: { id: string } }>(
    "/api/v1/webhooks/:id",
    {
      config: { access: { scope: "settings:write", admin: true } },
      schema: {
        summary: "Delete a webhook",
        description: "Deliveries still queued for it are dropped.",
        tags: ["webhooks"],
        operationId: "deleteWebhook",
        params: WEBHOOK_ID_PARAMS,
        response: { 204: { type: "null", description: "Deleted." } },
      },
    },
    async (request, reply) => {
      await services.webhooks.delete(request.actor, request.params.id);
      return reply.code(204).send();
    },
  );
}
