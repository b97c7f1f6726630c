import type { FastifyInstance, FastifyRequest } from "fastify";
import { endOfDayUtc } from "../../core/expiry.js";
import { requireScope } from "../../core/permissions.js";
import type { Services } from "../../service/services.js";
import type { AuditEvent, AuditQuery } from "../../store/store.js";
import { type AuditFilters, auditPage } from "../../ui/pages-audit.js";
import { sendPage } from "./ui-basic.js";
import { adminPage } from "./ui-support.js";

const PAGE_SIZE = 50;
const DAY = 24 * 3600 * 1000;

type AuditRequest = FastifyRequest<{ Querystring: Record<string, unknown> }>;

function text(value: unknown, max: number): string {
  return typeof value === "string" ? value.trim().slice(0, max) : "";
}

/** The audit log viewer: filters by user, token, action and days (UTC), newest first, paged by event id. */
export function uiManageAuditRoutes(app: FastifyInstance, services: Services): void {
  app.get("/manage/audit", async (request: AuditRequest, reply) => {
    const context = await adminPage(request, reply, services);
    requireScope(request.principal, "audit:read");
    const filters: AuditFilters = {
      user: text(request.query.user, 64),
      token: text(request.query.token, 200),
      action: text(request.query.action, 100),
      since: text(request.query.since, 10),
      until: text(request.query.until, 10),
    };
    const before = text(request.query.before, 16);
    const query: AuditQuery = { limit: PAGE_SIZE + 1 };
    const errors: string[] = [];
    // Ids are case-insensitive but recorded as spelled at creation: look up the stored spelling.
    if (filters.user) query.userId = (await services.deps.store.getUser(filters.user))?.id ?? filters.user;
    if (filters.token) query.tokenId = filters.token;
    if (filters.action) query.action = filters.action;
    if (filters.since) {
      const end = endOfDayUtc(filters.since);
      if (end === null) errors.push("From must be a date (yyyy-mm-dd).");
      else query.since = end - DAY;
    }
    if (filters.until) {
      const end = endOfDayUtc(filters.until);
      if (end === null) errors.push("To must be a date (yyyy-mm-dd).");
      else query.until = end;
    }
    if (before) {
      if (/^[1-9]\d{0,14}$/.test(before)) query.before = Number(before);
      else errors.push("That page of the log does not exist.");
    }
    let events: AuditEvent[] = [];
    if (errors.length === 0) events = await services.deps.store.queryAudit(query);
    const page = events.slice(0, PAGE_SIZE);
    return sendPage(
      reply,
      auditPage(context, {
        events: page,
        filters,
        paged: query.before !== undefined,
        next: events.length > PAGE_SIZE ? page[page.length - 1]!.id : null,
        error: errors.length > 0 ? errors.join(" ") : null,
      }),
      errors.length > 0 ? 400 : 200,
    );
  });
}
