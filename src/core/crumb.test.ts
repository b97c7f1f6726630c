import { describe, expect, it } from "vitest";
import { computeCrumb, verifyCrumb } from "./crumb.js";
import { constantTimeEqual } from "./secrets.js";

const SECRET = "a".repeat(64);

describe("crumbs", () => {
  it("are 64 lowercase hex, like Jenkins' crumbs", () => {
    expect(computeCrumb(SECRET, "alice", "session-1")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("verify only for the same user and session", () => {
    const crumb = computeCrumb(SECRET, "alice", "session-1");
    expect(verifyCrumb(SECRET, "alice", "session-1", crumb)).toBe(true);
    expect(verifyCrumb(SECRET, "alice", "session-2", crumb)).toBe(false);
    expect(verifyCrumb(SECRET, "bob", "session-1", crumb)).toBe(false);
    expect(verifyCrumb("b".repeat(64), "alice", "session-1", crumb)).toBe(false);
    expect(verifyCrumb(SECRET, "alice", "session-1", "")).toBe(false);
    expect(verifyCrumb(SECRET, "alice", "session-1", crumb.toUpperCase())).toBe(false);
  });

  it("differ between two sessions of the same user", () => {
    expect(computeCrumb(SECRET, "alice", "s1")).not.toBe(computeCrumb(SECRET, "alice", "s2"));
  });
});

describe("constantTimeEqual", () => {
  it("compares values of any length without throwing", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
  });
});
