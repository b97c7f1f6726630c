export const BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * `length` base62 characters from random bytes, by rejection sampling (bytes ≥ 248 are skipped)
 * so every character is uniformly distributed: 30 characters carry 30·log2(62) ≈ 178.6 bits.
 */
export function randomBase62(length: number, bytes: (n: number) => Buffer): string {
  let out = "";
  while (out.length < length) {
    const chunk = bytes(length * 2);
    for (let i = 0; i < chunk.length && out.length < length; i++) {
      const b = chunk[i]!;
      if (b < 248) out += BASE62_ALPHABET[b % 62];
    }
  }
  return out;
}

/** Fixed-width base62 of an unsigned 32-bit integer (6 chars hold 62^6 ≈ 5.7e10 > 2^32). */
export function uint32ToBase62(value: number, width = 6): string {
  let n = value >>> 0;
  let out = "";
  for (let i = 0; i < width; i++) {
    out = BASE62_ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function isBase62(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const digit = c >= 48 && c <= 57;
    const upper = c >= 65 && c <= 90;
    const lower = c >= 97 && c <= 122;
    if (!digit && !upper && !lower) return false;
  }
  return true;
}
