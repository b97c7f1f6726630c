import type { Clock } from "../core/clock.js";

export interface RateLimitPolicy {
  /** Failures allowed within the window before further attempts are refused. */
  maxFailures: number;
  windowMs: number;
}

/**
 * Counts failures per key in fixed windows and answers whether a key is blocked, and for how long.
 * Memory is bounded: at most `maxKeys` keys are tracked; the oldest are dropped first.
 */
export class FailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly policy: RateLimitPolicy,
    private readonly clock: Clock,
    private readonly maxKeys = 100_000,
  ) {}

  /** Seconds until the key may try again, or 0 when it is not blocked. */
  retryAfterSeconds(key: string): number {
    const window = this.windows.get(key);
    if (!window) return 0;
    const elapsed = this.clock.now() - window.start;
    if (elapsed >= this.policy.windowMs) {
      this.windows.delete(key);
      return 0;
    }
    return window.failures >= this.policy.maxFailures
      ? Math.ceil((this.policy.windowMs - elapsed) / 1000)
      : 0;
  }

  recordFailure(key: string): void {
    const now = this.clock.now();
    const window = this.windows.get(key);
    if (!window || now - window.start >= this.policy.windowMs) {
      this.windows.delete(key);
      this.windows.set(key, { start: now, failures: 1 });
      if (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    } else {
      window.failures++;
    }
  }

  reset(key: string): void {
    this.windows.delete(key);
  }
}
