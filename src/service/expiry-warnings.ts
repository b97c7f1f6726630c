import type { Clock } from "../core/clock.js";
import type { Settings } from "../core/settings.js";
import type { AuditInput, Store, TokenRecord, UserRecord } from "../store/store.js";

const DAY = 24 * 3600 * 1000;

/** `token.expired` is sent for tokens that expired at most this long ago (older ones are history). */
export const EXPIRED_LOOKBACK_MS = 7 * DAY;

/** Tokens handled per query; a pass repeats until a page comes back short. */
const PAGE = 200;
const MAX_PAGES_PER_PASS = 50;

/** The person to tell about a token: its owner, or for a service account the human who manages it. */
export interface HumanOwner {
  id: string;
  fullName: string;
  email: string | null;
}

/** A token close to its expiry, for the owner's token page (and the API). */
export interface ExpiryWarning {
  tokenId: string;
  tokenName: string;
  userId: string;
  expiresAt: string;
  /** Whole days left, rounded up (1 = expires within a day). */
  daysLeft: number;
  /** The smallest configured threshold it is within. */
  thresholdDays: number;
  /** For a service account's token: the human owner who should act. */
  humanOwnerId: string | null;
}

/**
 * Expiry notices: a periodic job sends `token.expiring` once per token and threshold (default 14, 7 and
 * 1 days before), and `token.expired` once when it has expired. Each notice is an audit event (and so a
 * webhook delivery to every webhook that asks for it) recorded with a row keyed by token and threshold,
 * in one transaction: once, across restarts and instances.
 *
 * A token whose first notice is due below several thresholds at once (created with 3 days left) gets one
 * notice, at the smallest of them, not one per threshold crossed.
 */
export class ExpiryWarner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly settings: () => Settings,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** One run of the job: sends every notice due now; resolves with how many were sent. */
  runOnce(): Promise<number> {
    this.running ??= this.sendDue().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async sendDue(): Promise<number> {
    const now = this.clock.now();
    // Smallest threshold first: a token due at 7 days is handled there and skipped at 14 (it has a notice ≤ 14).
    const thresholds = [0, ...[...this.settings().expiryWarningDays].sort((a, b) => a - b)];
    let sent = 0;
    for (const days of thresholds) {
      const from = days === 0 ? now - EXPIRED_LOOKBACK_MS : now;
      const to = days === 0 ? now : now + days * DAY;
      for (let page = 0; page < MAX_PAGES_PER_PASS; page++) {
        const due = await this.store.findExpiryNoticesDue({ thresholdDays: days, from, to, limit: PAGE });
        for (const { token, owner } of due) {
          const event = await this.noticeEvent(token, owner, days, now);
          if (await this.store.recordExpiryNotice(token.id, days, event)) sent++;
        }
        if (due.length < PAGE) break;
      }
    }
    return sent;
  }

  private async noticeEvent(
    token: TokenRecord,
    owner: UserRecord,
    days: number,
    now: number,
  ): Promise<AuditInput> {
    const expiresAt = token.expiresAt!;
    const human = await this.humanOwner(owner);
    return {
      at: now,
      action: days === 0 ? "token.expired" : "token.expiring",
      actorUserId: null,
      actorTokenId: null,
      targetUserId: owner.id,
      targetTokenId: token.id,
      ip: null,
      userAgent: null,
      outcome: "success",
      requestId: null,
      details: {
        tokenId: token.id,
        name: token.name,
        userId: owner.id,
        ownerKind: owner.kind,
        expiresAt: new Date(expiresAt).toISOString(),
        ...(days === 0 ? {} : { thresholdDays: days, daysLeft: Math.ceil((expiresAt - now) / DAY) }),
        humanOwner: human,
      },
    };
  }

  /** The owner itself, or for a service account its human owner (null when it has none). */
  private async humanOwner(owner: UserRecord): Promise<HumanOwner | null> {
    if (owner.kind !== "service") return { id: owner.id, fullName: owner.fullName, email: owner.email };
    if (!owner.ownerId) return null;
    const human = await this.store.getUser(owner.ownerId);
    return human ? { id: human.id, fullName: human.fullName, email: human.email } : null;
  }

  /**
   * The warnings to show for `owner`'s tokens now, soonest first: computed from the tokens and the
   * thresholds, so the page shows them even before the job has run.
   */
  warningsFor(owner: UserRecord, tokens: readonly TokenRecord[]): ExpiryWarning[] {
    const now = this.clock.now();
    const thresholds = [...this.settings().expiryWarningDays].sort((a, b) => a - b);
    const largest = thresholds.at(-1);
    if (largest === undefined) return [];
    const warnings: ExpiryWarning[] = [];
    for (const token of tokens) {
      const live = token.revokedAt === null || token.revokedAt > now;
      if (!live || token.replacedBy !== null || token.expiresAt === null || token.expiresAt <= now) continue;
      const left = token.expiresAt - now;
      if (left > largest * DAY) continue;
      warnings.push({
        tokenId: token.id,
        tokenName: token.name,
        userId: owner.id,
        expiresAt: new Date(token.expiresAt).toISOString(),
        daysLeft: Math.ceil(left / DAY),
        thresholdDays: thresholds.find((t) => left <= t * DAY)!,
        humanOwnerId: owner.kind === "service" ? owner.ownerId : null,
      });
    }
    return warnings.sort((a, b) => (a.expiresAt < b.expiresAt ? -1 : a.expiresAt > b.expiresAt ? 1 : 0));
  }

  /** Runs the job every `intervalMs` (default a minute). */
  start(intervalMs = 60_000): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.runOnce().catch((error: unknown) => this.onError(error));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }
}
