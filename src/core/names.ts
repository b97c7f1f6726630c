import { invalid } from "./errors.js";

const USER_ID = /^[A-Za-z0-9._@-]{1,64}$/;
export const MAX_TOKEN_NAME_LENGTH = 100;

export function isValidUserId(id: string): boolean {
  return USER_ID.test(id);
}

/** User ids are case-insensitive: this is the key they are unique under. */
export function userKey(id: string): string {
  return id.toLowerCase();
}

export function assertUserId(id: string): string {
  if (!isValidUserId(id)) {
    throw invalid("A user id is 1 to 64 characters of letters, digits, '.', '_', '@' or '-'.", {
      field: "id",
    });
  }
  return id;
}

/** Jenkins' default name for a token generated with a blank name. */
export function defaultTokenName(now: number): string {
  return `Token created on ${new Date(now).toISOString().replace("Z", "+00:00")}`;
}

export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * A token name as stored: trimmed, 1–100 characters (code points) of any printable Unicode. A blank
 * name gets Jenkins' default. Control characters are refused rather than silently altered.
 */
export function normalizeTokenName(raw: string | undefined | null, now: number): string {
  const name = (raw ?? "").trim();
  if (name === "") return defaultTokenName(now);
  if ([...name].length > MAX_TOKEN_NAME_LENGTH) {
    throw invalid(`A token name is at most ${MAX_TOKEN_NAME_LENGTH} characters.`, { field: "name" });
  }
  if (hasControlCharacters(name))
    throw invalid("A token name cannot contain control characters.", { field: "name" });
  if (!name.isWellFormed()) throw invalid("A token name must be valid Unicode.", { field: "name" });
  return name;
}
