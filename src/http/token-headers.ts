import type { Principal } from "../core/permissions.js";

const NONE: Readonly<Record<string, string>> = Object.freeze({});

/** `Steward-Token-Expires` on every answer to a request made with an expiring token, so clients see it coming. */
export function tokenExpiryHeaders(principal: Principal): Readonly<Record<string, string>> {
  if (!principal.tokenExpiresAt) return NONE;
  return { "steward-token-expires": new Date(principal.tokenExpiresAt).toISOString() };
}
