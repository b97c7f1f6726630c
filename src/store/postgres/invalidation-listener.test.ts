import { describe, expect, it } from "vitest";
import { parseInvalidation } from "./invalidation-listener.js";

describe("parseInvalidation", () => {
  it("reads the payloads PostgresStore publishes", () => {
    expect(parseInvalidation('{"type":"token","hash":"abc"}')).toEqual({ type: "token", hash: "abc" });
    expect(parseInvalidation('{"type":"user","userId":"alice"}')).toEqual({ type: "user", userId: "alice" });
    expect(parseInvalidation('{"type":"all"}')).toEqual({ type: "all" });
  });

  it("fails closed: anything else drops every cached entry", () => {
    for (const payload of [
      undefined,
      "",
      "not json",
      "null",
      "[]",
      '{"type":"token"}',
      '{"type":"user","userId":1}',
    ]) {
      expect(parseInvalidation(payload)).toEqual({ type: "all" });
    }
  });
});
