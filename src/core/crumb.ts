import { constantTimeEqual, hmacSha256Hex } from "./secrets.js";

export const CRUMB_FIELD = "Jenkins-Crumb";

/**
 * A CSRF crumb: HMAC-SHA256(server secret, user + ";" + session id) as 64 hex, the shape of Jenkins'
 * crumb. Bound to both the session and the user, so a crumb never works for another session
 * (SECURITY-626) or for another user in the same session.
 */
export function computeCrumb(secret: string, userId: string, sessionId: string): string {
  return hmacSha256Hex(secret, `${userId.toLowerCase()};${sessionId}`);
}

export function verifyCrumb(secret: string, userId: string, sessionId: string, crumb: string): boolean {
  return constantTimeEqual(computeCrumb(secret, userId, sessionId), crumb);
}
