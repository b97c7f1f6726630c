import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseToken } from "../core/token-format.js";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";
import { seedSqlite, seedTokenOwner, seedTokenValue, seedTokenValues } from "./dev-seed.js";

describe("dev seed", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("derives well-formed token values from the seed and the index alone", () => {
    const values = seedTokenValues("s", 0, 50);
    expect(new Set(values).size).toBe(50);
    for (const [i, value] of values.entries()) {
      expect(parseToken(value)?.format).toBe("steward");
      expect(seedTokenValue("s", i)).toBe(value);
    }
    expect(seedTokenValues("s", 20, 23)).toEqual(values.slice(20, 23));
    expect(seedTokenValue("t", 0)).not.toBe(values[0]);
  });

  it("fills a migrated store whose tokens then verify, with its indexes intact", async () => {
    dir = mkdtempSync(join(tmpdir(), "steward-seed-"));
    const file = join(dir, "steward.db");
    const store = SqliteStore.open(file);
    await store.migrate();
    await store.close();

    const result = seedSqlite(file, { users: 7, tokens: 300, seed: "s", batchSize: 128 });
    expect(result).toMatchObject({ users: 7, tokens: 300 });

    const reopened = SqliteStore.open(file);
    try {
      expect(await reopened.countUsers()).toBe(7);
      expect(await reopened.countTokens()).toBe(300);
      for (const i of [0, 1, 127, 128, 299]) {
        const found = await reopened.findTokenByHash(parseToken(seedTokenValue("s", i))!.hash);
        expect(found?.owner.id).toBe(seedTokenOwner(i, 7));
        expect(found?.token).toMatchObject({ format: "steward", revokedAt: null, useCount: 0 });
      }
      expect((await reopened.listTokens(seedTokenOwner(3, 7))).length).toBe(43);
      expect(reopened.integrityCheck()).toBe("ok");
      expect(await reopened.queryAudit({ action: "dev.seeded", limit: 5 })).toHaveLength(1);
    } finally {
      await reopened.close();
    }
  });
});
