import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";
import { WEBHOOK_ID_PARAMS } from "../api-webhook-schemas.js";

/** POST /api/v1/webhooks/{id}/test: queues a `webhook.tested` event for this webhook alone. */
export function apiWebhookTestRoutes(api: FastifyInstance, services: Services): void {
  api.post<{ Params: { id: string } }>(
    "/api/v1/webhooks/:id/test",
    {
      config: { access: { scope: "settings:write", admin: true } },
      schema: {
        summary: "Send a test delivery",
        description:
          "Queues a signed `webhook.tested` event for this webhook only; it is sent in the background like " +
          "any other. Its outcome shows in the delivery log.",
        tags: ["webhooks"],
        operationId: "testWebhook",
        params: WEBHOOK_ID_PARAMS,
        response: {
          202: {
            type: "object",
            required: ["queued"],
            properties: { queued: { type: "boolean", const: true } },
            additionalProperties: false,
          },
        },
      },
    },
    async (request, reply) => {
      await services.webhooks.test(request.actor, request.params.id);
      return reply.code(202).send({ queued: true });
    },
  );
}
