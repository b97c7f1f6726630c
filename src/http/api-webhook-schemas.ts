/** JSON schemas of the webhook endpoints (inline in the OpenAPI document). */

const dateTime = { type: "string", format: "date-time" } as const;
const dateTimeOrNull = { type: ["string", "null"], format: "date-time" } as const;

export const WEBHOOK_SCHEMA = {
  type: "object",
  description: "A webhook: where events are sent, and which. Its secret is shown once, at creation.",
  required: ["id", "url", "events", "createdAt"],
  properties: {
    id: { type: "string" },
    url: { type: "string", description: "Receives a signed POST per event." },
    events: {
      type: "array",
      items: { type: "string" },
      description: "Filters: an action (`token.revoked`), a prefix (`token.*`) or `*` (everything).",
    },
    createdAt: dateTime,
  },
  additionalProperties: false,
} as const;

export const NEW_WEBHOOK_SCHEMA = {
  ...WEBHOOK_SCHEMA,
  description: "The new webhook and its signing secret: shown in this answer only.",
  required: [...WEBHOOK_SCHEMA.required, "secret"],
  properties: {
    ...WEBHOOK_SCHEMA.properties,
    secret: {
      type: "string",
      description: "HMAC-SHA256 key of the `Steward-Signature` header (see docs/webhooks.md). Shown once.",
    },
  },
} as const;

export const DELIVERY_SCHEMA = {
  type: "object",
  description: "One event sent (or being sent) to a webhook.",
  required: [
    "id",
    "eventId",
    "event",
    "status",
    "attempts",
    "createdAt",
    "lastAttemptAt",
    "lastStatus",
    "lastError",
    "nextAttemptAt",
    "deliveredAt",
  ],
  properties: {
    id: { type: "integer", description: "Also sent as the `Steward-Delivery` header and the body's `id`." },
    eventId: { type: "integer", description: "The audit event delivered." },
    event: { type: "string", description: "Its action, e.g. `token.revoked`." },
    status: {
      type: "string",
      enum: ["pending", "delivered", "failed"],
      description: "`failed`: every attempt failed, no more will be made.",
    },
    attempts: { type: "integer", minimum: 0 },
    createdAt: dateTime,
    lastAttemptAt: dateTimeOrNull,
    lastStatus: { type: ["integer", "null"], description: "HTTP status of the last attempt." },
    lastError: { type: ["string", "null"], description: "Why the last attempt failed." },
    nextAttemptAt: { ...dateTimeOrNull, description: "When it is retried (pending only)." },
    deliveredAt: dateTimeOrNull,
  },
  additionalProperties: false,
} as const;

export const WEBHOOK_ID_PARAMS = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, maxLength: 200 } },
  additionalProperties: false,
} as const;
