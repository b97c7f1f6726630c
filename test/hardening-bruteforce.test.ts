/**
 * Brute force (SPEC §3): failed logins and failed token checks are limited per client address and per
 * user, with 429 and Retry-After — and an attacker hammering alice's password can lock neither her
 * tokens (from any address) nor, until the per-user limit, her sign-in from elsewhere.
 *
 * Settings: authFailuresPerIp (STEWARD_AUTH_FAILURES_PER_IP, default 30), authFailuresPerUser
 * (STEWARD_AUTH_FAILURES_PER_USER, default 10), authFailureWindowMs (default 5 minutes).
 */
import type { LightMyRequestResponse } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { basic, createTestApp, postLoginForm, type TestApp } from "./support/harness.js";

const PER_IP = 5;
const PER_USER = 8;
const WINDOW_MS = 60_000;
const ATTACKER = "203.0.113.66";
const ALICE_HOME = "198.51.100.7";
const GUESSED_TOKEN = "stw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000";

let t: TestApp;
let aliceToken: string;

beforeEach(async () => {
  t = await createTestApp({
    config: { authFailuresPerIp: PER_IP, authFailuresPerUser: PER_USER, authFailureWindowMs: WINDOW_MS },
  });
  await t.addUser("alice", "alice-password");
  await t.addUser("bob", "bob-password");
  aliceToken = (await t.addToken("alice")).value;
});
afterEach(async () => t.close());

function get(url: string, authorization: string, remoteAddress: string) {
  return t.app.inject({ method: "GET", url, headers: { authorization }, remoteAddress });
}

function login(user: string, password: string, remoteAddress: string) {
  return postLoginForm(t.app, user, password, remoteAddress);
}

function expectLimited(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(429);
  const retryAfter = Number(response.headers["retry-after"]);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
}

function signedIn(response: LightMyRequestResponse): boolean {
  return response.statusCode === 302 && !String(response.headers.location).startsWith("/loginError");
}

describe("per client address", () => {
  it("refuses wrong passwords over Basic with 429 and Retry-After after the limit, until the window ends", async () => {
    for (let i = 0; i < PER_IP; i++) {
      expect((await get("/api/v1/me", basic("alice", `guess-${i}`), ATTACKER)).statusCode).toBe(401);
    }
    const limited = await get("/api/v1/me", basic("alice", "guess-x"), ATTACKER);
    expectLimited(limited);
    expect(limited.json()).toEqual({
      error: { code: "rate_limited", message: expect.stringMatching(/too many/i) },
    });
    // Even the right password is refused from that address while it is limited: no oracle.
    expectLimited(await get("/api/v1/me", basic("alice", "alice-password"), ATTACKER));
    // On the Jenkins surface too.
    expectLimited(await get("/me/api/json", basic("bob", "nope"), ATTACKER));
    t.clock.advance(WINDOW_MS);
    expect((await get("/api/v1/me", basic("alice", "guess-y"), ATTACKER)).statusCode).toBe(401);
  });

  it("counts failed token checks (guessed tokens) too", async () => {
    for (let i = 0; i < PER_IP; i++) {
      expect((await get("/whoAmI/api/json", basic("nobody", GUESSED_TOKEN), ATTACKER)).statusCode).toBe(401);
    }
    expectLimited(await get("/whoAmI/api/json", basic("nobody", GUESSED_TOKEN), ATTACKER));
    expectLimited(await get("/whoAmI/api/json", basic("alice", `11${"0".repeat(32)}`), ATTACKER));
  });

  it("limits the login form from the same counter", async () => {
    for (let i = 0; i < PER_IP; i++) {
      const failed = await login("alice", `guess-${i}`, ATTACKER);
      expect(failed.statusCode).toBe(302);
      expect(failed.headers.location).toMatch(/^\/loginError/);
    }
    expectLimited(await login("alice", "alice-password", ATTACKER));
    expectLimited(await get("/api/v1/me", basic("bob", "bob-password"), ATTACKER));
  });

  it("limits forward auth (/auth/verify) the same way, and a valid token still passes there", async () => {
    const verify = (authorization: string) =>
      t.app.inject({
        method: "GET",
        url: "/auth/verify",
        headers: { authorization },
        remoteAddress: ATTACKER,
      });
    for (let i = 0; i < PER_IP; i++) expect((await verify(`Bearer ${GUESSED_TOKEN}`)).statusCode).toBe(401);
    expectLimited(await verify(`Bearer ${GUESSED_TOKEN}`));
    expect((await verify(`Bearer ${aliceToken}`)).statusCode).toBe(200);
  });

  it("never lets one address lock out another", async () => {
    for (let i = 0; i <= PER_IP; i++) await get("/api/v1/me", basic("bob", "nope"), ATTACKER);
    expect((await get("/api/v1/me", basic("bob", "bob-password"), "192.0.2.1")).statusCode).toBe(200);
  });
});

describe("an attacker hammering alice's password", () => {
  it("cannot stop alice's valid token, from any address, nor her sign-in from elsewhere before the per-user limit", async () => {
    // From one address: the per-address limit stops the attacker after PER_IP tries.
    for (let i = 0; i < PER_IP; i++) await get("/api/v1/me", basic("alice", `guess-${i}`), ATTACKER);
    expectLimited(await get("/api/v1/me", basic("alice", "guess"), ATTACKER));

    // alice's token still works, from her address and even from the attacker's.
    for (const address of [ALICE_HOME, ATTACKER, "::1"]) {
      const response = await get("/api/v1/me", basic("alice", aliceToken), address);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ id: "alice", authenticatedBy: "token" });
    }
    // She can sign in from home: PER_IP (5) failures are below the per-user limit (8).
    expect(signedIn(await login("alice", "alice-password", ALICE_HOME))).toBe(true);
  });

  it("from many addresses hits the per-user limit: her password is refused everywhere, her token is not", async () => {
    // A distributed attack: a fresh address for every try, so only the per-user counter grows.
    for (let i = 0; i < PER_USER; i++) {
      expect((await get("/api/v1/me", basic("alice", `guess-${i}`), `203.0.113.${i + 1}`)).statusCode).toBe(
        401,
      );
    }
    expectLimited(await get("/api/v1/me", basic("alice", "guess"), "203.0.113.200"));
    // The per-user limit now applies to her password from her own address too (by design)…
    expectLimited(await login("alice", "alice-password", ALICE_HOME));
    expectLimited(await get("/api/v1/me", basic("alice", "alice-password"), ALICE_HOME));
    // …but never to her token, from anywhere, on every surface.
    for (const address of [ALICE_HOME, "203.0.113.200", "2001:db8::1"]) {
      expect((await get("/api/v1/me", basic("alice", aliceToken), address)).statusCode).toBe(200);
      expect((await get("/me/api/json", basic("alice", aliceToken), address)).statusCode).toBe(200);
    }
    const generated = await t.app.inject({
      method: "POST",
      url: "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken?newTokenName=during-attack",
      headers: { authorization: basic("alice", aliceToken) },
      remoteAddress: "203.0.113.200",
    });
    expect(generated.statusCode).toBe(200);
    // Other users are not affected.
    expect((await get("/api/v1/me", basic("bob", "bob-password"), ALICE_HOME)).statusCode).toBe(200);
    // The case of the user id does not give the attacker a fresh counter.
    expectLimited(await get("/api/v1/me", basic("ALICE", "guess"), "203.0.113.201"));
    // When the window has passed, alice can sign in again.
    t.clock.advance(WINDOW_MS);
    expect(signedIn(await login("alice", "alice-password", ALICE_HOME))).toBe(true);
  });

  it("treats an unknown user like a known one (a 429 reveals nothing about who exists)", async () => {
    for (let i = 0; i < PER_USER; i++) {
      await get("/api/v1/me", basic("alice", `guess-${i}`), `203.0.113.${i + 1}`);
      await get("/api/v1/me", basic("mallory", `guess-${i}`), `198.18.0.${i + 1}`);
    }
    const known = await get("/api/v1/me", basic("alice", "guess"), "203.0.113.100");
    const unknown = await get("/api/v1/me", basic("mallory", "guess"), "198.18.0.100");
    expectLimited(known);
    expectLimited(unknown);
    expect(unknown.body).toBe(known.body);
  });
});
