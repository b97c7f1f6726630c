import { describe, expect, it } from "vitest";
import { StewardError } from "./errors.js";
import { endOfDayUtc, parseIsoDate, resolveExpiry } from "./expiry.js";
import { defaultTokenName, isValidUserId, normalizeTokenName } from "./names.js";
import { DEFAULT_SETTINGS, parseSettingsPatch } from "./settings.js";

const NOW = Date.UTC(2026, 10, 1, 12);

describe("token names", () => {
  it("are trimmed and kept as given, any Unicode", () => {
    expect(normalizeTokenName("  ci  ", NOW)).toBe("ci");
    expect(normalizeTokenName("déploiement 🚀", NOW)).toBe("déploiement 🚀");
    expect(normalizeTokenName("<img src=x onerror=alert(1)>", NOW)).toBe("<img src=x onerror=alert(1)>");
  });

  it("default as in Jenkins when blank", () => {
    expect(normalizeTokenName("   ", NOW)).toBe(defaultTokenName(NOW));
    expect(defaultTokenName(NOW)).toBe("Token created on 2026-11-01T12:00:00.000+00:00");
  });

  it("refuse more than 100 characters and control characters", () => {
    expect(normalizeTokenName("x".repeat(100), NOW)).toHaveLength(100);
    expect(() => normalizeTokenName("x".repeat(101), NOW)).toThrow(StewardError);
    expect(() => normalizeTokenName("a\u0000b", NOW)).toThrow(StewardError);
    expect(() => normalizeTokenName("a\nb", NOW)).toThrow(StewardError);
  });
});

describe("user ids", () => {
  it("follow SPEC §1", () => {
    expect(isValidUserId("alice.smith@example-1_x")).toBe(true);
    for (const bad of ["", "a b", "x".repeat(65), "ä", "a/b", "a:b"])
      expect(isValidUserId(bad), bad).toBe(false);
  });
});

describe("expiry policy", () => {
  it("never expires by default (Jenkins)", () => {
    expect(resolveExpiry({}, DEFAULT_SETTINGS, NOW)).toBeNull();
  });

  it("applies the default lifetime and refuses beyond the maximum", () => {
    const settings = {
      ...DEFAULT_SETTINGS,
      defaultTokenLifetimeSeconds: 3600,
      maxTokenLifetimeSeconds: 7200,
    };
    expect(resolveExpiry({}, settings, NOW)).toBe(NOW + 3600_000);
    expect(resolveExpiry({ expiresInSeconds: 7200 }, settings, NOW)).toBe(NOW + 7200_000);
    expect(() => resolveExpiry({ expiresInSeconds: 7201 }, settings, NOW)).toThrow(/at most 2 hours/);
    expect(() => resolveExpiry({ expiresAt: NOW - 1 }, DEFAULT_SETTINGS, NOW)).toThrow(/in the past/);
  });

  it("lets a Jenkins date work all of that day", () => {
    expect(endOfDayUtc("2026-11-01")).toBe(Date.UTC(2026, 10, 2));
    expect(endOfDayUtc("2026-02-30")).toBeNull();
    expect(endOfDayUtc("tomorrow")).toBeNull();
  });
});

describe("parseIsoDate", () => {
  it("reads dates and date-times, a time without a zone as UTC", () => {
    expect(parseIsoDate("2027-02-28")).toBe(Date.UTC(2027, 1, 28));
    expect(parseIsoDate("2027-02-28T12:30:00Z")).toBe(Date.UTC(2027, 1, 28, 12, 30));
    expect(parseIsoDate("2027-02-28T12:30:00.250+02:00")).toBe(Date.UTC(2027, 1, 28, 10, 30, 0, 250));
    expect(parseIsoDate("2027-02-28 12:30")).toBe(Date.UTC(2027, 1, 28, 12, 30));
    expect(parseIsoDate("2028-02-29")).toBe(Date.UTC(2028, 1, 29));
  });

  it("refuses dates that are not on the calendar instead of rolling them over", () => {
    for (const text of [
      "2027-02-30",
      "2027-06-31T00:00:00Z",
      "2027-02-29",
      "2027-13-01",
      "2027-00-10",
      "2027-01-01T24:00:00Z",
      "2027-01-01T12:60Z",
      "next tuesday",
      "",
    ]) {
      expect(parseIsoDate(text), text).toBeNull();
    }
  });
});

describe("settings patches", () => {
  it("accept known keys with the right types only", () => {
    expect(parseSettingsPatch({ legacyTokensEnabled: true, maxTokenLifetimeSeconds: null })).toEqual({
      legacyTokensEnabled: true,
      maxTokenLifetimeSeconds: null,
    });
    expect(() => parseSettingsPatch({ legacyTokensEnabled: "yes" })).toThrow(StewardError);
    expect(() => parseSettingsPatch({ unknown: 1 })).toThrow(/Unknown setting/);
    expect(() => parseSettingsPatch([])).toThrow(StewardError);
  });
});
