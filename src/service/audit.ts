import type { Clock } from "../core/clock.js";
import type { AuditEvent, AuditInput, AuditQuery, Store } from "../store/store.js";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * An audit event as every outside reader sees it — the REST API, `steward audit export` and webhook
 * payloads (SPEC §4.2 `Event`). Events never hold a secret, so nothing is filtered here.
 */
export function auditEventView(event: AuditEvent) {
  return {
    id: event.id,
    at: iso(event.at),
    action: event.action,
    actor: { userId: event.actorUserId, tokenId: event.actorTokenId },
    target: { userId: event.targetUserId, tokenId: event.targetTokenId },
    ip: event.ip,
    userAgent: event.userAgent,
    outcome: event.outcome,
    requestId: event.requestId,
    details: event.details,
  };
}

export type AuditEventView = ReturnType<typeof auditEventView>;

/** Events read per query while exporting: memory stays flat however long the log is. */
const EXPORT_PAGE = 500;

/** Every event matching `query`, oldest first, read a page at a time (for exports). */
export async function* auditEventsOldestFirst(
  store: Store,
  query: Omit<AuditQuery, "limit" | "after" | "order" | "before">,
): AsyncGenerator<AuditEvent> {
  let after: number | undefined;
  for (;;) {
    const page = await store.queryAudit({ ...query, after, order: "asc", limit: EXPORT_PAGE });
    yield* page;
    if (page.length < EXPORT_PAGE) return;
    after = page.at(-1)!.id;
  }
}

export interface DenialRecorderOptions {
  /** At most one event per key in this window. Default one minute. */
  windowMs?: number;
  /** Keys remembered; the oldest are forgotten first. Default 10,000. */
  maxKeys?: number;
}

/**
 * Records refusals that change nothing (a missing crumb, a rate-limited sign-in, bad credentials) as
 * audit events, at most one per key (e.g. action and client address) per window, so that whoever sends
 * them cannot flood the audit table: each write is a row and possibly a webhook delivery. The next event
 * written for a key says in `details.suppressed` how many were left out before it.
 *
 * The limit is per instance (N instances write at most N per window); that bounds the table just the same.
 * Recording never fails the request: the refusal stands whether or not its event could be written.
 */
export class DenialRecorder {
  private readonly windows = new Map<string, { start: number; suppressed: number }>();
  private readonly windowMs: number;
  private readonly maxKeys: number;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
    options: DenialRecorderOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 60_000;
    this.maxKeys = options.maxKeys ?? 10_000;
  }

  /** Writes `event` unless one with the same key was written within the window; true when written. */
  async record(key: string, event: AuditInput): Promise<boolean> {
    const now = this.clock.now();
    const window = this.windows.get(key);
    if (window && now - window.start < this.windowMs) {
      window.suppressed++;
      return false;
    }
    const suppressed = window?.suppressed ?? 0;
    this.windows.delete(key);
    this.windows.set(key, { start: now, suppressed: 0 });
    if (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    try {
      await this.store.appendAudit(
        suppressed > 0 ? { ...event, details: { ...event.details, suppressed } } : event,
      );
      return true;
    } catch (error) {
      this.onError(error);
      return false;
    }
  }
}
