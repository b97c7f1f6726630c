import type { Clock } from "../core/clock.js";
import type { Random } from "../core/random.js";
import { sha256Hex } from "../core/secrets.js";
import type { AuditInput, SessionRecord, Store } from "../store/store.js";

export const SESSION_COOKIE = "steward_session";

export interface ActiveSession {
  /** The cookie value: the session's secret. Never stored or logged; the database holds its SHA-256. */
  id: string;
  record: SessionRecord;
}

/** Browser sessions, kept in the database so any instance can serve any request. */
export class SessionManager {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly ttlMs: number,
  ) {}

  /** A new session; with `event` (a sign-in), the event is written in the same transaction. */
  async create(userId: string | null, event?: AuditInput): Promise<ActiveSession> {
    const id = this.random.bytes(32).toString("base64url");
    const now = this.clock.now();
    const record: SessionRecord = {
      idHash: sha256Hex(id),
      userId,
      createdAt: now,
      expiresAt: now + this.ttlMs,
    };
    await this.store.createSession(record, event);
    return { id, record };
  }

  async resolve(cookieValue: string | undefined): Promise<ActiveSession | null> {
    if (!cookieValue || cookieValue.length !== 43 || !/^[A-Za-z0-9_-]+$/.test(cookieValue)) return null;
    const record = await this.store.getSession(sha256Hex(cookieValue));
    if (!record || record.expiresAt <= this.clock.now()) return null;
    return { id: cookieValue, record };
  }

  /** Ends a session; with `event` (a sign-out), the event is written in the same transaction. */
  async destroy(session: ActiveSession, event?: AuditInput): Promise<void> {
    await this.store.deleteSession(session.record.idHash, event);
  }
}
