import { type AddressGranularity, canonicalAddress } from "../core/address-key.js";
import type { Clock } from "../core/clock.js";
import type { AddressDelta, Store, UsageDelta } from "../store/store.js";

/** Client addresses stored per token: the most recently seen. */
export const ADDRESSES_PER_TOKEN = 20;

/**
 * Distinct addresses counted per token between two flushes. Beyond it, uses still count but further new
 * addresses wait for the next interval: memory stays bounded whatever a client sends.
 */
export const MAX_PENDING_ADDRESSES = 64;

interface AddressUse {
  count: number;
  firstSeenAt: number;
  lastSeenAt: number;
}

interface PendingUse {
  count: number;
  lastUsedAt: number;
  /** Created on the first use with an address; keyed by the address as the request reported it. */
  addresses: Map<string, AddressUse> | null;
}

export interface UsageRecorderOptions {
  /** What counts as a new address for `token.used.new-ip` (read at each flush). Default: the address. */
  granularity?: () => AddressGranularity;
}

/**
 * Token use counts, last-use times and client addresses, counted in memory and written in one batched
 * transaction every `intervalMs` and on shutdown — never a database write per request. New addresses are
 * detected at that flush, against the addresses stored, so a `token.used.new-ip` event (and its webhook
 * deliveries) follows the first use by at most one interval. On a crash at most one interval of counts
 * is lost; a failed flush keeps its counts for the next one.
 */
export class UsageRecorder {
  private pending = new Map<string, PendingUse>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  /** When the last flush finished (ms), for /metrics. */
  lastFlushAt = 0;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void,
    private readonly options: UsageRecorderOptions = {},
  ) {}

  /** One authenticated use. Allocation-free for a token and address already counted in this interval. */
  record(tokenId: string, ip?: string, now = this.clock.now()): void {
    let entry = this.pending.get(tokenId);
    if (entry) {
      entry.count++;
      entry.lastUsedAt = now;
    } else {
      entry = { count: 1, lastUsedAt: now, addresses: null };
      this.pending.set(tokenId, entry);
    }
    if (ip === undefined) return;
    if (entry.addresses === null) entry.addresses = new Map();
    const seen = entry.addresses.get(ip);
    if (seen) {
      seen.count++;
      seen.lastSeenAt = now;
    } else if (entry.addresses.size < MAX_PENDING_ADDRESSES) {
      entry.addresses.set(ip, { count: 1, firstSeenAt: now, lastSeenAt: now });
    }
  }

  /** Counts not yet written for a token, so reads can show exact figures between flushes. */
  pendingFor(tokenId: string): { count: number; lastUsedAt: number } | undefined {
    return this.pending.get(tokenId);
  }

  /** Addresses of a token not yet written (canonical form), to merge into what the store holds. */
  pendingAddressesFor(tokenId: string): AddressDelta[] {
    const entry = this.pending.get(tokenId);
    return entry ? addressDeltas(tokenId, entry) : [];
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
    const deltas: UsageDelta[] = [];
    const addresses: AddressDelta[] = [];
    for (const [tokenId, entry] of batch) {
      deltas.push({ tokenId, count: entry.count, lastUsedAt: entry.lastUsedAt });
      if (entry.addresses) addresses.push(...addressDeltas(tokenId, entry));
    }
    const granularity = this.options.granularity?.() ?? "address";
    this.flushing = this.store
      .addUsage(deltas, { deltas: addresses, granularity, keepPerToken: ADDRESSES_PER_TOKEN })
      .then(() => {
        this.lastFlushAt = this.clock.now();
      })
      .catch((error: unknown) => {
        for (const [tokenId, entry] of batch) this.mergeBack(tokenId, entry);
        this.onError(error);
      })
      .finally(() => {
        this.flushing = null;
      });
    await this.flushing;
  }

  private mergeBack(tokenId: string, old: PendingUse): void {
    const entry = this.pending.get(tokenId);
    if (!entry) {
      this.pending.set(tokenId, old);
      return;
    }
    entry.count += old.count;
    entry.lastUsedAt = Math.max(entry.lastUsedAt, old.lastUsedAt);
    if (!old.addresses) return;
    if (entry.addresses === null) entry.addresses = new Map();
    for (const [ip, use] of old.addresses) {
      const seen = entry.addresses.get(ip);
      if (seen) {
        seen.count += use.count;
        seen.firstSeenAt = Math.min(seen.firstSeenAt, use.firstSeenAt);
        seen.lastSeenAt = Math.max(seen.lastSeenAt, use.lastSeenAt);
      } else if (entry.addresses.size < MAX_PENDING_ADDRESSES) {
        entry.addresses.set(ip, { ...use });
      }
    }
  }

  /** Stops the timer and writes what is left (graceful shutdown: exact counts). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}

/**
 * A token's pending addresses in canonical form (done here, off the request path), merging spellings of
 * one address (`::ffff:192.0.2.1` and `192.0.2.1`).
 */
function addressDeltas(tokenId: string, entry: PendingUse): AddressDelta[] {
  if (!entry.addresses) return [];
  const merged = new Map<string, AddressDelta>();
  for (const [raw, use] of entry.addresses) {
    const ip = canonicalAddress(raw);
    const seen = merged.get(ip);
    if (seen) {
      seen.count += use.count;
      seen.firstSeenAt = Math.min(seen.firstSeenAt, use.firstSeenAt);
      seen.lastSeenAt = Math.max(seen.lastSeenAt, use.lastSeenAt);
    } else {
      merged.set(ip, {
        tokenId,
        ip,
        count: use.count,
        firstSeenAt: use.firstSeenAt,
        lastSeenAt: use.lastSeenAt,
      });
    }
  }
  return [...merged.values()];
}
