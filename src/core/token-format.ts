import { isBase62, randomBase62, uint32ToBase62 } from "./base62.js";
import { crc32 } from "./crc32.js";
import type { Random } from "./random.js";
import { sha256Hex } from "./secrets.js";

/**
 * Token formats, told apart by their prefix (the "version" of the value):
 * - `steward`: `stw_` + 30 base62 random + 6 base62 CRC-32 of everything before it. Stored as SHA-256 of the whole value.
 * - `jenkins`: `11` + 32 lowercase hex (Jenkins' ApiTokenStore version 11). Stored as SHA-256 of the 32 hex
 *   without the prefix, exactly as Jenkins stores it, so imported tokens keep working.
 * - `legacy`: Jenkins' old per-user token, 32 lowercase hex. Stored as SHA-256 of the whole value.
 */
export type TokenFormat = "steward" | "jenkins" | "legacy";

export const STEWARD_PREFIX = "stw_";
const STEWARD_RANDOM_LENGTH = 30;
const STEWARD_CHECKSUM_LENGTH = 6;
export const STEWARD_TOKEN_LENGTH = STEWARD_PREFIX.length + STEWARD_RANDOM_LENGTH + STEWARD_CHECKSUM_LENGTH;
const JENKINS_PREFIX = "11";
const JENKINS_TOKEN_LENGTH = 34;
const LEGACY_TOKEN_LENGTH = 32;

/** A syntactically valid token: its format and the hash under which it is stored. */
export interface ParsedToken {
  format: TokenFormat;
  hash: string;
}

function checksumOf(body: string): string {
  return uint32ToBase62(crc32(body), STEWARD_CHECKSUM_LENGTH);
}

export function generateStewardToken(random: Random): string {
  const body = STEWARD_PREFIX + randomBase62(STEWARD_RANDOM_LENGTH, (n) => random.bytes(n));
  return body + checksumOf(body);
}

export function generateJenkinsToken(random: Random): string {
  return JENKINS_PREFIX + random.bytes(16).toString("hex");
}

export function generateToken(format: "steward" | "jenkins", random: Random): string {
  return format === "jenkins" ? generateJenkinsToken(random) : generateStewardToken(random);
}

function isLowerHex(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** True when a `stw_` value has the right length, alphabet and checksum (no database needed). */
export function hasValidStewardChecksum(value: string): boolean {
  if (value.length !== STEWARD_TOKEN_LENGTH || !value.startsWith(STEWARD_PREFIX)) return false;
  const rest = value.slice(STEWARD_PREFIX.length);
  if (!isBase62(rest)) return false;
  const body = value.slice(0, STEWARD_PREFIX.length + STEWARD_RANDOM_LENGTH);
  return checksumOf(body) === value.slice(-STEWARD_CHECKSUM_LENGTH);
}

/** The format a value would have, from its length and prefix alone (no hashing, no alphabet check). */
function formatOf(value: string): TokenFormat | null {
  if (value.length === STEWARD_TOKEN_LENGTH && value.startsWith(STEWARD_PREFIX)) return "steward";
  if (value.length === JENKINS_TOKEN_LENGTH && value.startsWith(JENKINS_PREFIX)) return "jenkins";
  if (value.length === LEGACY_TOKEN_LENGTH) return "legacy";
  return null;
}

/** The hash a value of `format` is stored under (an `11` token: its 32 hex, as Jenkins stores it). */
function storedHashOf(value: string, format: TokenFormat): string {
  return sha256Hex(format === "jenkins" ? value.slice(JENKINS_PREFIX.length) : value);
}

/**
 * The format a value would have and the hash it would be stored under, from its length and prefix alone.
 * A hash found among stored tokens proves the value well-formed (stored values always are); before any
 * lookup, `isWellFormedToken` must check the rest.
 */
export function tokenCandidate(value: string): ParsedToken | null {
  const format = formatOf(value);
  return format ? { format, hash: storedHashOf(value, format) } : null;
}

/** The alphabet (and for `stw_` values the checksum) of a value of `format`: forged or mistyped values fail. */
export function isWellFormedToken(value: string, format: TokenFormat): boolean {
  if (format === "steward") return hasValidStewardChecksum(value);
  return isLowerHex(format === "jenkins" ? value.slice(JENKINS_PREFIX.length) : value);
}

/**
 * Parses a candidate token. Returns null for anything that is not exactly one of the formats, so
 * mistyped or forged values are rejected before any lookup. Unlike Jenkins, the `11` prefix is checked
 * and a bare 32-hex value is only ever a legacy token.
 */
export function parseToken(value: string): ParsedToken | null {
  const format = formatOf(value);
  if (!format || !isWellFormedToken(value, format)) return null;
  return { format, hash: storedHashOf(value, format) };
}

/** Parses a caller-supplied fixed Jenkins token (`addFixedToken`): `11` + 32 hex, nothing else. */
export function parseJenkinsToken(value: string): ParsedToken | null {
  const parsed = parseToken(value);
  return parsed?.format === "jenkins" ? parsed : null;
}

/** Whether a value looks like a token of ours (used to refuse tokens typed into the login form). */
export function looksLikeToken(value: string): boolean {
  return parseToken(value) !== null;
}
