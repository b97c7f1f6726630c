import type { Clock } from "../core/clock.js";
import type { Store, UsageDelta } from "../store/store.js";

/**
 * Token use counts and last-use times, counted in memory and written in one batched transaction every
 * `intervalMs` and on shutdown — never a database write per request. On a crash at most one interval of
 * counts is lost; a failed flush keeps its counts for the next one.
 */
export class UsageRecorder {
  private pending = new Map<string, { count: number; lastUsedAt: number }>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  /** When the last flush finished (ms), for /metrics. */
  lastFlushAt = 0;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
  ) {}

  record(tokenId: string): void {
    const now = this.clock.now();
    const entry = this.pending.get(tokenId);
    if (entry) {
      entry.count++;
      entry.lastUsedAt = now;
    } else {
      this.pending.set(tokenId, { count: 1, lastUsedAt: now });
    }
  }

  /** Counts not yet written for a token, so reads can show exact figures between flushes. */
  pendingFor(tokenId: string): { count: number; lastUsedAt: number } | undefined {
    return this.pending.get(tokenId);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    if (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const deltas: UsageDelta[] = [...batch].map(([tokenId, d]) => ({ tokenId, ...d }));
    this.flushing = this.store
      .addUsage(deltas)
      .then(() => {
        this.lastFlushAt = this.clock.now();
      })
      .catch((error: unknown) => {
        for (const delta of deltas) this.mergeBack(delta);
        this.onError(error);
      })
      .finally(() => {
        this.flushing = null;
      });
    await this.flushing;
  }

  private mergeBack(delta: UsageDelta): void {
    const entry = this.pending.get(delta.tokenId);
    if (entry) {
      entry.count += delta.count;
      entry.lastUsedAt = Math.max(entry.lastUsedAt, delta.lastUsedAt);
    } else {
      this.pending.set(delta.tokenId, { count: delta.count, lastUsedAt: delta.lastUsedAt });
    }
  }

  /** Stops the timer and writes what is left (graceful shutdown: exact counts). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
