import type { FastifyInstance } from "fastify";
import { auditEventView } from "../../service/audit.js";
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

/** GET /api/v1/audit: the audit log, newest first, administrators only. */
export function apiAuditRoutes(api: FastifyInstance, services: Services): void {
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
          properties: {
            user: { type: "string", maxLength: 64, description: "Events by or about this user id." },
            token: { type: "string", maxLength: 200, description: "Events by or about this token id." },
            action: {
              type: "string",
              maxLength: 100,
              description: "An exact action (`token.created`) or a prefix ending in `.*` (`token.*`).",
            },
            since: { type: "string", format: "date-time", description: "At or after (ISO 8601)." },
            until: { type: "string", format: "date-time", description: "Before (ISO 8601)." },
            ...PAGE_QUERY_PROPERTIES,
          },
          additionalProperties: false,
        },
        response: { 200: pageOf("Event", "A page of events, newest first.") },
      },
    },
    async (request) => {
      const { user, token, action, since, until, cursor, limit } = request.query;
      const before = cursor === undefined ? undefined : decodeCursor(cursor, ["number"] as const)[0];
      // User ids are case-insensitive; events record them as spelled at creation.
      const userId = user === undefined ? undefined : ((await services.deps.store.getUser(user))?.id ?? user);
      const events = await services.deps.store.queryAudit({
        userId,
        tokenId: token,
        action,
        since: isoParam("since", since),
        until: isoParam("until", until),
        before,
        limit: limit + 1,
      });
      const items = events.slice(0, limit);
      const last = items.at(-1);
      return {
        items: items.map(auditEventView),
        next: events.length > limit && last ? encodeCursor([last.id]) : null,
      };
    },
  );
}
