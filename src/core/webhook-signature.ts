import { constantTimeEqual, hmacSha256Hex } from "./secrets.js";

/** The header that carries a webhook delivery's signature (SPEC §4.2). */
export const SIGNATURE_HEADER = "Steward-Signature";

/** How far a signature's time may be from the receiver's clock before the receiver should refuse it. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * The `Steward-Signature` value of a webhook body: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`.
 * The time is signed with the body so that a captured delivery cannot be replayed later.
 *
 * @example
 * signWebhook("whsec_…", '{"event":"token.revoked"}', 1767225600)
 * // "t=1767225600,v1=5f0c…"
 */
export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const t = Math.floor(unixSeconds);
  return `t=${t},v1=${hmacSha256Hex(secret, `${t}.${body}`)}`;
}

/**
 * Checks a `Steward-Signature` header as a receiver should: a `v1` HMAC of this body with this secret,
 * compared in constant time, at a time within `toleranceSeconds` of `nowSeconds`. Never throws.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): boolean {
  if (typeof header !== "string" || header.length > 1000) return false;
  let t: number | null = null;
  const signatures: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t" && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === "v1") signatures.push(value);
  }
  if (t === null || signatures.length === 0 || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = hmacSha256Hex(secret, `${t}.${body}`);
  // Every candidate is compared (no early exit), so timing does not tell which one matched.
  let ok = false;
  for (const signature of signatures) ok = constantTimeEqual(signature, expected) || ok;
  return ok;
}
