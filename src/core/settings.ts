import { ADDRESS_GRANULARITIES, type AddressGranularity } from "./address-key.js";
import { invalid } from "./errors.js";

/** Admin-controlled token policy (SPEC §4.2 settings), stored in the database. */
export interface Settings {
  /** Longest lifetime a token may be given, in seconds; null = unlimited (Jenkins). */
  maxTokenLifetimeSeconds: number | null;
  /** Lifetime given to a token created without one, in seconds; null = never expires (Jenkins). */
  defaultTokenLifetimeSeconds: number | null;
  /** Jenkins' creationOfLegacyTokenEnabled. */
  legacyTokensEnabled: boolean;
  /** Jenkins' usageStatisticsEnabled. */
  usageStatisticsEnabled: boolean;
  /** Jenkins' adminCanGenerateNewTokens. */
  adminCanGenerateTokensForOthers: boolean;
  /** Whether `Authorization: Basic user:password` is accepted (tokens are always accepted). */
  passwordBasicAuthEnabled: boolean;
  /** Longest grace period a rotation may leave the old value working, in seconds. */
  maxRotationGraceSeconds: number;
  /** When a token's use counts as "from a new address": a new address, or a new /24 (IPv4) or /64 (IPv6). */
  newAddressGranularity: AddressGranularity;
  /** Days before expiry at which a `token.expiring` notification is sent (once per token and threshold). */
  expiryWarningDays: number[];
}

export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  maxTokenLifetimeSeconds: null,
  defaultTokenLifetimeSeconds: null,
  legacyTokensEnabled: false,
  usageStatisticsEnabled: true,
  adminCanGenerateTokensForOthers: false,
  passwordBasicAuthEnabled: true,
  maxRotationGraceSeconds: 7 * 24 * 3600,
  newAddressGranularity: "address",
  expiryWarningDays: [14, 7, 1],
} satisfies Settings);

const BOOLEAN_KEYS = [
  "legacyTokensEnabled",
  "usageStatisticsEnabled",
  "adminCanGenerateTokensForOthers",
  "passwordBasicAuthEnabled",
] as const;
const SECONDS_OR_NULL_KEYS = ["maxTokenLifetimeSeconds", "defaultTokenLifetimeSeconds"] as const;
const TEN_YEARS = 10 * 366 * 24 * 3600;

function isSeconds(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0 && value <= TEN_YEARS;
}

/** Validates a partial settings update; unknown keys and wrong types are refused, nothing is coerced. */
export function parseSettingsPatch(input: unknown): Partial<Settings> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw invalid("Settings must be a JSON object.");
  }
  const patch: Partial<Settings> = {};
  for (const [key, value] of Object.entries(input)) {
    if ((BOOLEAN_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== "boolean") throw invalid(`${key} must be true or false.`, { field: key });
      patch[key as (typeof BOOLEAN_KEYS)[number]] = value;
    } else if ((SECONDS_OR_NULL_KEYS as readonly string[]).includes(key)) {
      if (value !== null && !isSeconds(value)) {
        throw invalid(`${key} must be a positive whole number of seconds (at most ten years) or null.`, {
          field: key,
        });
      }
      patch[key as (typeof SECONDS_OR_NULL_KEYS)[number]] = value as number | null;
    } else if (key === "newAddressGranularity") {
      if (typeof value !== "string" || !(ADDRESS_GRANULARITIES as readonly string[]).includes(value)) {
        throw invalid(`${key} must be "address" or "subnet".`, { field: key });
      }
      patch.newAddressGranularity = value as AddressGranularity;
    } else if (key === "expiryWarningDays") {
      patch.expiryWarningDays = parseWarningDays(value);
    } else if (key === "maxRotationGraceSeconds") {
      if (!(value === 0 || isSeconds(value)))
        throw invalid(`${key} must be a whole number of seconds.`, { field: key });
      patch.maxRotationGraceSeconds = value as number;
    } else {
      throw invalid(`Unknown setting "${key}".`, { field: key });
    }
  }
  return patch;
}

/** At most this many expiry warnings per token. */
export const MAX_EXPIRY_WARNINGS = 10;

/** Whole days from 1 to 365, at most ten, no duplicates; kept largest first. An empty list turns warnings off. */
function parseWarningDays(value: unknown): number[] {
  const valid =
    Array.isArray(value) &&
    value.length <= MAX_EXPIRY_WARNINGS &&
    value.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 1 && d <= 365);
  if (!valid) {
    throw invalid(
      `expiryWarningDays must be a list of at most ${MAX_EXPIRY_WARNINGS} whole numbers of days from 1 to 365.`,
      { field: "expiryWarningDays" },
    );
  }
  return [...new Set(value as number[])].sort((a, b) => b - a);
}

/** Checks that a settings object is self-consistent (default lifetime within the maximum). */
export function assertConsistentSettings(settings: Settings): void {
  const { maxTokenLifetimeSeconds: max, defaultTokenLifetimeSeconds: def } = settings;
  if (max !== null && def !== null && def > max) {
    throw invalid("The default token lifetime cannot be longer than the maximum lifetime.");
  }
}
