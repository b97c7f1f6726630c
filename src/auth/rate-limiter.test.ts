import { describe, expect, it } from "vitest";
import { ManualClock } from "../core/clock.js";
import { type FailureCounts, FailureLimiter } from "./rate-limiter.js";

const WINDOW_MS = 60_000;
/** A window boundary, so that times below read as "seconds into the window". */
const T0 = Date.UTC(2026, 0, 1);

/** The database's counts, as another instance sharing it would change them too; counts every call. */
class Counts implements FailureCounts {
  readonly rows = new Map<string, number>();
  reads = 0;
  writes = 0;
  windowEnds: number[] = [];

  async recordAuthFailure(key: string, windowStart: number, windowEnd: number): Promise<number> {
    this.writes++;
    this.windowEnds.push(windowEnd);
    const failures = (this.rows.get(`${key}@${windowStart}`) ?? 0) + 1;
    this.rows.set(`${key}@${windowStart}`, failures);
    return failures;
  }

  async countAuthFailures(key: string, windowStart: number): Promise<number> {
    this.reads++;
    return this.rows.get(`${key}@${windowStart}`) ?? 0;
  }
}

function setup(maxFailures = 3, maxKeys?: number) {
  const clock = new ManualClock(T0);
  const counts = new Counts();
  const limiter = new FailureLimiter({ maxFailures, windowMs: WINDOW_MS }, clock, counts, maxKeys);
  return { clock, counts, limiter };
}

describe("FailureLimiter", () => {
  it("allows maxFailures failures per fixed window, then answers the seconds left in it", async () => {
    const { clock, counts, limiter } = setup();
    clock.advance(15_500);
    expect(await limiter.recordFailure("ip:a")).toBe(0);
    expect(await limiter.recordFailure("ip:a")).toBe(0);
    expect(await limiter.retryAfterSeconds("ip:a")).toBe(0);
    expect(await limiter.recordFailure("ip:a")).toBe(0);
    expect(await limiter.retryAfterSeconds("ip:a")).toBe(45);
    expect(await limiter.retryAfterSeconds("ip:b")).toBe(0);
    // Windows are aligned to the epoch, so every instance computes the same ones.
    expect(counts.windowEnds).toEqual([T0 + WINDOW_MS, T0 + WINDOW_MS, T0 + WINDOW_MS]);
    clock.advance(44_499);
    expect(await limiter.retryAfterSeconds("ip:a")).toBe(1);
    clock.advance(1);
    expect(await limiter.retryAfterSeconds("ip:a")).toBe(0);
  });

  it("reads counts below the limit afresh: another instance may have added to them", async () => {
    const { counts, limiter } = setup();
    await limiter.recordFailure("ip:a");
    expect(await limiter.retryAfterSeconds("ip:a")).toBe(0);
    counts.rows.set(`ip:a@${T0}`, 3);
    expect(await limiter.retryAfterSeconds("ip:a")).toBe(60);
    expect(counts.reads).toBe(2);
  });

  it("answers a failure beyond the limit (the budget used up elsewhere) with the seconds to wait", async () => {
    const { counts, limiter } = setup();
    counts.rows.set(`ip:a@${T0}`, 2);
    expect(await limiter.recordFailure("ip:a")).toBe(0);
    counts.rows.delete(`ip:a@${T0}`);
    counts.rows.set(`ip:b@${T0}`, 3);
    expect(await limiter.recordFailure("ip:b")).toBe(60);
  });

  it("answers a blocked key from memory until its window ends: a flood costs no database work", async () => {
    const { clock, counts, limiter } = setup();
    for (let i = 0; i < 3; i++) await limiter.recordFailure("ip:a");
    const { reads, writes } = counts;
    for (let i = 0; i < 100; i++) {
      expect(await limiter.retryAfterSeconds("ip:a")).toBe(60);
      expect(await limiter.recordFailure("ip:a")).toBe(60);
    }
    expect([counts.reads, counts.writes]).toEqual([reads, writes]);
    // A fresh instance (or a restart) learns it from the database, once.
    const restarted = new FailureLimiter({ maxFailures: 3, windowMs: WINDOW_MS }, clock, counts);
    expect(await restarted.retryAfterSeconds("ip:a")).toBe(60);
    expect(await restarted.retryAfterSeconds("ip:a")).toBe(60);
    expect(counts.reads).toBe(reads + 1);
    clock.advance(WINDOW_MS);
    expect(await limiter.retryAfterSeconds("ip:a")).toBe(0);
    expect(await limiter.recordFailure("ip:a")).toBe(0);
  });

  it("keeps at most maxKeys blocked keys in memory, forgetting the oldest (the database still knows)", async () => {
    const { counts, limiter } = setup(1, 2);
    for (const key of ["ip:a", "ip:b", "ip:c"]) await limiter.recordFailure(key);
    const reads = counts.reads;
    expect(await limiter.retryAfterSeconds("ip:c")).toBe(60);
    expect(await limiter.retryAfterSeconds("ip:b")).toBe(60);
    expect(counts.reads).toBe(reads);
    expect(await limiter.retryAfterSeconds("ip:a")).toBe(60);
    expect(counts.reads).toBe(reads + 1);
  });

  it("lets database errors through (answered 503 like every request during an outage)", async () => {
    const clock = new ManualClock(T0);
    const down = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    const broken: FailureCounts = {
      recordAuthFailure: () => Promise.reject(down),
      countAuthFailures: () => Promise.reject(down),
    };
    const limiter = new FailureLimiter({ maxFailures: 3, windowMs: WINDOW_MS }, clock, broken);
    await expect(limiter.retryAfterSeconds("ip:a")).rejects.toBe(down);
    await expect(limiter.recordFailure("ip:a")).rejects.toBe(down);
  });
});
