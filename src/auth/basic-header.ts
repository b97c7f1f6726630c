/** The result of reading an `Authorization` header. */
export type BasicCredentials =
  | { kind: "none" }
  | { kind: "malformed" }
  | { kind: "basic"; userId: string; secret: string };

const MAX_HEADER_LENGTH = 8192;

/**
 * Parses `Authorization: Basic base64(user:secret)` as Jenkins does: scheme case-insensitive,
 * UTF-8 credentials, split at the first colon. Any other scheme is ignored (anonymous).
 */
export function parseBasicHeader(header: string | undefined): BasicCredentials {
  if (header === undefined || header === "") return { kind: "none" };
  const space = header.indexOf(" ");
  const scheme = space === -1 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== "basic") return { kind: "none" };
  if (header.length > MAX_HEADER_LENGTH) return { kind: "malformed" };
  const encoded = space === -1 ? "" : header.slice(space + 1).trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return { kind: "malformed" };
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon === -1) return { kind: "malformed" };
  return { kind: "basic", userId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}
