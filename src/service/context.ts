import type { Config } from "../config.js";
import type { Clock } from "../core/clock.js";
import type { PasswordHasher } from "../core/password.js";
import type { Principal } from "../core/permissions.js";
import type { Random } from "../core/random.js";
import type { AuditInput, AuditOutcome, Store } from "../store/store.js";
import type { SettingsCache } from "./settings-cache.js";

/** What every service needs, passed explicitly. */
export interface Deps {
  store: Store;
  clock: Clock;
  random: Random;
  passwords: PasswordHasher;
  settings: SettingsCache;
  config: Config;
}

/** Who asks, and from where: everything an audit event needs to say about the actor. */
export interface Actor {
  principal: Principal;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

export interface EventTarget {
  userId?: string | null;
  tokenId?: string | null;
}

/** Builds an audit event for a change made by `actor`. Details must never hold a secret. */
export function auditEvent(
  deps: Pick<Deps, "clock">,
  actor: Actor,
  action: string,
  target: EventTarget = {},
  details: Record<string, unknown> = {},
  outcome: AuditOutcome = "success",
): AuditInput {
  const anonymous = actor.principal.authenticatedBy === "anonymous";
  return {
    at: deps.clock.now(),
    action,
    actorUserId: anonymous ? null : actor.principal.userId,
    actorTokenId: actor.principal.tokenId ?? null,
    targetUserId: target.userId ?? null,
    targetTokenId: target.tokenId ?? null,
    ip: actor.ip,
    userAgent: actor.userAgent ? actor.userAgent.slice(0, 512) : null,
    outcome,
    requestId: actor.requestId,
    details,
  };
}
