import { ADDRESSES_PER_TOKEN, type UsageRecorder } from "../auth/usage-recorder.js";
import type { Store, TokenAddress } from "../store/store.js";

/**
 * Where a token was used from, most recent first: the stored addresses plus the uses this instance has
 * counted since its last flush (other instances' show after their next flush), bounded like the store.
 * For the API and the token page alike; check that the caller may see the token first.
 */
export async function tokenAddresses(
  store: Store,
  usage: UsageRecorder,
  tokenId: string,
): Promise<TokenAddress[]> {
  const merged = new Map((await store.listTokenAddresses(tokenId)).map((a) => [a.ip, { ...a }]));
  for (const use of usage.pendingAddressesFor(tokenId)) {
    const seen = merged.get(use.ip);
    if (seen) {
      seen.useCount += use.count;
      seen.firstSeenAt = Math.min(seen.firstSeenAt, use.firstSeenAt);
      seen.lastSeenAt = Math.max(seen.lastSeenAt, use.lastSeenAt);
    } else {
      merged.set(use.ip, {
        ip: use.ip,
        firstSeenAt: use.firstSeenAt,
        lastSeenAt: use.lastSeenAt,
        useCount: use.count,
      });
    }
  }
  return [...merged.values()]
    .sort((a, b) => b.lastSeenAt - a.lastSeenAt || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0))
    .slice(0, ADDRESSES_PER_TOKEN);
}
