import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { seedSqlite, seedUserId } from "../src/cli/dev-seed.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { makeTempDir, removeDir } from "./support/server-process.js";

const dir = makeTempDir("steward-flush-");
afterAll(() => removeDir(dir));

describe("a usage flush touching more tokens than SQLite binds in one statement", () => {
  it("writes every count and address (no 'too many SQL variables')", async () => {
    const file = join(dir, "steward.db");
    const setup = SqliteStore.open(file);
    await setup.migrate();
    await setup.close();
    const tokens = 35_000;
    seedSqlite(file, { users: 1, tokens, seed: "flush-test" });

    const store = SqliteStore.open(file);
    try {
      const all = await store.listTokens(seedUserId(0));
      expect(all).toHaveLength(tokens);
      const at = Date.UTC(2026, 10, 1);
      await store.addUsage(
        all.map((t) => ({ tokenId: t.id, count: 2, lastUsedAt: at })),
        {
          deltas: all.map((t) => ({
            tokenId: t.id,
            ip: "10.0.0.1",
            count: 2,
            firstSeenAt: at,
            lastSeenAt: at,
          })),
          granularity: "address",
          keepPerToken: 20,
        },
      );
      const last = all.at(-1)!;
      expect((await store.getToken(last.id))?.useCount).toBe(2);
      expect((await store.listTokenAddresses(last.id)).map((a) => a.ip)).toEqual(["10.0.0.1"]);
    } finally {
      await store.close();
    }
  }, 120_000);
});
