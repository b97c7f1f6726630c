import type { Clock } from "../core/clock.js";
import type { Store } from "../store/store.js";

export interface RateLimitPolicy {
  /** Failures allowed within the window before further attempts are refused. */
  maxFailures: number;
  windowMs: number;
}

/** Where the counts live: the database, shared by every instance (SPEC §7). */
export type FailureCounts = Pick<Store, "recordAuthFailure" | "countAuthFailures">;

/**
 * Counts failures per key in fixed windows shared by every instance on the database, and answers
 * whether a key is blocked, and for how long. Keys name a client address or a user, never a secret.
 *
 * Windows are aligned to multiples of `windowMs` since the epoch, so every instance agrees on them
 * without talking to the others. As with any fixed window, a client can spend one budget at the end of a
 * window and the next at the start of the following one.
 *
 * The database is only consulted on paths that already cost something (a failed token check, a
 * password about to be hashed); a valid token never reaches a limiter. Memory holds only the keys known
 * to be blocked in the current window: counts only grow within a window, so a blocked key stays blocked
 * until it ends, and a flood from it costs no database work. Counts below the limit are always read
 * fresh, because another instance may have added to them a moment ago.
 *
 * Database errors propagate: the request is answered 503 like any other request during an outage.
 *
 * @example
 * const limiter = new FailureLimiter({ maxFailures: 30, windowMs: 300_000 }, clock, store);
 * if ((await limiter.retryAfterSeconds("ip:203.0.113.9")) > 0) refuse429();
 * const retryAfter = await limiter.recordFailure("ip:203.0.113.9"); // > 0: this one was over the limit
 */
export class FailureLimiter {
  /** Key → start of the window in which it is known to be blocked. Oldest first, bounded by `maxKeys`. */
  private readonly blocked = new Map<string, number>();

  constructor(
    private readonly policy: RateLimitPolicy,
    private readonly clock: Clock,
    private readonly counts: FailureCounts,
    private readonly maxKeys = 100_000,
  ) {}

  /** Seconds until the key may try again, or 0 when it is not blocked. Reads the shared count unless known blocked. */
  async retryAfterSeconds(key: string): Promise<number> {
    const now = this.clock.now();
    const start = this.windowStart(now);
    const known = this.blocked.get(key);
    if (known === start) return this.secondsLeft(start, now);
    if (known !== undefined) this.blocked.delete(key);
    const failures = await this.counts.countAuthFailures(key, start);
    if (failures < this.policy.maxFailures) return 0;
    this.remember(key, start);
    return this.secondsLeft(start, now);
  }

  /**
   * Counts one failure for the key. The write completes before the caller answers, so a burst spread
   * over several instances is counted in full. Returns the seconds to wait when this failure was beyond
   * the limit (another instance may have used up the budget since the check, or there was no check):
   * answer it 429 rather than 401. Otherwise 0.
   */
  async recordFailure(key: string): Promise<number> {
    const now = this.clock.now();
    const start = this.windowStart(now);
    // Already refused in this window: counting further changes nothing, so a flood costs no writes.
    if (this.blocked.get(key) === start) return this.secondsLeft(start, now);
    const failures = await this.counts.recordAuthFailure(key, start, start + this.policy.windowMs);
    if (failures >= this.policy.maxFailures) this.remember(key, start);
    return failures > this.policy.maxFailures ? this.secondsLeft(start, now) : 0;
  }

  private windowStart(now: number): number {
    return now - (now % this.policy.windowMs);
  }

  private secondsLeft(start: number, now: number): number {
    return Math.max(1, Math.ceil((start + this.policy.windowMs - now) / 1000));
  }

  private remember(key: string, start: number): void {
    this.blocked.delete(key);
    this.blocked.set(key, start);
    if (this.blocked.size > this.maxKeys) this.blocked.delete(this.blocked.keys().next().value!);
  }
}
