/** The result of reading an `Authorization` header. */
export type BasicCredentials =
  | { kind: "none" }
  | { kind: "malformed" }
  | { kind: "basic"; userId: string; secret: string };

const MAX_HEADER_LENGTH = 8192;
const NONE: BasicCredentials = Object.freeze({ kind: "none" });
const MALFORMED: BasicCredentials = Object.freeze({ kind: "malformed" });
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Base64 to UTF-8 text, as `Buffer.from(encoded, "base64").toString("utf8")` decodes it. Credentials are
 * nearly always ASCII, which `atob` decodes without a Buffer; anything else takes the Buffer path.
 */
function decodeBase64Utf8(encoded: string): string {
  let binary: string;
  try {
    binary = atob(encoded);
  } catch {
    return Buffer.from(encoded, "base64").toString("utf8");
  }
  return NON_ASCII.test(binary) ? Buffer.from(binary, "latin1").toString("utf8") : binary;
}

/**
 * Parses `Authorization: Basic base64(user:secret)` as Jenkins does: scheme case-insensitive,
 * UTF-8 credentials, split at the first colon. Any other scheme is ignored (anonymous).
 */
export function parseBasicHeader(header: string | undefined): BasicCredentials {
  if (header === undefined || header === "") return NONE;
  // As Jenkins: only "basic " (with its space) starts Basic credentials; "Basic" alone is anonymous.
  const space = header.indexOf(" ");
  if (space === -1) return NONE;
  const scheme = header.slice(0, space);
  if (scheme !== "Basic" && scheme.toLowerCase() !== "basic") return NONE;
  if (header.length > MAX_HEADER_LENGTH) return MALFORMED;
  const encoded = header.slice(space + 1).trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return MALFORMED;
  const decoded = decodeBase64Utf8(encoded);
  const colon = decoded.indexOf(":");
  if (colon === -1) return MALFORMED;
  return { kind: "basic", userId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}
