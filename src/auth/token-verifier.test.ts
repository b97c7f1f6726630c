import { afterEach, describe, expect, it } from "vitest";
import { createTestApp, mistyped, type TestApp } from "../../test/support/harness.js";

const IP = "127.0.0.1";
const basic = (user: string, secret: string) =>
  `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;

describe("TokenVerifier", () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("answers a cached token at once, and a token not yet cached through one lookup", async () => {
    t = await createTestApp();
    await t.addUser("alice", "correct horse battery staple");
    const { value, id } = await t.addToken("alice");
    const verifier = t.services.verifier;
    const first = verifier.verify("alice", value, IP);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toMatchObject({ ok: true, tokenId: id });
    expect(verifier.verify("alice", value, IP)).toMatchObject({ ok: true, tokenId: id });
    expect(verifier.verify("ALICE", value, IP)).toMatchObject({ ok: true, tokenId: id });
    expect(verifier.verify("bob", value, IP)).toEqual({ ok: false, reason: "unknown" });
    expect(verifier.verify("alice", mistyped(value), IP)).toEqual({
      ok: false,
      reason: "unknown",
    });
    expect(verifier.misses).toBe(1);
  });

  it("matches a cached token only in its own format: the bare secret of an `11…` token is not that token", async () => {
    t = await createTestApp();
    await t.addUser("alice", "correct horse battery staple");
    const { value } = await t.addToken("alice", { format: "jenkins" });
    const bare = value.slice(2);
    const whoAmI = (secret: string) =>
      t!.app.inject({
        method: "GET",
        url: "/whoAmI/api/json",
        headers: { authorization: basic("alice", secret) },
      });

    expect((await whoAmI(value)).json()).toMatchObject({ authenticated: true, name: "alice" });
    // Now cached under the hash both values share.
    expect(t.services.verifier.verify("alice", bare, IP)).toEqual({ ok: false, reason: "unknown" });
    // And through the database lookup, with the cache emptied.
    t.services.verifier.invalidate({ type: "all" });
    expect(await t.services.verifier.verify("alice", bare, IP)).toEqual({ ok: false, reason: "unknown" });
    expect((await whoAmI(bare)).statusCode).toBe(401);
    expect((await whoAmI(value)).json()).toMatchObject({ authenticated: true, name: "alice" });
  });

  it("reads a cached token again once it is older than the cache TTL (by the server's clock)", async () => {
    t = await createTestApp({ config: { tokenCacheTtlMs: 60_000 } });
    await t.addUser("alice", "correct horse battery staple");
    const { value } = await t.addToken("alice");
    const verifier = t.services.verifier;
    await verifier.verify("alice", value, IP);
    t.clock.advance(59_999);
    expect(verifier.verifyCached("alice", value, IP)).toMatchObject({ ok: true });
    expect(verifier.verify("alice", value, IP)).toMatchObject({ ok: true });
    expect(verifier.misses).toBe(1);
    t.clock.advance(1);
    // Stale: the hot lane leaves it to the full check, which reads the store once and caches it anew.
    expect(verifier.verifyCached("alice", value, IP)).toBeUndefined();
    const reread = verifier.verify("alice", value, IP);
    expect(reread).toBeInstanceOf(Promise);
    expect(await reread).toMatchObject({ ok: true });
    expect(verifier.misses).toBe(2);
    expect(verifier.verify("alice", value, IP)).toMatchObject({ ok: true });
  });
});
