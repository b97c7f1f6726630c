/**
 * No user enumeration (SPEC §3): an unknown user, a wrong password and a wrong token get the same
 * status, the same message and — within noise — the same time. With a real scrypt cost, a path that
 * skipped the dummy hash for unknown users would answer some 100× faster; the test measures it.
 *
 * Statistics, generous enough for a shared 2-core machine: samples are interleaved in random order
 * (drift hits every class alike), then compared by their medians and by the Mann–Whitney effect size
 * P(a < b), which is 0.5 for identical distributions and near 1 when one path skips the hash. A control
 * (a request that hashes nothing) proves the test would notice.
 */
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { ManualClock } from "../src/core/clock.js";
import { systemRandom } from "../src/core/random.js";
import { createApp } from "../src/http/app.js";
import { buildServices, type Services } from "../src/service/services.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { basic, SYSTEM_ACTOR } from "./support/harness.js";

/** scrypt N = 2^12: a real, memory-hard hash (production uses 2^15), cheap enough for CI. */
const HASH_COST = 12;
const ROUNDS = Number(process.env.TIMING_ROUNDS ?? 150);
const WARMUP = 10;
/** A well-formed stw_ token (valid checksum) that is nobody's: it reaches the database lookup. */
const WRONG_TOKEN = "stw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000";

let app: FastifyInstance;
let services: Services;
let store: SqliteStore;

beforeAll(async () => {
  const config = loadConfig(
    {},
    {
      passwordHashCost: HASH_COST,
      usageFlushMs: 60_000,
      // Hundreds of failures from one address: the limiter would answer 429 instead of checking.
      authFailuresPerIp: 1_000_000,
      authFailuresPerUser: 1_000_000,
    },
  );
  store = SqliteStore.open(":memory:");
  await store.migrate();
  services = await buildServices({ store, config, clock: new ManualClock(), random: systemRandom });
  app = await createApp(services, { logger: false });
  await app.ready();
  await services.users.create(SYSTEM_ACTOR, {
    id: "alice",
    password: "correct horse battery",
    roles: ["user"],
  });
  const owner = await services.users.get("alice");
  await services.tokens.create(SYSTEM_ACTOR, owner, { name: "ci" });
});

afterAll(async () => {
  await app?.close();
  await services?.usage.stop();
  await store?.close();
});

type Probe = () => Promise<LightMyRequestResponse>;

const basicProbe =
  (user: string, secret: string): Probe =>
  () =>
    app.inject({ method: "GET", url: "/api/v1/me", headers: { authorization: basic(user, secret) } });

const loginProbe =
  (user: string, password: string): Probe =>
  () =>
    app.inject({
      method: "POST",
      url: "/j_spring_security_check",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({ j_username: user, j_password: password, from: "/" }).toString(),
    });

/** Interleaves the probes in a fresh random order each round; returns each probe's times (ms). */
async function measure(probes: Record<string, Probe>, rounds: number): Promise<Record<string, number[]>> {
  const names = Object.keys(probes);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -WARMUP; round < rounds; round++) {
    const order = [...names].sort(() => systemRandom.bytes(1)[0]! - 128);
    for (const name of order) {
      const start = process.hrtime.bigint();
      await probes[name]!();
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (round >= 0) times[name]!.push(ms);
    }
  }
  return times;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Mann–Whitney effect size: the probability that a sample of `a` is faster than one of `b` (ties ½). */
function probabilityFaster(a: readonly number[], b: readonly number[]): number {
  let wins = 0;
  for (const x of a) for (const y of b) wins += x < y ? 1 : x === y ? 0.5 : 0;
  return wins / (a.length * b.length);
}

interface Comparison {
  medianRatio: number;
  pFaster: number;
}

function compare(a: readonly number[], b: readonly number[]): Comparison {
  return { medianRatio: median(a) / median(b), pFaster: probabilityFaster(a, b) };
}

/** "Within noise": medians within 1.5× and no strong ordering. A skipped hash gives ~0.01 and ~1.0. */
function expectIndistinguishable(label: string, c: Comparison): void {
  console.log(`${label}: median ratio ${c.medianRatio.toFixed(3)}, P(faster) ${c.pFaster.toFixed(3)}`);
  expect({ label, ratioOk: c.medianRatio > 1 / 1.5 && c.medianRatio < 1.5, c }).toMatchObject({
    ratioOk: true,
  });
  expect({ label, orderOk: c.pFaster > 0.2 && c.pFaster < 0.8, c }).toMatchObject({ orderOk: true });
}

describe("no user enumeration", () => {
  it("answers unknown user, wrong password and wrong token with the same status, headers and message", async () => {
    const answers = await Promise.all([
      basicProbe("mallory", "some password")(),
      basicProbe("alice", "some password")(),
      basicProbe("alice", WRONG_TOKEN)(),
      basicProbe("mallory", WRONG_TOKEN)(),
    ]);
    for (const answer of answers) {
      expect(answer.statusCode).toBe(401);
      expect(answer.headers["www-authenticate"]).toBe(answers[0]!.headers["www-authenticate"]);
      expect(answer.body).toBe(answers[0]!.body);
    }
    // The Jenkins surface and the login form say the same for everyone too.
    const jenkins = await Promise.all(
      ["mallory", "alice"].map((user) =>
        app.inject({ method: "GET", url: "/me/api/json", headers: { authorization: basic(user, "x") } }),
      ),
    );
    expect(jenkins[0]!.statusCode).toBe(401);
    expect(jenkins[0]!.body).toBe(jenkins[1]!.body);
    const logins = await Promise.all([loginProbe("mallory", "x")(), loginProbe("alice", "x")()]);
    expect(logins[0]!.statusCode).toBe(302);
    expect(logins[0]!.headers.location).toBe(logins[1]!.headers.location);
  });

  it(`takes the same time for each over Basic (${ROUNDS} interleaved samples each, scrypt 2^${HASH_COST})`, async () => {
    const times = await measure(
      {
        unknownUser: basicProbe("mallory", "some password"),
        wrongPassword: basicProbe("alice", "some password"),
        wrongToken: basicProbe("alice", WRONG_TOKEN),
        // The control: what an unknown-user path without the dummy hash looks like.
        noHash: () => app.inject({ method: "GET", url: "/api/v1/me" }),
      },
      ROUNDS,
    );
    const report = Object.fromEntries(
      Object.entries(times).map(([k, v]) => [k, Number(median(v).toFixed(2))]),
    );
    console.log("median ms:", JSON.stringify(report));
    expectIndistinguishable(
      "unknown user vs wrong password",
      compare(times.unknownUser!, times.wrongPassword!),
    );
    expectIndistinguishable(
      "wrong token vs wrong password",
      compare(times.wrongToken!, times.wrongPassword!),
    );
    expectIndistinguishable("wrong token vs unknown user", compare(times.wrongToken!, times.unknownUser!));
    // The test has the power to see a missing hash: the control is far faster, every time.
    const control = compare(times.noHash!, times.unknownUser!);
    expect(control.medianRatio).toBeLessThan(0.5);
    expect(control.pFaster).toBeGreaterThan(0.9);
  }, 120_000);

  it("takes the same time for each in the login form", async () => {
    const rounds = Math.ceil(ROUNDS / 2);
    const times = await measure(
      {
        unknownUser: loginProbe("mallory", "some password"),
        wrongPassword: loginProbe("alice", "some password"),
      },
      rounds,
    );
    expectIndistinguishable(
      "login: unknown user vs wrong password",
      compare(times.unknownUser!, times.wrongPassword!),
    );
  }, 120_000);
});
