import { type Kysely, sql } from "kysely";
import type { ChangeWork, Trx } from "../kysely-store.js";
import type { Database } from "../schema.js";
import type { Invalidation } from "../store.js";

/** Most changes committed by one transaction (one fsync). */
const MAX_BATCH = 64;

interface Pending {
  work: ChangeWork<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown; changes: Invalidation[] } | { ok: false; error: unknown };

/**
 * A failure of the database itself (busy, I/O, full disk), as opposed to one change's own failure (a
 * constraint, or a refusal thrown by its logic): it fails every change of the batch.
 */
function isDatabaseFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") && !code.startsWith("SQLITE_CONSTRAINT");
}

/**
 * Group commit for SQLite's one connection: changes submitted while the connection is busy (or in the same
 * turn of the event loop) run one after the other in one transaction, each in its own savepoint, and are
 * committed — and fsynced — once. Each change sees the ones before it, exactly as if they had run one by
 * one; one that fails is rolled back to its savepoint alone. None is acknowledged before the commit that
 * makes it durable has returned.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private draining = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly emit: (change: Invalidation) => void,
  ) {}

  submit<T>(work: ChangeWork<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        // After the current I/O phase: every request read in it joins the same batch.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.commit(this.queue.splice(0, MAX_BATCH));
    this.draining = false;
  }

  private async commit(batch: Pending[]): Promise<void> {
    const outcomes: Outcome[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const pending of batch) outcomes.push(await this.run(trx, pending, batch.length > 1));
      });
    } catch (error) {
      // Nothing of the batch was committed.
      for (const pending of batch) pending.reject(error);
      return;
    }
    for (const [index, pending] of batch.entries()) {
      const outcome = outcomes[index]!;
      if (!outcome.ok) {
        pending.reject(outcome.error);
        continue;
      }
      for (const change of outcome.changes) this.emit(change);
      pending.resolve(outcome.value);
    }
  }

  /** One change; alone in its batch it needs no savepoint (its failure rolls the transaction back). */
  private async run(trx: Trx, pending: Pending, isolate: boolean): Promise<Outcome> {
    const changes: Invalidation[] = [];
    if (!isolate) return { ok: true, value: await pending.work(trx, changes), changes };
    await sql`SAVEPOINT change`.execute(trx);
    try {
      const value = await pending.work(trx, changes);
      await sql`RELEASE change`.execute(trx);
      return { ok: true, value, changes };
    } catch (error) {
      if (isDatabaseFailure(error)) throw error;
      await sql`ROLLBACK TO change`.execute(trx);
      await sql`RELEASE change`.execute(trx);
      return { ok: false, error };
    }
  }
}
