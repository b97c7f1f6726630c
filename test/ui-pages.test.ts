import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { basic, createTestApp, SYSTEM_ACTOR, type TestApp } from "./support/harness.js";
import { Browser, expectEscaped, FORM, TOKEN_VALUE, uiPostRoutes, XSS } from "./support/page-browser.js";

let t: TestApp;

beforeEach(async () => {
  t = await createTestApp();
  await t.addUser("alice", "alice-password");
  await t.addUser("root", "root-password", { admin: true });
});
afterEach(async () => t.close());

describe("signing in", () => {
  it("sends anonymous visitors of account and manage pages to the sign-in form, and back", async () => {
    for (const url of ["/account/tokens", "/manage/users?q=a", "/account/password"]) {
      const response = await t.app.inject({ method: "GET", url });
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe(`/login?from=${encodeURIComponent(url)}`);
      expect(response.headers["www-authenticate"]).toBeUndefined();
    }
  });

  it("refuses API credentials on the pages: changes through pages always need a session and its crumb", async () => {
    const { value } = await t.addToken("alice");
    const page = await t.app.inject({
      method: "GET",
      url: "/account/tokens",
      headers: { authorization: basic("alice", value) },
    });
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain("browser sign-in");
    const post = await t.app.inject({
      method: "POST",
      url: "/account/tokens",
      headers: { authorization: basic("alice", value), ...FORM },
      payload: "name=sneaky",
    });
    expect(post.statusCode).toBe(403);
    expect(await t.services.tokens.list("alice")).toHaveLength(1);
  });

  it("sets a session cookie that is HttpOnly and SameSite=Lax", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/j_spring_security_check",
      headers: FORM,
      payload: "j_username=alice&j_password=alice-password&from=/account/tokens",
    });
    const cookie = response.cookies.find((c) => c.name === "steward_session")!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe("Lax");
    expect(response.headers.location).toBe("/account/tokens");
  });
});

describe("my API tokens", () => {
  it("shows the value once, in the POST response only, never on a GET or a resubmission", async () => {
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const list = await alice.get("/account/tokens");
    expect(list.statusCode).toBe(200);
    expect(list.headers["cache-control"]).toBe("no-store");
    expect(list.body).toContain("Add new Token");
    const nonce = /name="nonce" value="([^"]+)"/.exec(list.body)![1]!;

    const created = await alice.post("/account/tokens", { name: "deploy", nonce, scopes: ["jenkins:api"] });
    expect(created.statusCode).toBe(200);
    expect(created.headers["cache-control"]).toBe("no-store");
    expect(created.body).toContain("will not be shown again");
    expect(created.body).toContain('data-copy="token-value"');
    const value = TOKEN_VALUE.exec(created.body)![0];

    const after = await alice.get("/account/tokens");
    expect(after.body).toContain("deploy");
    expect(after.body).not.toContain(value);
    expect(after.body).not.toMatch(TOKEN_VALUE);

    // A reload of the result re-sends the same form: nothing new is generated, no value is shown.
    const again = await alice.post("/account/tokens", { name: "deploy", nonce, scopes: ["jenkins:api"] });
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain("already submitted");
    expect(again.body).not.toMatch(TOKEN_VALUE);
    const tokens = await t.services.tokens.list("alice");
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.scopes).toEqual(["jenkins:api"]);

    const who = await t.app.inject({
      method: "GET",
      url: "/whoAmI/api/json",
      headers: { authorization: basic("alice", value) },
    });
    expect(who.json().name).toBe("alice");
  });

  it("gives no scopes ticked the owner's full permissions, and an expiry in days", async () => {
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const created = await alice.post("/account/tokens", { name: "ci", expiresInDays: "30" });
    expect(created.statusCode).toBe(200);
    const [token] = await t.services.tokens.list("alice");
    expect(token!.scopes).toBeNull();
    expect(token!.expiresAt).toBe(t.clock.now() + 30 * 86400_000);
  });

  it("shows form errors on the page with the values typed", async () => {
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const badDays = await alice.post("/account/tokens", { name: "keep me", expiresInDays: "-3" });
    expect(badDays.statusCode).toBe(400);
    expect(badDays.body).toContain("Expires in must be a whole number of days");
    expect(badDays.body).toContain('value="keep me"');
    expect(badDays.body).toMatch(/<details class="add-token" open>/);
    const tooLong = await alice.post("/account/tokens", { name: "x".repeat(101) });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.body).toContain("at most 100 characters");
    expect(await t.services.tokens.list("alice")).toHaveLength(0);
  });

  it("counts uses, including those not yet written to the database", async () => {
    const { value } = await t.addToken("alice", { name: "counted" });
    for (let i = 0; i < 3; i++) {
      await t.app.inject({
        method: "GET",
        url: "/whoAmI/api/json",
        headers: { authorization: basic("alice", value) },
      });
    }
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const page = await alice.get("/account/tokens");
    expect(page.body).toMatch(/data-label="Uses">3</);
    expect(page.body).not.toMatch(/data-label="Last used">never/);
  });

  it("renames a token; a bad name is explained on the page", async () => {
    const { id } = await t.addToken("alice", { name: "old" });
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const renamed = await alice.post(`/account/tokens/${id}/rename`, { newName: "new name" });
    expect(renamed.statusCode).toBe(303);
    expect(renamed.headers.location).toBe("/account/tokens?done=renamed");
    const page = await alice.get("/account/tokens?done=renamed");
    expect(page.body).toContain("The token was renamed.");
    expect(page.body).toContain("new name");
    const bad = await alice.post(`/account/tokens/${id}/rename`, { newName: "a\u0007b" });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain("control characters");
  });

  it("revokes only after a confirmation page, and only one's own tokens", async () => {
    const { id, value } = await t.addToken("alice", { name: "doomed" });
    const other = await t.addToken("root", { name: "not yours" });
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const confirm = await alice.get(`/account/tokens/${id}/revoke`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain("Revoke the token");
    expect(confirm.body).toContain(`action="/account/tokens/${id}/revoke"`);
    expect(await t.services.tokens.list("alice")).toHaveLength(1); // a GET changes nothing

    const revoked = await alice.post(`/account/tokens/${id}/revoke`);
    expect(revoked.statusCode).toBe(303);
    expect(await t.services.tokens.list("alice")).toHaveLength(0);
    const who = await t.app.inject({
      method: "GET",
      url: "/whoAmI/api/json",
      headers: { authorization: basic("alice", value) },
    });
    expect(who.statusCode).toBe(401);

    expect((await alice.get(`/account/tokens/${other.id}/revoke`)).statusCode).toBe(404);
    expect((await alice.post(`/account/tokens/${other.id}/revoke`)).statusCode).toBe(404);
    expect((await alice.post(`/account/tokens/${other.id}/rename`, { newName: "mine" })).statusCode).toBe(
      404,
    );
    expect(await t.services.tokens.list("root")).toHaveLength(1);
  });
});

describe("escaping", () => {
  it(`shows a token named ${XSS} as text on every page that shows it`, async () => {
    const { id } = await t.addToken("alice", { name: XSS });
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const root = await Browser.signIn(t.app, "root", "root-password");
    const pages = [
      await alice.get("/account/tokens"),
      await alice.get(`/account/tokens/${id}/revoke`),
      await alice.post("/account/tokens", { name: XSS }),
      await alice.post(`/account/tokens/${id}/rename`, { newName: `${XSS}${"x".repeat(100)}` }),
      await root.get("/manage/users/alice"),
      await root.get(`/manage/users/alice/tokens/${id}/revoke`),
      await root.get("/manage/audit?action=token.created"),
    ];
    for (const page of pages) {
      expect(page.headers["content-type"]).toContain("text/html");
      expectEscaped(page.body);
    }
  });

  it("shows users' names and ids as text in the navigation, lists and confirmations", async () => {
    await t.services.users.create(SYSTEM_ACTOR, {
      id: "mallory",
      fullName: XSS,
      email: "m@example.com",
      password: "mallory-password",
    });
    const mallory = await Browser.signIn(t.app, "mallory", "mallory-password");
    expectEscaped((await mallory.get("/account/tokens")).body);
    const root = await Browser.signIn(t.app, "root", "root-password");
    expectEscaped((await root.get("/manage/users")).body);
    expectEscaped((await root.get("/manage/users/mallory")).body);
    expectEscaped((await root.get("/manage/users/mallory/delete")).body);
    const search = await root.get(`/manage/users?q=${encodeURIComponent(XSS)}`);
    expectEscaped(search.body);
    const audit = await root.get(
      `/manage/audit?user=${encodeURIComponent(XSS)}&action=${encodeURIComponent(XSS)}`,
    );
    expectEscaped(audit.body);
  });

  it("reflects nothing from ?done= and escapes what the new-user form sends back", async () => {
    const root = await Browser.signIn(t.app, "root", "root-password");
    const page = await root.get(`/account/tokens?done=${encodeURIComponent(XSS)}`);
    expect(page.body).not.toContain("img");
    const bad = await root.post("/manage/new-user", {
      kind: "user",
      id: XSS,
      fullName: XSS,
      password: "p".repeat(9),
    });
    expect(bad.statusCode).toBe(400);
    expectEscaped(bad.body);
  });
});

describe("crumbs", () => {
  it("refuses every UI POST without a valid crumb, with a helpful page, changing nothing", async () => {
    const { id } = await t.addToken("alice", { name: "keep" });
    const root = await Browser.signIn(t.app, "root", "root-password");
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const routes = uiPostRoutes(t.services);
    expect(routes.length).toBeGreaterThanOrEqual(15);
    // Refusals may be recorded as "denied" events (possible CSRF); nothing else may be written.
    const changes = async () =>
      (await t.store.queryAudit({ limit: 1000 })).filter((e) => e.outcome !== "denied");
    const before = await changes();
    for (const route of routes) {
      const url = route.replace(":tokenId", id).replace(":id", route.startsWith("/account") ? id : "alice");
      const who = route.startsWith("/account") ? alice : root;
      const fields = {
        name: "x",
        newName: "x",
        password: "new-password-1",
        confirm: "new-password-1",
        users: "alice",
      };
      for (const crumb of [null, "0".repeat(64), await alice.crumb()]) {
        // Alice's crumb is valid for alice's session only, never for root's; root gets its own below.
        if (who === alice && crumb !== null && crumb !== "0".repeat(64)) continue;
        const response = await who.post(url, fields, { crumb });
        expect(response.statusCode, `${route} with crumb ${crumb}`).toBe(403);
        expect(response.headers["content-type"]).toContain("text/html");
        expect(response.body).toContain("No valid crumb was included in the request");
        expect(response.body).toContain("reload the page");
      }
    }
    expect(await changes()).toEqual(before);
    expect((await t.services.tokens.list("alice"))[0]!.name).toBe("keep");
  });

  it("puts the session's crumb in every form of every page", async () => {
    await t.addToken("alice");
    const root = await Browser.signIn(t.app, "root", "root-password");
    const crumb = await root.crumb();
    const urls = [
      "/account/tokens",
      "/account/password",
      "/manage",
      "/manage/users",
      "/manage/new-user",
      "/manage/new-user?kind=service",
      "/manage/users/alice",
      "/manage/users/alice/delete",
      "/manage/users/alice/tokens/revoke-all",
      "/manage/settings",
    ];
    for (const url of urls) {
      const page = await root.get(url);
      expect(page.statusCode, url).toBe(200);
      const posts = page.body.match(/<form method="post"[\s\S]*?<\/form>/g) ?? [];
      expect(posts.length, url).toBeGreaterThan(0);
      for (const form of posts) expect(form, url).toContain(`name="Jenkins-Crumb" value="${crumb}"`);
    }
  });
});

describe("administration", () => {
  it("refuses every manage page and action to non-admins with a 403 page", async () => {
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    for (const url of [
      "/manage",
      "/manage/users",
      "/manage/users/root",
      "/manage/settings",
      "/manage/audit",
      "/manage/legacy-tokens",
      "/manage/new-user",
    ]) {
      const page = await alice.get(url);
      expect(page.statusCode, url).toBe(403);
      expect(page.headers["content-type"]).toContain("text/html");
      expect(page.body).toContain("Overall/Administer");
    }
    const changes = async () =>
      (await t.store.queryAudit({ limit: 1000 })).filter((e) => e.outcome !== "denied");
    const before = await changes();
    for (const route of uiPostRoutes(t.services).filter((r) => r.startsWith("/manage"))) {
      const url = route.replace(":id", "root").replace(":tokenId", "x");
      const response = await alice.post(url, {
        id: "eve",
        password: "eve-password",
        admin: "on",
        users: "root",
      });
      expect(response.statusCode, route).toBe(403);
    }
    expect(await changes()).toEqual(before);
    expect(await t.store.getUser("eve")).toBeNull();
    expect((await alice.get("/account/tokens")).body).not.toContain('href="/manage"');
  });

  it("creates users and service accounts, with errors on the form", async () => {
    const root = await Browser.signIn(t.app, "root", "root-password");
    const created = await root.post("/manage/new-user", {
      kind: "user",
      id: "bob",
      fullName: "Bob B",
      email: "bob@example.com",
      password: "bob-password",
      admin: "on",
    });
    expect(created.statusCode).toBe(303);
    expect(created.headers.location).toBe("/manage/users/bob?done=user-created");
    const bob = await t.store.getUser("bob");
    expect(bob).toMatchObject({ fullName: "Bob B", roles: ["admin", "user"], kind: "user" });
    await Browser.signIn(t.app, "bob", "bob-password");

    const duplicate = await root.post("/manage/new-user", {
      kind: "user",
      id: "BOB",
      password: "whatever-1",
    });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.body).toContain("already exists");
    const noPassword = await root.post("/manage/new-user", { kind: "user", id: "carol" });
    expect(noPassword.statusCode).toBe(400);
    expect(noPassword.body).toContain("needs a password");

    const service = await root.post("/manage/new-user", { kind: "service", id: "ci-bot", ownerId: "alice" });
    expect(service.statusCode).toBe(303);
    expect(await t.store.getUser("ci-bot")).toMatchObject({
      kind: "service",
      ownerId: "alice",
      passwordHash: null,
    });
    const badOwner = await root.post("/manage/new-user", { kind: "service", id: "bot2", ownerId: "nobody" });
    expect(badOwner.statusCode).toBe(400);
    expect(badOwner.body).toContain("owner must be an existing");
  });

  it("searches and pages the user list", async () => {
    for (let i = 0; i < 30; i++)
      await t.services.users.create(SYSTEM_ACTOR, { id: `user${String(i).padStart(2, "0")}` });
    const root = await Browser.signIn(t.app, "root", "root-password");
    const first = await root.get("/manage/users");
    expect(first.body).toContain(">alice<");
    const next = /href="(\/manage\/users\?after=[^"]+)">Next page/
      .exec(first.body)![1]!
      .replace(/&amp;/g, "&");
    const second = await root.get(next);
    expect(second.body).toContain(">user29<");
    expect(second.body).not.toContain(">alice<");
    expect(second.body).toContain("First page");
    const search = await root.get("/manage/users?q=user1&kind=user");
    expect(search.body).toContain(">user15<");
    expect(search.body).not.toContain(">user20<");
    expect((await root.get("/manage/users?kind=service")).body).toContain("No account matches.");
  });

  it("changes roles, disables and enables, sets a password, and deletes after confirmation", async () => {
    const root = await Browser.signIn(t.app, "root", "root-password");
    expect((await root.post("/manage/users/alice/roles", { admin: "on" })).statusCode).toBe(303);
    expect((await t.store.getUser("alice"))!.roles).toEqual(["admin", "user"]);
    expect((await root.post("/manage/users/alice/roles", {})).statusCode).toBe(303);
    expect((await t.store.getUser("alice"))!.roles).toEqual(["user"]);

    const { value } = await t.addToken("alice");
    expect((await root.post("/manage/users/alice/disable")).statusCode).toBe(303);
    const refused = await t.app.inject({
      method: "GET",
      url: "/me/api/json",
      headers: { authorization: basic("alice", value) },
    });
    expect(refused.statusCode).toBe(401);
    expect((await root.get("/manage/users/alice?done=disabled")).body).toContain("was disabled");
    expect((await root.post("/manage/users/alice/enable")).statusCode).toBe(303);
    expect((await t.store.getUser("alice"))!.disabled).toBe(false);

    const mismatch = await root.post("/manage/users/alice/password", {
      password: "fresh-password",
      confirm: "other",
    });
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.body).toContain("differ");
    expect(
      (
        await root.post("/manage/users/alice/password", {
          password: "fresh-password",
          confirm: "fresh-password",
        })
      ).statusCode,
    ).toBe(303);
    await Browser.signIn(t.app, "alice", "fresh-password");

    // The last admin cannot demote or disable itself; the message is on the page.
    const lastAdmin = await root.post("/manage/users/root/roles", {});
    expect(lastAdmin.statusCode).toBe(409);
    expect(lastAdmin.body).toContain("last administrator");
    expect((await root.get("/manage/users/root/delete")).statusCode).toBe(409);

    const confirm = await root.get("/manage/users/alice/delete");
    expect(confirm.body).toContain("Delete");
    expect(await t.store.getUser("alice")).not.toBeNull();
    const deleted = await root.post("/manage/users/alice/delete");
    expect(deleted.statusCode).toBe(303);
    expect(deleted.headers.location).toBe("/manage/users?done=user-deleted");
    expect(await t.store.getUser("alice")).toBeNull();
    expect((await root.get("/manage/users/alice")).statusCode).toBe(404);
  });

  it("revokes one token or all tokens of a user after confirmation", async () => {
    const one = await t.addToken("alice", { name: "one" });
    await t.addToken("alice", { name: "two" });
    await t.addToken("alice", { name: "three" });
    const root = await Browser.signIn(t.app, "root", "root-password");
    const page = await root.get("/manage/users/alice");
    expect(page.body).toContain(`/manage/users/alice/tokens/${one.id}/revoke`);
    expect((await root.get(`/manage/users/alice/tokens/${one.id}/revoke`)).body).toContain(
      "Revoke the token",
    );
    expect((await root.post(`/manage/users/alice/tokens/${one.id}/revoke`)).statusCode).toBe(303);
    expect((await t.services.tokens.list("alice")).map((x) => x.name).sort()).toEqual(["three", "two"]);
    expect((await root.get("/manage/users/alice/tokens/revoke-all")).body).toContain(
      "Revoke all 2 live tokens",
    );
    expect((await root.post("/manage/users/alice/tokens/revoke-all")).statusCode).toBe(303);
    expect(await t.services.tokens.list("alice")).toHaveLength(0);
    // A token of someone else through alice's path: 404.
    const other = await t.addToken("root");
    expect((await root.post(`/manage/users/alice/tokens/${other.id}/revoke`)).statusCode).toBe(404);
  });

  it("generates a token for another user only when the policy allows it", async () => {
    const root = await Browser.signIn(t.app, "root", "root-password");
    expect((await root.get("/manage/users/alice")).body).not.toContain("Add new Token");
    const refused = await root.post("/manage/users/alice/tokens", { name: "for alice" });
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain("Only the owner");
    expect(await t.services.tokens.list("alice")).toHaveLength(0);

    expect(
      (await root.post("/manage/settings", { ...settingsFields(), adminCanGenerateTokensForOthers: "on" }))
        .statusCode,
    ).toBe(303);
    expect((await root.get("/manage/users/alice")).body).toContain("Add new Token");
    const created = await root.post("/manage/users/alice/tokens", { name: "for alice" });
    expect(created.statusCode).toBe(200);
    expect(created.body).toMatch(TOKEN_VALUE);
    expect((await root.get("/manage/users/alice")).body).not.toMatch(TOKEN_VALUE);
  });

  it("lists legacy-token holders and revokes their tokens in bulk", async () => {
    await t.updateSettings({ legacyTokensEnabled: true });
    for (const id of ["alice", "root"])
      await t.services.tokens.replaceLegacy(SYSTEM_ACTOR, await t.services.users.get(id));
    await t.addToken("alice", { name: "modern" });
    const root = await Browser.signIn(t.app, "root", "root-password");
    // Every page tells an admin (never a plain user) while legacy tokens exist, as Jenkins' monitor does.
    const notice = "2 users still hold a legacy API token";
    for (const url of ["/", "/account/tokens", "/manage", "/manage/users"]) {
      expect((await root.get(url)).body, url).toContain(notice);
    }
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    expect((await alice.get("/account/tokens")).body).not.toContain("legacy API token");
    const page = await root.get("/manage/legacy-tokens");
    expect(page.body).toContain("2 users hold a legacy token");
    expect(page.body).toContain('name="users" value="alice"');
    expect((await root.post("/manage/legacy-tokens/revoke", { users: ["alice", "root"] })).statusCode).toBe(
      303,
    );
    expect((await root.get("/manage/legacy-tokens?done=legacy-revoked")).body).toContain(
      "No user holds a legacy token.",
    );
    expect((await root.get("/manage")).body).not.toContain("legacy API token");
    expect((await t.services.tokens.list("alice")).map((x) => x.name)).toEqual(["modern"]);
  });

  it("saves the token policy, applies it at once, and explains bad values", async () => {
    const root = await Browser.signIn(t.app, "root", "root-password");
    const form = await root.get("/manage/settings");
    expect(form.body).toContain('value="1w"'); // the default 7-day grace, in the shortest exact unit
    const saved = await root.post("/manage/settings", {
      ...settingsFields(),
      maxTokenLifetime: "90d",
      defaultTokenLifetime: "30d",
    });
    expect(saved.statusCode).toBe(303);
    expect(t.services.deps.settings.current).toMatchObject({
      maxTokenLifetimeSeconds: 90 * 86400,
      defaultTokenLifetimeSeconds: 30 * 86400,
      usageStatisticsEnabled: true,
    });
    const [event] = await t.store.queryAudit({ action: "settings.updated", limit: 1 });
    expect(event!.details).toMatchObject({ changed: { maxTokenLifetimeSeconds: 7776000 } });

    const inconsistent = await root.post("/manage/settings", {
      ...settingsFields(),
      maxTokenLifetime: "10d",
      defaultTokenLifetime: "30d",
    });
    expect(inconsistent.statusCode).toBe(400);
    expect(inconsistent.body).toContain("cannot be longer than the maximum");
    expect(inconsistent.body).toContain('value="10d"');
    const garbage = await root.post("/manage/settings", { ...settingsFields(), maxTokenLifetime: "soon" });
    expect(garbage.statusCode).toBe(400);
    expect(garbage.body).toContain("Maximum token lifetime");
    expect(t.services.deps.settings.current.maxTokenLifetimeSeconds).toBe(90 * 86400);

    // The policy now applies to the token form.
    const alice = await Browser.signIn(t.app, "alice", "alice-password");
    const tooLong = await alice.post("/account/tokens", { name: "long", expiresInDays: "365" });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.body).toContain("at most");
  });

  it("filters the audit log by user, token, action and day, and pages it", async () => {
    for (let i = 0; i < 55; i++) await t.addToken("alice", { name: `t${i}` });
    await t.addToken("root", { name: "root's" });
    const root = await Browser.signIn(t.app, "root", "root-password");
    const all = await root.get("/manage/audit?user=ALICE&action=token.*");
    expect(all.statusCode).toBe(200);
    expect(all.body).toContain("token.created");
    expect(all.body).not.toContain("root&#39;s");
    expect(all.body).toContain("Older events");
    const older = /href="(\/manage\/audit\?[^"]*before=\d+)"/.exec(all.body)![1]!.replace(/&amp;/g, "&");
    const second = await root.get(older);
    expect(second.body).toContain("&quot;name&quot;: &quot;t0&quot;");
    expect(second.body).toContain("Newest events");
    const today = new Date(t.clock.now()).toISOString().slice(0, 10);
    expect(
      (await root.get(`/manage/audit?since=${today}&until=${today}&action=login.succeeded`)).body,
    ).toContain("login.succeeded");
    expect((await root.get("/manage/audit?until=2000-01-01")).body).toContain("No event matches.");
    const rootToken = (await t.store.listTokens("root"))[0]!;
    const byToken = await root.get(`/manage/audit?token=${rootToken.id}`);
    expect(byToken.body).toContain("root&#39;s");
    expect(byToken.body).not.toContain("&quot;name&quot;: &quot;t0&quot;");
    expect(byToken.body).toContain(`value="${rootToken.id}"`);
    const bad = await root.get("/manage/audit?since=yesterday");
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain("From must be a date");
  });

  it("answers unknown users and tokens with a 404 page, never a stack trace", async () => {
    const root = await Browser.signIn(t.app, "root", "root-password");
    const page = await root.get("/manage/users/nobody");
    expect(page.statusCode).toBe(404);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.body).toContain("User &quot;nobody&quot; was not found.");
  });
});

describe("first-run password", () => {
  it("warns on every page until the initial password is changed", async () => {
    await t.services.users.create(SYSTEM_ACTOR, {
      id: "admin",
      password: "initial-password",
      roles: ["admin", "user"],
      mustChangePassword: true,
    });
    const login = await t.app.inject({
      method: "POST",
      url: "/j_spring_security_check",
      headers: FORM,
      payload: "j_username=admin&j_password=initial-password&from=/",
    });
    expect(login.headers.location).toBe("/account/password");
    const admin = new Browser(
      t.app,
      `steward_session=${login.cookies.find((c) => c.name === "steward_session")!.value}`,
    );
    for (const url of ["/", "/account/tokens", "/account/password", "/manage", "/manage/audit"]) {
      expect((await admin.get(url)).body, url).toContain("You are still using the initial password");
    }
    const wrong = await admin.post("/account/password", {
      current: "nope",
      password: "my-own-password",
      confirm: "my-own-password",
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.body).toContain("current password is not correct");
    const mismatch = await admin.post("/account/password", {
      current: "initial-password",
      password: "my-own-password",
      confirm: "my-own-passw0rd",
    });
    expect(mismatch.statusCode).toBe(400);
    const short = await admin.post("/account/password", {
      current: "initial-password",
      password: "short",
      confirm: "short",
    });
    expect(short.statusCode).toBe(400);
    expect(short.body).toContain("8 to 1024 characters");
    const elsewhere = await Browser.signIn(t.app, "admin", "initial-password");
    const changed = await admin.post("/account/password", {
      current: "initial-password",
      password: "my-own-password",
      confirm: "my-own-password",
    });
    expect(changed.statusCode).toBe(303);
    const after = await admin.get("/account/tokens?done=password");
    expect(after.body).not.toContain("initial password");
    expect(after.body).toContain("Your password was changed.");
    // Every other session of the user ended with the old password.
    expect((await elsewhere.get("/account/tokens")).statusCode).toBe(303);
    await Browser.signIn(t.app, "admin", "my-own-password");
    const failures = await t.store.queryAudit({ action: "user.password.change.failed", limit: 10 });
    expect(failures).toHaveLength(1);
  });
});

function settingsFields(): Record<string, string> {
  return {
    maxTokenLifetime: "",
    defaultTokenLifetime: "",
    maxRotationGrace: "1w",
    usageStatisticsEnabled: "on",
    passwordBasicAuthEnabled: "on",
  };
}
