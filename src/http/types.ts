import type { Logger } from "pino";
import type { ActiveSession } from "../auth/sessions.js";
import type { Principal } from "../core/permissions.js";
import type { Actor } from "../service/context.js";
import type { HotLane } from "./hot-lane.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Steward's logger (Fastify's own is off). */
    stewardLog: Logger;
    /** Answers the most frequent cached-token requests before routing (src/http/hot-lane.ts). */
    hotLane: HotLane;
  }
  interface FastifyRequest {
    /** Fields added to this request's log lines (e.g. the request forward auth was asked about). */
    logFields: Record<string, unknown> | null;
    principal: Principal;
    session: ActiveSession | null;
    actor: Actor;
  }
  interface FastifyContextConfig {
    /** Route needs no crumb even for session or password callers (e.g. the login form). */
    crumbExempt?: boolean;
    /** Route skips authentication entirely (health checks, static files). */
    public?: boolean;
  }
}
