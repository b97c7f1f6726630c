import { createHmac, hash, timingSafeEqual } from "node:crypto";

/** Lowercase hex SHA-256 of a UTF-8 string: how token values are stored. */
export function sha256Hex(value: string): string {
  return hash("sha256", value, "hex");
}

/** HMAC-SHA256 as lowercase hex. */
export function hmacSha256Hex(key: string | Buffer, message: string): string {
  return createHmac("sha256", key).update(message).digest("hex");
}

/**
 * Compares two secrets in time independent of where they differ.
 * Both sides are hashed first so that neither their contents nor a length mismatch shows in the timing.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = hash("sha256", a, "buffer");
  const right = hash("sha256", b, "buffer");
  return timingSafeEqual(left, right);
}
