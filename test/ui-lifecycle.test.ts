import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { basic, createTestApp, SYSTEM_ACTOR, type TestApp } from "./support/harness.js";
import {
  Browser,
  expectEscaped,
  TOKEN_VALUE,
  uiPostRoutes,
  XSS,
  XSS_ESCAPED,
} from "./support/page-browser.js";

/**
 * The token life cycle in the web UI, beyond Jenkins: expiry warnings, allowed addresses, where a token
 * was used from, rotation with a grace period, service accounts managed by their owner, the new policy
 * settings and webhooks with their delivery log.
 */
const SECRET = /whsec_[A-Za-z0-9_-]{43}/;

let t: TestApp;

beforeEach(async () => {
  t = await createTestApp();
  await t.addUser("alice", "alice-password");
  await t.addUser("bob", "bob-password");
  await t.addUser("root", "root-password", { admin: true });
});
afterEach(async () => t.close());

/** A Jenkins-style call with a token, from a given client address. */
async function use(user: string, value: string, remoteAddress = "127.0.0.1") {
  return t.app.inject({
    method: "GET",
    url: "/whoAmI/api/json",
    headers: { authorization: basic(user, value) },
    remoteAddress,
  });
}

async function serviceAccount(id: string, ownerId: string | null, fullName?: string): Promise<void> {
  await t.services.users.create(SYSTEM_ACTOR, { id, kind: "service", ownerId, fullName: fullName ?? null });
}

/** Every POST form of a page carries the session's crumb. */
function expectCrumbInEveryForm(body: string, crumb: string, where: string): void {
  const posts = body.match(/<form method="post"[\s\S]*?<\/form>/g) ?? [];
  expect(posts.length, where).toBeGreaterThan(0);
  for (const form of posts) expect(form, where).toContain(`name="Jenkins-Crumb" value="${crumb}"`);
}

describe("expiry warnings on the token page", () => {
  it("lists my tokens within the largest threshold, soonest first, with a link to rotate", async () => {
    const soon = await t.addToken("alice", { name: "soon", expiresInSeconds: 3 * 86400 });
    await t.addToken("alice", { name: "tomorrow", expiresInSeconds: 5 * 3600 });
    await t.addToken("alice", { name: "later", expiresInSeconds: 30 * 86400 });
    await t.addToken("alice", { name: "forever" });
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const page = (await alice.get("/account/tokens")).body;
    expect(page).toContain("2 tokens expire soon");
    expect(page).toMatch(/“<span class="token-name">tomorrow<\/span>” expires within a day, on <time/);
    expect(page).toMatch(
      /“<span class="token-name">soon<\/span>” expires in 3 days, on <time datetime="2026-11-04/,
    );
    expect(page.indexOf(">tomorrow<")).toBeLessThan(page.indexOf(">soon<"));
    expect(page).toContain(`href="/account/tokens/${soon.id}/rotate"`);
    const banner = /<section class="notice warning expiry-warnings"[\s\S]*?<\/section>/.exec(page)![0];
    expect(banner).not.toContain("later");
    expect(banner).not.toContain("forever");
  });

  it("escapes token names, and follows the thresholds of the policy", async () => {
    await t.addToken("alice", { name: XSS, expiresInSeconds: 2 * 86400 });
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    expectEscaped((await alice.get("/account/tokens")).body);
    const root = await Browser.signIn(t.app, "root", "root-password");
    expect(
      (await root.post("/manage/settings", { ...settingsFields(), expiryWarningDays: "" })).statusCode,
    ).toBe(303);
    expect((await alice.get("/account/tokens")).body).not.toContain("expire soon");
  });
});

describe("allowed addresses", () => {
  it("limits a new token to the networks typed, one per line or separated by commas", async () => {
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const created = await alice.post("/account/tokens", {
      name: "office only",
      allowedCidrs: "10.0.0.0/8\r\n192.0.2.7, 2001:DB8::/32\n",
    });
    expect(created.statusCode).toBe(200);
    const value = TOKEN_VALUE.exec(created.body)![0];
    const [token] = await t.services.tokens.list("alice");
    expect(token!.allowedCidrs).toEqual(["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
    expect((await use("alice", value, "10.1.2.3")).statusCode).toBe(200);
    expect((await use("alice", value, "198.51.100.1")).statusCode).toBe(403);
    const list = (await alice.get("/account/tokens")).body;
    expect(list).toContain("only from <code>10.0.0.0/8</code>, <code>192.0.2.7/32</code>");
  });

  it("explains a bad entry on the form, keeps what was typed, and creates nothing", async () => {
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const bad = await alice.post("/account/tokens", {
      name: "typo",
      allowedCidrs: "10.0.0.0/8\n10.0.0.0/33",
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain("Allowed addresses: Entry 2");
    expect(bad.body).toContain("is not a valid CIDR");
    expect(bad.body).toMatch(/<details class="add-token" open>/);
    expect(bad.body).toContain(">10.0.0.0/8\n10.0.0.0/33</textarea>");
    const xss = await alice.post("/account/tokens", { name: "x", allowedCidrs: XSS });
    expect(xss.statusCode).toBe(400);
    expectEscaped(xss.body);
    expect(await t.services.tokens.list("alice")).toHaveLength(0);
  });
});

describe("where a token was used from", () => {
  it("lists the addresses with first and last use and counts, including uses not yet flushed", async () => {
    const { id, value } = await t.addToken("alice", { name: "ci" });
    await use("alice", value, "192.0.2.7");
    t.clock.advance(60_000);
    await use("alice", value, "192.0.2.7");
    t.clock.advance(60_000);
    await use("alice", value, "2001:db8::1");
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const list = (await alice.get("/account/tokens")).body;
    expect(list).toContain(`href="/account/tokens/${id}/addresses"`);
    const page = await alice.get(`/account/tokens/${id}/addresses`);
    expect(page.statusCode).toBe(200);
    const rows = page.body.match(/<tr>\n<td data-label="Address">[\s\S]*?<\/tr>/g)!;
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain("<code>2001:db8::1</code>");
    expect(rows[1]).toContain("<code>192.0.2.7</code>");
    expect(rows[1]).toMatch(/data-label="First seen"><time datetime="2026-11-01T12:00/);
    expect(rows[1]).toMatch(/data-label="Last seen"><time datetime="2026-11-01T12:01/);
    expect(rows[1]).toContain('data-label="Uses">2<');
    expect(page.body).not.toContain("Recent events"); // the audit trail is for administrators
  });

  it("shows an administrator the addresses and the events of a user's token; others get 404", async () => {
    const { id, value } = await t.addToken("alice", { name: XSS });
    await use("alice", value, "203.0.113.9");
    const other = await t.addToken("bob");
    const root = await Browser.signIn(t.app, "root", "root-password");
    const user = await root.get("/manage/users/alice");
    expect(user.body).toContain(`href="/manage/users/alice/tokens/${id}/addresses"`);
    const page = await root.get(`/manage/users/alice/tokens/${id}/addresses`);
    expect(page.statusCode).toBe(200);
    expectEscaped(page.body);
    expect(page.body).toContain("<code>203.0.113.9</code>");
    expect(page.body).toContain("Recent events");
    expect(page.body).toContain("<code>token.created</code>");
    expect(page.body).toContain('aria-label="Manage"'); // inside the administration, with its navigation
    expect((await root.get(`/manage/users/alice/tokens/${other.id}/addresses`)).statusCode).toBe(404);

    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    expect((await alice.get(`/account/tokens/${other.id}/addresses`)).statusCode).toBe(404);
    expect((await alice.get(`/manage/users/alice/tokens/${id}/addresses`)).statusCode).toBe(403);
  });
});

describe("rotation", () => {
  it("asks first, offering grace periods within the policy, and changes nothing on GET", async () => {
    const { id, value } = await t.addToken("alice", { name: "deploy" });
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    expect((await alice.get("/account/tokens")).body).toContain(`href="/account/tokens/${id}/rotate"`);
    const form = await alice.get(`/account/tokens/${id}/rotate`);
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain(`action="/account/tokens/${id}/rotate"`);
    const offered = [...form.body.matchAll(/name="graceSeconds" value="(\d+)"/g)].map((m) => m[1]);
    expect(offered).toEqual(["0", "3600", "86400", "604800"]);
    expect(form.body).toMatch(/value="0" checked/);
    expect(form.body).not.toMatch(TOKEN_VALUE);
    expect((await use("alice", value)).statusCode).toBe(200);
    expect((await t.services.tokens.list("alice"))[0]!.id).toBe(id);

    t.services.deps.settings.replace({
      ...t.services.deps.settings.current,
      maxRotationGraceSeconds: 2 * 86400,
    });
    const bounded = await alice.get(`/account/tokens/${id}/rotate`);
    const choices = [...bounded.body.matchAll(/name="graceSeconds" value="(\d+)"/g)].map((m) => m[1]);
    expect(choices).toEqual(["0", "3600", "86400", "172800"]);
    expect(bounded.body).toContain("2d (the longest the policy allows)");
    const tooLong = await alice.post(`/account/tokens/${id}/rotate`, { graceSeconds: "604800" });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.body).toContain("at most 2d");
    expect(tooLong.body).not.toMatch(TOKEN_VALUE);
    const garbage = await alice.post(`/account/tokens/${id}/rotate`, { graceSeconds: "soon" });
    expect(garbage.statusCode).toBe(400);
    expect(garbage.body).toContain("Choose how long");
    expect((await use("alice", value)).statusCode).toBe(200);
  });

  it("shows the new value once; the old one works until the grace period ends", async () => {
    const { id, value: old } = await t.addToken("alice", {
      name: "deploy",
      scopes: ["jenkins:api"],
      allowedCidrs: ["127.0.0.0/8"],
    });
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const rotated = await alice.post(`/account/tokens/${id}/rotate`, { graceSeconds: "3600" });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.headers["cache-control"]).toBe("no-store");
    expect(rotated.body).toContain("Token rotated");
    expect(rotated.body).toContain("will not be shown again");
    expect(rotated.body).toMatch(/keeps working until <time datetime="2026-11-01T13:00/);
    const value = TOKEN_VALUE.exec(rotated.body)![0];
    expect(value).not.toBe(old);
    const [next] = await t.services.tokens.list("alice");
    expect(next).toMatchObject({ name: "deploy", scopes: ["jenkins:api"], allowedCidrs: ["127.0.0.0/8"] });

    expect((await use("alice", old)).statusCode).toBe(200);
    expect((await use("alice", value)).statusCode).toBe(200);
    const list = (await alice.get("/account/tokens")).body;
    expect(list).not.toContain(value);
    expect(list).not.toMatch(TOKEN_VALUE);

    // A reload of the result sends the form again: nothing is rotated, no value shown, no alarm raised.
    const again = await alice.post(`/account/tokens/${id}/rotate`, { graceSeconds: "3600" });
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain("already rotated");
    expect(again.body).not.toMatch(TOKEN_VALUE);
    expect(await t.services.tokens.list("alice")).toHaveLength(1);
    expect(await t.store.queryAudit({ action: "token.rotate.replayed", limit: 10 })).toHaveLength(0);

    t.clock.advance(3601_000);
    expect((await use("alice", old)).statusCode).toBe(401);
    expect((await use("alice", value)).statusCode).toBe(200);
  });

  it("ends the old value at once without a grace period, and rotates only one's own tokens", async () => {
    const { id, value: old } = await t.addToken("alice");
    const bobs = await t.addToken("bob");
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const rotated = await alice.post(`/account/tokens/${id}/rotate`, { graceSeconds: "0" });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.body).toContain("The old value no longer works.");
    expect((await use("alice", old)).statusCode).toBe(401);
    expect((await alice.get(`/account/tokens/${bobs.id}/rotate`)).statusCode).toBe(404);
    expect((await alice.post(`/account/tokens/${bobs.id}/rotate`, { graceSeconds: "0" })).statusCode).toBe(
      404,
    );
    expect((await t.services.tokens.list("bob"))[0]!.id).toBe(bobs.id);
  });
});

describe("service accounts I manage", () => {
  beforeEach(async () => {
    await serviceAccount("ci-bot", "alice", XSS);
    await serviceAccount("other-bot", "bob");
    await serviceAccount("orphan-bot", null);
  });

  it("lists the owner's service accounts on the token page, and only those", async () => {
    await t.addToken("ci-bot", { name: "nightly" });
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const page = (await alice.get("/account/tokens")).body;
    expect(page).toContain("Service accounts I manage");
    expect(page).toContain('href="/account/service-accounts/ci-bot"');
    expect(page).toMatch(/data-label="Live tokens">1</);
    expect(page).not.toContain("other-bot");
    expect(page).not.toContain("orphan-bot");
    expectEscaped(page);
    const root = await Browser.signIn(t.app, "root", "root-password");
    expect((await root.get("/account/tokens")).body).not.toContain("Service accounts I manage");
  });

  it("lets the owner generate, use, rotate and revoke the account's tokens", async () => {
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const page = await alice.get("/account/service-accounts/ci-bot");
    expect(page.statusCode).toBe(200);
    expectEscaped(page.body);
    expect(page.body).toContain("This account has no live tokens.");
    expect(page.body).toContain('action="/account/service-accounts/ci-bot/tokens"');

    const bad = await alice.post("/account/service-accounts/ci-bot/tokens", {
      name: "x",
      expiresInDays: "0",
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain("Expires in must be");
    expect(bad.body).toMatch(/<details class="add-token" open>/);

    const created = await alice.post("/account/service-accounts/ci-bot/tokens", {
      name: "nightly",
      allowedCidrs: "127.0.0.1",
    });
    expect(created.statusCode).toBe(200);
    expect(created.headers["cache-control"]).toBe("no-store");
    expect(created.body).toContain("for ci-bot");
    expect(created.body).toContain('href="/account/service-accounts/ci-bot"');
    const value = TOKEN_VALUE.exec(created.body)![0];
    expect((await use("ci-bot", value)).json().name).toBe("ci-bot");
    const [token] = await t.services.tokens.list("ci-bot");
    expect(token).toMatchObject({ name: "nightly", allowedCidrs: ["127.0.0.1/32"] });
    const listed = (await alice.get("/account/service-accounts/ci-bot")).body;
    expect(listed).not.toContain(value);
    expect(listed).toContain(`href="/account/service-accounts/ci-bot/tokens/${token!.id}/addresses"`);
    expect(
      (await alice.get(`/account/service-accounts/ci-bot/tokens/${token!.id}/addresses`)).body,
    ).toContain("<code>127.0.0.1</code>");

    const rotated = await alice.post(`/account/service-accounts/ci-bot/tokens/${token!.id}/rotate`, {
      graceSeconds: "0",
    });
    expect(rotated.statusCode).toBe(200);
    const next = TOKEN_VALUE.exec(rotated.body)![0];
    expect((await use("ci-bot", value)).statusCode).toBe(401);
    expect((await use("ci-bot", next)).statusCode).toBe(200);

    const [current] = await t.services.tokens.list("ci-bot");
    const confirm = await alice.get(`/account/service-accounts/ci-bot/tokens/${current!.id}/revoke`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain("of <strong>ci-bot</strong>");
    expect((await use("ci-bot", next)).statusCode).toBe(200);
    const revoked = await alice.post(`/account/service-accounts/ci-bot/tokens/${current!.id}/revoke`);
    expect(revoked.statusCode).toBe(303);
    expect(revoked.headers.location).toBe("/account/service-accounts/ci-bot?done=revoked");
    expect((await use("ci-bot", next)).statusCode).toBe(401);
  });

  it("warns the owner of the account's expiring tokens, naming the account", async () => {
    const { id } = await t.addToken("ci-bot", { name: "deploy", expiresInSeconds: 6 * 86400 });
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const mine = (await alice.get("/account/tokens")).body;
    expect(mine).toMatch(
      /<strong>ci-bot<\/strong>: “<span class="token-name">deploy<\/span>” expires in 6 days/,
    );
    expect(mine).toContain(`href="/account/service-accounts/ci-bot/tokens/${id}/rotate"`);
    const theirs = (await alice.get("/account/service-accounts/ci-bot")).body;
    expect(theirs).toContain("expires in 6 days");
  });

  it("is not found for anyone but the owner, administrators included", async () => {
    const foreign = await t.addToken("other-bot");
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const bob = await Browser.signIn(t.app, "bob", "bob-password");
    const root = await Browser.signIn(t.app, "root", "root-password");
    for (const [who, url] of [
      [alice, "/account/service-accounts/other-bot"],
      [alice, "/account/service-accounts/orphan-bot"],
      [alice, "/account/service-accounts/bob"],
      [alice, "/account/service-accounts/nobody"],
      [bob, "/account/service-accounts/ci-bot"],
      [root, "/account/service-accounts/ci-bot"],
      [alice, `/account/service-accounts/ci-bot/tokens/${foreign.id}/revoke`],
      [alice, `/account/service-accounts/ci-bot/tokens/${foreign.id}/addresses`],
      [alice, `/account/service-accounts/other-bot/tokens/${foreign.id}/rotate`],
    ] as const) {
      expect((await who.get(url)).statusCode, url).toBe(404);
    }
    expect((await bob.post("/account/service-accounts/ci-bot/tokens", { name: "sneaky" })).statusCode).toBe(
      404,
    );
    expect(
      (await alice.post(`/account/service-accounts/ci-bot/tokens/${foreign.id}/revoke`)).statusCode,
    ).toBe(404);
    expect(await t.services.tokens.list("ci-bot")).toHaveLength(0);
    expect(await t.services.tokens.list("other-bot")).toHaveLength(1);
  });
});

describe("token policy: notifications", () => {
  it("shows and saves the address granularity and the warning days", async () => {
    const root = await Browser.signIn(t.app, "root", "root-password");
    const form = await root.get("/manage/settings");
    expect(form.body).toContain('<option value="address" selected>');
    expect(form.body).toContain('name="expiryWarningDays" type="text" inputmode="numeric" value="14, 7, 1"');
    const saved = await root.post("/manage/settings", {
      ...settingsFields(),
      newAddressGranularity: "subnet",
      expiryWarningDays: "7 30,1",
    });
    expect(saved.statusCode).toBe(303);
    expect(t.services.deps.settings.current).toMatchObject({
      newAddressGranularity: "subnet",
      expiryWarningDays: [30, 7, 1],
    });
    const [event] = await t.store.queryAudit({ action: "settings.updated", limit: 1 });
    expect(event!.details).toEqual({
      changed: { newAddressGranularity: "subnet", expiryWarningDays: [30, 7, 1] },
      from: { newAddressGranularity: "address", expiryWarningDays: [14, 7, 1] },
    });
    expect((await root.get("/manage/settings")).body).toContain('value="30, 7, 1"');

    // Saving the form unchanged records nothing.
    const events = (await t.store.queryAudit({ action: "settings.updated", limit: 10 })).length;
    await root.post("/manage/settings", {
      ...settingsFields(),
      newAddressGranularity: "subnet",
      expiryWarningDays: "30, 7, 1",
    });
    expect(await t.store.queryAudit({ action: "settings.updated", limit: 10 })).toHaveLength(events);
  });

  it("explains bad values on the form, keeping what was typed", async () => {
    const root = await Browser.signIn(t.app, "root", "root-password");
    for (const [days, message] of [
      ["7, soon", "whole numbers of days separated by commas"],
      ["0", "each from 1 to 365"],
      ["400", "each from 1 to 365"],
      ["1 2 3 4 5 6 7 8 9 10 11", "at most 10 numbers"],
    ]) {
      const bad = await root.post("/manage/settings", { ...settingsFields(), expiryWarningDays: days! });
      expect(bad.statusCode, days).toBe(400);
      expect(bad.body, days).toContain(message);
      expect(bad.body).toContain(`value="${days}"`);
    }
    const granularity = await root.post("/manage/settings", {
      ...settingsFields(),
      newAddressGranularity: XSS,
    });
    expect(granularity.statusCode).toBe(400);
    expect(granularity.body).toContain("choose an address or a network");
    const xss = await root.post("/manage/settings", { ...settingsFields(), expiryWarningDays: XSS });
    expect(xss.statusCode).toBe(400);
    expectEscaped(xss.body);
    expect(t.services.deps.settings.current.expiryWarningDays).toEqual([14, 7, 1]);
  });
});

describe("webhooks", () => {
  async function addWebhook(root: Browser, fields: Record<string, string | string[]>) {
    const list = await root.get("/manage/webhooks");
    const nonce = /name="nonce" value="([^"]+)"/.exec(list.body)![1]!;
    return { nonce, response: await root.post("/manage/webhooks", { nonce, ...fields }) };
  }

  it("adds a webhook and shows its secret once, in the POST response only", async () => {
    const root = await Browser.signIn(t.app, "root", "root-password");
    expect((await root.get("/manage/webhooks")).body).toContain("No webhooks yet.");
    const { nonce, response } = await addWebhook(root, {
      url: "https://hooks.example.com/steward",
      events: ["token.expiring", "token.used.new-ip"],
      moreEvents: "user.*, token.revoked",
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers["cache-control"]).toBe("no-store");
    expect(response.body).toContain("it will not be shown again");
    const secret = SECRET.exec(response.body)![0];
    const [webhook] = await t.services.webhooks.list();
    expect(webhook).toMatchObject({
      url: "https://hooks.example.com/steward",
      events: ["token.expiring", "token.used.new-ip", "user.*", "token.revoked"],
      secret,
    });

    const list = await root.get("/manage/webhooks");
    expect(list.body).toContain("https://hooks.example.com/steward");
    expect(list.body).toContain("<code>user.*</code>");
    expect(list.body).not.toContain(secret);
    expect((await root.get(`/manage/webhooks/${webhook!.id}`)).body).not.toContain(secret);

    // A reload of the result sends the same form again: no second webhook, no secret.
    const again = await root.post("/manage/webhooks", { nonce, url: "https://hooks.example.com/steward" });
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain("already submitted");
    expect(again.body).not.toMatch(SECRET);
    expect(await t.services.webhooks.list()).toHaveLength(1);
  });

  it("explains a bad URL or event filter on the form, escaped, with the values typed", async () => {
    const root = await Browser.signIn(t.app, "root", "root-password");
    const scheme = await addWebhook(root, { url: `javascript:${XSS}`, events: ["*"] });
    expect(scheme.response.statusCode).toBe(400);
    expect(scheme.response.body).toContain("must start with http:// or https://");
    expect(scheme.response.body).toContain(`value="javascript:${XSS_ESCAPED}"`);
    expectEscaped(scheme.response.body);
    expect(scheme.response.body).toMatch(/<details class="add-token" open>/);
    expect(scheme.response.body).toMatch(/value="\*" checked/);

    const credentials = await addWebhook(root, { url: "https://user:pw@example.com/", events: ["*"] });
    expect(credentials.response.statusCode).toBe(400);
    expect(credentials.response.body).toContain("must not contain a user name or password");

    const none = await addWebhook(root, { url: "https://example.com/" });
    expect(none.response.statusCode).toBe(400);
    expect(none.response.body).toContain("Choose at least one event");

    const filter = await addWebhook(root, { url: "https://example.com/", moreEvents: XSS });
    expect(filter.response.statusCode).toBe(400);
    expect(filter.response.body).toContain("is not an event name");
    expectEscaped(filter.response.body);
    expect(await t.services.webhooks.list()).toHaveLength(0);
    // A rejected form can be corrected and sent again with the same nonce.
    const fixed = await root.post("/manage/webhooks", {
      nonce: filter.nonce,
      url: "https://example.com/",
      events: "token.*",
    });
    expect(fixed.statusCode).toBe(200);
  });

  it("queues a test delivery and shows the delivery log: status, attempts, last answer, next attempt", async () => {
    const { webhook } = await t.services.webhooks.create(SYSTEM_ACTOR, {
      url: "https://hooks.example.com/in",
      events: ["token.revoked"],
    });
    const root = await Browser.signIn(t.app, "root", "root-password");
    const empty = await root.get(`/manage/webhooks/${webhook.id}`);
    expect(empty.body).toContain("Nothing was sent to this webhook yet.");
    expect(empty.body).toContain(`action="/manage/webhooks/${webhook.id}/test"`);

    const tested = await root.post(`/manage/webhooks/${webhook.id}/test`);
    expect(tested.statusCode).toBe(303);
    expect(tested.headers.location).toBe(`/manage/webhooks/${webhook.id}?done=webhook-tested`);
    const queued = await root.get(tested.headers.location as string);
    expect(queued.body).toContain("A test delivery was queued.");
    expect(queued.body).toContain("<code>webhook.tested</code>");
    expect(queued.body).toMatch(/<span class="badge warning">pending<\/span>/);
    expect(queued.body).toContain("not tried yet");

    // One failed attempt, as the background sender records it (no network in this test).
    const [claimed] = await t.store.claimDeliveries(t.clock.now(), 10, 60_000);
    await t.store.finishDelivery(claimed!.delivery.id, {
      at: t.clock.now(),
      status: "pending",
      nextAttemptAt: t.clock.now() + 2000,
      lastStatus: 500,
      lastError: "HTTP 500",
    });
    const failed = (await root.get(`/manage/webhooks/${webhook.id}`)).body;
    expect(failed).toMatch(/data-label="Attempts">1</);
    expect(failed).toContain("HTTP 500");
    expect(failed).toMatch(/data-label="Next attempt"><time datetime="2026-11-01T12:00:02/);
    await t.store.finishDelivery(claimed!.delivery.id, {
      at: t.clock.now(),
      status: "delivered",
      nextAttemptAt: null,
      lastStatus: 204,
      lastError: null,
    });
    const delivered = (await root.get(`/manage/webhooks/${webhook.id}`)).body;
    expect(delivered).toMatch(/<span class="badge">delivered<\/span>/);
    expect(delivered).toContain("HTTP 204");
  });

  it("pages the delivery log", async () => {
    const { webhook } = await t.services.webhooks.create(SYSTEM_ACTOR, {
      url: "https://hooks.example.com/in",
      events: ["*"],
    });
    for (let i = 0; i < 30; i++) await t.services.webhooks.test(SYSTEM_ACTOR, webhook.id);
    const root = await Browser.signIn(t.app, "root", "root-password");
    const first = await root.get(`/manage/webhooks/${webhook.id}`);
    expect(first.body.match(/<code>webhook.tested<\/code>/g)!.length).toBe(25);
    const older = /href="([^"]*\?before=\d+)">Older deliveries/.exec(first.body)![1]!;
    const second = await root.get(older);
    expect(second.body).toContain("Newest deliveries");
    expect(second.body).not.toContain("Older deliveries");
    expect((await root.get(`/manage/webhooks/${webhook.id}?before=${XSS}`)).statusCode).toBe(200);
  });

  it("deletes a webhook only after a confirmation", async () => {
    const { webhook } = await t.services.webhooks.create(SYSTEM_ACTOR, {
      url: "https://hooks.example.com/bye",
      events: ["*"],
    });
    const root = await Browser.signIn(t.app, "root", "root-password");
    const confirm = await root.get(`/manage/webhooks/${webhook.id}/delete`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain(
      'Delete the webhook for <strong class="url">https://hooks.example.com/bye</strong>',
    );
    expect(await t.services.webhooks.list()).toHaveLength(1);
    const deleted = await root.post(`/manage/webhooks/${webhook.id}/delete`);
    expect(deleted.statusCode).toBe(303);
    expect(deleted.headers.location).toBe("/manage/webhooks?done=webhook-deleted");
    expect((await root.get("/manage/webhooks?done=webhook-deleted")).body).toContain(
      "The webhook was deleted",
    );
    expect(await t.services.webhooks.list()).toHaveLength(0);
    expect((await root.get(`/manage/webhooks/${webhook.id}`)).statusCode).toBe(404);
    expect((await root.post(`/manage/webhooks/${webhook.id}/delete`)).statusCode).toBe(404);
  });

  it("is for administrators only", async () => {
    const { webhook } = await t.services.webhooks.create(SYSTEM_ACTOR, {
      url: "https://x.example/",
      events: ["*"],
    });
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    for (const url of [
      "/manage/webhooks",
      `/manage/webhooks/${webhook.id}`,
      `/manage/webhooks/${webhook.id}/delete`,
    ]) {
      expect((await alice.get(url)).statusCode, url).toBe(403);
    }
    expect(
      (await alice.post("/manage/webhooks", { url: "https://evil.example/", events: "*" })).statusCode,
    ).toBe(403);
    expect((await alice.post(`/manage/webhooks/${webhook.id}/delete`)).statusCode).toBe(403);
    expect(await t.services.webhooks.list()).toHaveLength(1);
  });
});

describe("forms and crumbs of the new pages", () => {
  it("covers every new POST route in the UI crumb test", () => {
    const routes = uiPostRoutes(t.services);
    for (const route of [
      "/account/tokens/:id/rotate",
      "/account/tokens/:id/revoke",
      "/account/service-accounts/:id/tokens",
      "/account/service-accounts/:id/tokens/:tokenId/rotate",
      "/account/service-accounts/:id/tokens/:tokenId/revoke",
      "/manage/webhooks",
      "/manage/webhooks/:id/test",
      "/manage/webhooks/:id/delete",
    ]) {
      expect(routes).toContain(route);
    }
  });

  it("puts the session's crumb in every form of every new page", async () => {
    await serviceAccount("ci-bot", "root");
    const { id } = await t.addToken("root");
    const sa = await t.addToken("ci-bot");
    const { webhook } = await t.services.webhooks.create(SYSTEM_ACTOR, {
      url: "https://x.example/",
      events: ["*"],
    });
    const root = await Browser.signIn(t.app, "root", "root-password");
    const crumb = await root.crumb();
    for (const url of [
      `/account/tokens/${id}/rotate`,
      `/account/tokens/${id}/revoke`,
      "/account/service-accounts/ci-bot",
      `/account/service-accounts/ci-bot/tokens/${sa.id}/rotate`,
      `/account/service-accounts/ci-bot/tokens/${sa.id}/revoke`,
      "/manage/webhooks",
      `/manage/webhooks/${webhook.id}`,
      `/manage/webhooks/${webhook.id}/delete`,
      "/manage/settings",
    ]) {
      const page = await root.get(url);
      expect(page.statusCode, url).toBe(200);
      expectCrumbInEveryForm(page.body, crumb, url);
    }
    // The addresses pages have nothing to send.
    expect((await root.get(`/account/tokens/${id}/addresses`)).statusCode).toBe(200);
    expect((await root.get(`/manage/users/ci-bot/tokens/${sa.id}/addresses`)).statusCode).toBe(200);
  });
});

function settingsFields(): Record<string, string> {
  return {
    maxTokenLifetime: "",
    defaultTokenLifetime: "",
    maxRotationGrace: "1w",
    usageStatisticsEnabled: "on",
    passwordBasicAuthEnabled: "on",
    newAddressGranularity: "address",
    expiryWarningDays: "14, 7, 1",
  };
}
