const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Parses "90", "90s", "15m", "1h", "30d", "2w" into seconds; null when malformed. */
export function parseDurationSeconds(text: string): number | null {
  const match = /^(\d{1,9})([smhdw]?)$/.exec(text.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * UNITS[match[2] || "s"]!;
  return Number.isSafeInteger(seconds) ? seconds : null;
}
