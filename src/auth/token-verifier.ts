import { LRUCache } from "lru-cache";
import { compileAllowList } from "../core/cidr.js";
import type { Clock } from "../core/clock.js";
import type { Principal } from "../core/permissions.js";
import { isWellFormedToken, type TokenFormat, tokenCandidate } from "../core/token-format.js";
import type { Invalidation, Store, TokenWithOwner } from "../store/store.js";
import type { UsageRecorder } from "./usage-recorder.js";

/** A verified token, compact: what a request needs to act, nothing more. Never the value. */
interface CachedToken {
  tokenId: string;
  ownerKey: string;
  /** When it was read from the store: an entry older than the cache's TTL is read again. */
  loadedAt: number;
  /** Checked on every use: a bare 32-hex value (legacy) hashes like the secret of an `11` token. */
  format: TokenFormat;
  /** The token stops working at this time (expiry, or end of a rotation grace); Infinity when never. */
  validUntil: number;
  expiresAt: number | null;
  /**
   * From this time on the token is revoked for good (its revocation, the end of a rotation grace, or
   * -Infinity for a disabled owner); null when not revoked. Such an entry stays cached: a revoked value
   * presented again is refused without a database read, and is not counted as a guess.
   */
  revokedFrom: number | null;
  allowsIp: ((ip: string) => boolean) | null;
  principal: Principal;
  /** The answer to a successful check, made once (the hot path allocates nothing for it). */
  accepted: TokenCheck;
}

export type TokenCheck =
  | { ok: true; principal: Principal; tokenId: string }
  | { ok: false; reason: "unknown" | "revoked" | "expired" | "ip_not_allowed"; tokenId?: string };

const REFUSED: TokenCheck = Object.freeze({ ok: false, reason: "unknown" });

/** Whether a verified token may act for this request: its owner, still valid, from an allowed address. */
function verdictOf(
  entry: CachedToken,
  ownerKey: string | null,
  ip: string,
  now: number,
): "ok" | "not_owner" | "ended" | "ip_not_allowed" {
  if (ownerKey !== null && entry.ownerKey !== ownerKey) return "not_owner";
  if (now >= entry.validUntil) return "ended";
  if (entry.allowsIp && !entry.allowsIp(ip)) return "ip_not_allowed";
  return "ok";
}

export interface TokenCacheOptions {
  maxEntries: number;
  ttlMs: number;
}

/**
 * Verifies `user:token` pairs: parse and checksum (no database for forged values) → SHA-256 → a bounded
 * LRU of hot tokens → one indexed lookup on a miss. Cached entries are dropped on every invalidation
 * from the store (this process or another), and the cache is bypassed while invalidations may be missed.
 */
export class TokenVerifier {
  private readonly cache: LRUCache<string, CachedToken>;
  /** Bumped on every invalidation: a lookup that raced with one is not cached. */
  private epoch = 0;
  hits = 0;
  misses = 0;
  private readonly ttlMs: number;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly usage: UsageRecorder,
    private readonly recordUsage: () => boolean,
    options: TokenCacheOptions = { maxEntries: 10_000, ttlMs: 60_000 },
  ) {
    // Entries age by the injected clock (`loadedAt`), checked with the time each verification reads anyway.
    this.cache = new LRUCache({ max: options.maxEntries });
    this.ttlMs = options.ttlMs;
    store.onInvalidate((change) => this.invalidate(change));
  }

  invalidate(change: Invalidation): void {
    this.epoch++;
    if (change.type === "token") {
      this.cache.delete(change.hash);
    } else if (change.type === "all") {
      this.cache.clear();
    } else {
      const key = change.userId.toLowerCase();
      for (const [hash, entry] of this.cache.entries()) {
        if (entry.ownerKey === key) this.cache.delete(hash);
      }
    }
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /**
   * `user:token` (Basic): the token must belong to `userId`, as in Jenkins. A cached token is answered
   * at once (the hot path: no promise, no database); only a miss returns a promise of the lookup.
   */
  verify(userId: string, value: string, ip: string): TokenCheck | Promise<TokenCheck> {
    return this.check(value, userId.toLowerCase(), ip);
  }

  /**
   * A token presented alone (`Authorization: Bearer`, forward auth, the library): its hash is unique,
   * so the value identifies its owner by itself. Same cache, expiry, allow-list and usage counting.
   */
  verifyBearer(value: string, ip: string): TokenCheck | Promise<TokenCheck> {
    return this.check(value, null, ip);
  }

  /**
   * The hot lane's check (answers served before routing): a token that is cached and valid right now,
   * or undefined for anything else — a miss, a refusal, an untrusted cache. Nothing else happens on
   * undefined (no lookup, no count, no cache change), so the full pipeline can then check the request
   * as if this never ran. A success counts as a hit and a use, like `verify`.
   */
  verifyCached(userId: string | null, value: string, ip: string): TokenCheck | undefined {
    const candidate = tokenCandidate(value);
    if (!candidate) return undefined;
    const now = this.clock.now();
    const entry = this.cached(candidate.hash, candidate.format, now);
    if (!entry) return undefined;
    // Most clients send the id as stored; only another case needs lowering.
    const ownerKey = userId === null || userId === entry.ownerKey ? userId : userId.toLowerCase();
    if (verdictOf(entry, ownerKey, ip, now) !== "ok") return undefined;
    this.hits++;
    if (this.recordUsage()) this.usage.record(entry.tokenId, ip, now);
    return entry.accepted;
  }

  /**
   * Hashes once. A cached hash is a stored token, so only a miss checks the value's alphabet and checksum
   * — before the lookup, so forged or mistyped values never reach the database. `ownerKey` null: any owner.
   */
  private check(value: string, ownerKey: string | null, ip: string): TokenCheck | Promise<TokenCheck> {
    const candidate = tokenCandidate(value);
    if (!candidate) return REFUSED;
    const cached = this.cached(candidate.hash, candidate.format, this.clock.now());
    if (cached !== undefined) {
      this.hits++;
      return this.decide(cached, candidate.hash, ownerKey, ip);
    }
    if (!isWellFormedToken(value, candidate.format)) return REFUSED;
    return this.load(candidate.hash, candidate.format).then((entry) =>
      this.decide(entry, candidate.hash, ownerKey, ip),
    );
  }

  private decide(entry: CachedToken | null, hash: string, ownerKey: string | null, ip: string): TokenCheck {
    if (!entry) return REFUSED;
    const now = this.clock.now();
    switch (verdictOf(entry, ownerKey, ip, now)) {
      case "ok":
        if (this.recordUsage()) this.usage.record(entry.tokenId, ip, now);
        return entry.accepted;
      case "not_owner":
        return REFUSED;
      case "ended":
        if (entry.revokedFrom !== null && now >= entry.revokedFrom) {
          return { ok: false, reason: "revoked", tokenId: entry.tokenId };
        }
        this.cache.delete(hash);
        return entry.expiresAt !== null && now >= entry.expiresAt
          ? { ok: false, reason: "expired", tokenId: entry.tokenId }
          : REFUSED;
      case "ip_not_allowed":
        return { ok: false, reason: "ip_not_allowed", tokenId: entry.tokenId };
    }
  }

  /**
   * The cached verification of `hash` (null: cached, but not valid in this format); undefined when
   * it is not cached, older than the TTL (the next lookup replaces it), or the cache may not be trusted
   * right now.
   */
  private cached(hash: string, format: TokenFormat, now: number): CachedToken | null | undefined {
    if (!this.store.invalidationsReliable()) return undefined;
    const entry = this.cache.get(hash);
    if (entry === undefined || now - entry.loadedAt >= this.ttlMs) return undefined;
    return entry.format === format ? entry : null;
  }

  /** One indexed lookup; the result is cached unless an invalidation raced with it. */
  private async load(hash: string, format: TokenFormat): Promise<CachedToken | null> {
    this.misses++;
    const trusted = this.store.invalidationsReliable();
    const epoch = this.epoch;
    const found = await this.store.findTokenByHash(hash);
    const entry = found ? this.toEntry(found) : null;
    if (!entry) return null;
    if (trusted && epoch === this.epoch && this.store.invalidationsReliable()) this.cache.set(hash, entry);
    // The format must match too: a bare 32-hex value is a legacy token, never the secret of an `11` token.
    return entry.format === format ? entry : null;
  }

  /** A token that can never work again (revoked, owner disabled) is an entry that is refused at once. */
  private toEntry({ token, owner }: TokenWithOwner): CachedToken {
    const now = this.clock.now();
    const revokedFrom = owner.disabled ? Number.NEGATIVE_INFINITY : token.revokedAt;
    const validUntil = Math.min(
      token.expiresAt ?? Number.POSITIVE_INFINITY,
      revokedFrom ?? Number.POSITIVE_INFINITY,
    );
    const principal: Principal = Object.freeze({
      userId: owner.id,
      fullName: owner.fullName,
      email: owner.email,
      roles: owner.roles,
      kind: owner.kind,
      authenticatedBy: "token",
      tokenId: token.id,
      scopes: token.scopes,
      tokenExpiresAt: token.expiresAt,
    });
    return {
      tokenId: token.id,
      ownerKey: owner.id.toLowerCase(),
      loadedAt: now,
      format: token.format,
      validUntil,
      expiresAt: token.expiresAt,
      revokedFrom,
      allowsIp:
        token.allowedCidrs && token.allowedCidrs.length > 0 ? compileAllowList(token.allowedCidrs) : null,
      principal,
      accepted: Object.freeze<TokenCheck>({ ok: true, principal, tokenId: token.id }),
    };
  }
}
