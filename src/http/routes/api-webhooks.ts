import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";
import { webhookView } from "../../service/webhooks.js";
import { listOf } from "../api-schemas.js";
import { NEW_WEBHOOK_SCHEMA, WEBHOOK_SCHEMA } from "../api-webhook-schemas.js";

const ACCESS = { access: { scope: "settings:write", admin: true } } as const;

/** GET and POST /api/v1/webhooks: the webhooks, and a new one (its secret in the answer only). */
export function apiWebhooksRoutes(api: FastifyInstance, services: Services): void {
  api.get(
    "/api/v1/webhooks",
    {
      config: ACCESS,
      schema: {
        summary: "List webhooks",
        description: "Never their secrets.",
        tags: ["webhooks"],
        operationId: "listWebhooks",
        response: {
          200: listOf(WEBHOOK_SCHEMA),
        },
      },
    },
    async () => ({ items: (await services.webhooks.list()).map(webhookView) }),
  );

  api.post<{ Body: { url: string; events: string[] } }>(
    "/api/v1/webhooks",
    {
      config: ACCESS,
      schema: {
        summary: "Create a webhook",
        description:
          "Every audit event whose action passes `events` is sent to `url` as a signed JSON POST, in the " +
          "background, retried with exponential back-off. The answer holds the signing secret: it is never " +
          "shown again.",
        tags: ["webhooks"],
        operationId: "createWebhook",
        body: {
          type: "object",
          required: ["url", "events"],
          properties: {
            url: {
              type: "string",
              maxLength: 2000,
              description: "An http:// or https:// URL, without credentials.",
            },
            events: {
              type: "array",
              items: { type: "string", maxLength: 100 },
              minItems: 1,
              maxItems: 50,
              description:
                'e.g. `["token.revoked", "token.used.new-ip", "token.expiring"]`, `["token.*"]`, `["*"]`.',
            },
          },
          additionalProperties: false,
        },
        response: { 201: NEW_WEBHOOK_SCHEMA },
      },
    },
    async (request, reply) => {
      const { webhook, secret } = await services.webhooks.create(request.actor, request.body);
      return reply
        .code(201)
        .header("Cache-Control", "no-store")
        .send({ ...webhookView(webhook), secret });
    },
  );
}
