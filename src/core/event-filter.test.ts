import { describe, expect, it } from "vitest";
import { matchesEventFilter, parseEventFilters } from "./event-filter.js";

describe("event filters", () => {
  it("matches everything, an exact action or a prefix", () => {
    expect(matchesEventFilter(["*"], "login.failed")).toBe(true);
    expect(matchesEventFilter(["token.revoked"], "token.revoked")).toBe(true);
    expect(matchesEventFilter(["token.revoked"], "token.revoked.all")).toBe(false);
    expect(matchesEventFilter(["token.*"], "token.used.new-ip")).toBe(true);
    expect(matchesEventFilter(["token.used.*"], "token.used.new-ip")).toBe(true);
    expect(matchesEventFilter(["token.*"], "tokens.created")).toBe(false);
    expect(matchesEventFilter(["user.created", "token.expiring"], "token.expiring")).toBe(true);
    expect(matchesEventFilter([], "token.expiring")).toBe(false);
  });

  it("validates and dedupes filters", () => {
    expect(parseEventFilters(["token.revoked", "token.*", "*", "token.revoked"])).toEqual([
      "token.revoked",
      "token.*",
      "*",
    ]);
    for (const bad of [
      [],
      "token.revoked",
      [""],
      ["Token.Revoked"],
      ["token.%"],
      ["*.token"],
      [1],
      ["a".repeat(101)],
    ]) {
      expect(() => parseEventFilters(bad)).toThrow(/event/);
    }
  });
});
