import type { Random } from "../core/random.js";

/**
 * Request ids shaped like UUIDs: a random per-process prefix and a sequence number. Unique across
 * processes and restarts like random UUIDs, at the cost of a counter instead of random bytes per request.
 */
export function requestIdSource(random: Random): () => string {
  const hex = random.bytes(10).toString("hex");
  const prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-`;
  let sequence = 0;
  return () => {
    sequence = (sequence + 1) % 0x1000000000000;
    return prefix + sequence.toString(16).padStart(12, "0");
  };
}
