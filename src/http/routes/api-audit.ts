import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { auditEventsOldestFirst, auditEventView } from "../../service/audit.js";
import type { Services } from "../../service/services.js";
import { decodeCursor, encodeCursor, isoParam } from "../api-paging.js";
import { PAGE_QUERY_PROPERTIES, pageOf } from "../api-schemas.js";

interface AuditListQuery {
  user?: string;
  token?: string;
  action?: string;
  since?: string;
  until?: string;
  cursor?: string;
  limit: number;
}

type AuditFilterQuery = Omit<AuditListQuery, "cursor" | "limit">;

const FILTER_PROPERTIES = {
  user: { type: "string", maxLength: 64, description: "Events by or about this user id." },
  token: { type: "string", maxLength: 200, description: "Events by or about this token id." },
  action: {
    type: "string",
    maxLength: 100,
    description: "An exact action (`token.created`) or a prefix ending in `.*` (`token.*`).",
  },
  since: { type: "string", format: "date-time", description: "At or after (ISO 8601)." },
  until: { type: "string", format: "date-time", description: "Before (ISO 8601)." },
} as const;

/** GET /api/v1/audit (newest first, paged) and /api/v1/audit/export (JSON lines), administrators only. */
export function apiAuditRoutes(api: FastifyInstance, services: Services): void {
  const { store } = services.deps;

  /** The store's filter for a query; user ids are case-insensitive, events keep them as spelled at creation. */
  async function filterOf(query: AuditFilterQuery) {
    const { user, token, action, since, until } = query;
    const userId = user === undefined ? undefined : ((await store.getUser(user))?.id ?? user);
    return {
      userId,
      tokenId: token,
      action,
      since: isoParam("since", since),
      until: isoParam("until", until),
    };
  }

  api.get<{ Querystring: AuditFilterQuery }>(
    "/api/v1/audit/export",
    {
      config: { access: { scope: "audit:read", admin: true } },
      schema: {
        summary: "Export the audit log as JSON lines",
        description:
          "Every matching event, oldest first, one `Event` JSON object per line (`application/x-ndjson`), " +
          "streamed. The same filters as the query.",
        tags: ["audit"],
        operationId: "exportAudit",
        querystring: { type: "object", properties: FILTER_PROPERTIES, additionalProperties: false },
        response: {
          200: {
            description: "One Event per line.",
            content: { "application/x-ndjson": { schema: { type: "string" } } },
          },
        },
      },
    },
    async (request, reply) => {
      const filter = await filterOf(request.query);
      async function* lines() {
        for await (const event of auditEventsOldestFirst(store, filter)) {
          yield `${JSON.stringify(auditEventView(event))}\n`;
        }
      }
      return reply.type("application/x-ndjson; charset=utf-8").send(Readable.from(lines()));
    },
  );

  api.get<{ Querystring: AuditListQuery }>(
    "/api/v1/audit",
    {
      config: { access: { scope: "audit:read", admin: true } },
      schema: {
        summary: "Query the audit log",
        description: "Newest first. Filters combine (AND).",
        tags: ["audit"],
        operationId: "queryAudit",
        querystring: {
          type: "object",
          properties: { ...FILTER_PROPERTIES, ...PAGE_QUERY_PROPERTIES },
          additionalProperties: false,
        },
        response: { 200: pageOf("Event", "A page of events, newest first.") },
      },
    },
    async (request) => {
      const { cursor, limit } = request.query;
      const before = cursor === undefined ? undefined : decodeCursor(cursor, ["number"] as const)[0];
      const events = await store.queryAudit({ ...(await filterOf(request.query)), before, limit: limit + 1 });
      const items = events.slice(0, limit);
      const last = items.at(-1);
      return {
        items: items.map(auditEventView),
        next: events.length > limit && last ? encodeCursor([last.id]) : null,
      };
    },
  );
}
