import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { basic, createTestApp, fetchCrumb, signIn, type TestApp } from "./support/harness.js";

const METHODS = "/me/descriptorByName/jenkins.security.ApiTokenProperty";
const FORM = { "content-type": "application/x-www-form-urlencoded" };
let t: TestApp;

beforeEach(async () => {
  t = await createTestApp();
  await t.addUser("alice", "alice-password", { admin: false });
  await t.addUser("root", "root-password", { admin: true });
});
afterEach(async () => t.close());

async function generate(user: string, secret: string, name = "ci", path = METHODS) {
  const response = await t.app.inject({
    method: "POST",
    url: `${path}/generateNewToken`,
    headers: { authorization: basic(user, secret), ...FORM },
    payload: `newTokenName=${encodeURIComponent(name)}`,
  });
  return response;
}

async function status(user: string, secret: string, url = "/me/api/json") {
  return (await t.app.inject({ method: "GET", url, headers: { authorization: basic(user, secret) } }))
    .statusCode;
}

describe("generateNewToken", () => {
  it("returns the token once in Jenkins' shape, and the token authenticates", async () => {
    const { value } = await t.addToken("alice");
    const response = await generate("alice", value, "deploy");
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json;charset=utf-8");
    expect(response.headers["content-length"]).toBeDefined();
    const body = response.json();
    expect(body).toMatchObject({
      status: "ok",
      data: { tokenName: "deploy", expirationDate: "never", aboutToExpire: false },
    });
    expect(body.data.tokenUuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.data.tokenValue).toMatch(/^stw_/);
    expect(await status("alice", body.data.tokenValue)).toBe(200);
  });

  it("gives a blank name Jenkins' default name", async () => {
    const { value } = await t.addToken("alice");
    const body = (await generate("alice", value, "   ")).json();
    expect(body.data.tokenName).toMatch(/^Token created on 2026-11-01T12:00:00\.000\+00:00$/);
  });

  it("accepts a password over Basic with a crumb, refuses it without one (403)", async () => {
    const withoutCrumb = await generate("alice", "alice-password");
    expect(withoutCrumb.statusCode).toBe(403);
    expect(withoutCrumb.body).toContain("No valid crumb was included in the request");
    const { cookie, crumb } = await fetchCrumb(t.app, { authorization: basic("alice", "alice-password") });
    const ok = await t.app.inject({
      method: "POST",
      url: `${METHODS}/generateNewToken?newTokenName=x`,
      headers: { authorization: basic("alice", "alice-password"), cookie, "jenkins-crumb": crumb },
    });
    expect(ok.statusCode).toBe(200);
  });

  it("lets an admin generate for another user only when the setting allows (403 otherwise)", async () => {
    const admin = await t.addToken("root");
    const denied = await generate(
      "root",
      admin.value,
      "x",
      "/user/alice/descriptorByName/jenkins.security.ApiTokenProperty",
    );
    expect(denied.statusCode).toBe(403);
    expect(denied.body).toBe("");
    t.services.deps.settings.replace({
      ...t.services.deps.settings.current,
      adminCanGenerateTokensForOthers: true,
    });
    const allowed = await generate(
      "root",
      admin.value,
      "x",
      "/user/alice/descriptorByName/jenkins.security.ApiTokenProperty",
    );
    expect(allowed.statusCode).toBe(200);
    expect(await status("alice", allowed.json().data.tokenValue)).toBe(200);
  });

  it("answers an expiry in the past with Jenkins' 200 error", async () => {
    const { value } = await t.addToken("alice");
    const response = await t.app.inject({
      method: "POST",
      url: `${METHODS}/generateNewToken`,
      headers: { authorization: basic("alice", value), ...FORM },
      payload: "newTokenName=x&expirationDuration=custom&tokenExpiration=2020-01-01",
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: "error", message: "Expiration date is in the past." });
  });

  it("expiry tomorrow works all of that day, then the token is 401", async () => {
    const { value } = await t.addToken("alice");
    const body = (
      await t.app.inject({
        method: "POST",
        url: `${METHODS}/generateNewToken?newTokenName=short&expirationDuration=1`,
        headers: { authorization: basic("alice", value) },
      })
    ).json();
    expect(body.data.expirationDate).toBe("2026-11-02");
    expect(body.data.aboutToExpire).toBe(true);
    t.clock.set(Date.UTC(2026, 10, 2, 23, 59));
    expect(await status("alice", body.data.tokenValue)).toBe(200);
    t.clock.set(Date.UTC(2026, 10, 3, 0, 0, 1));
    const expired = await t.app.inject({
      method: "GET",
      url: "/me/api/json",
      headers: { authorization: basic("alice", body.data.tokenValue) },
    });
    expect(expired.statusCode).toBe(401);
    expect(expired.body).toContain("expired");
  });

  it("refuses every method but POST with 405 (Jenkins' @RequirePOST)", async () => {
    const { value } = await t.addToken("alice");
    for (const method of ["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"] as const) {
      const response = await t.app.inject({
        method,
        url: `${METHODS}/generateNewToken`,
        headers: { authorization: basic("alice", value) },
      });
      expect(response.statusCode, method).toBe(405);
      expect(response.headers.allow, method).toBe("POST");
    }
    expect(await t.store.listTokens("alice")).toHaveLength(1);
  });

  it("a token without a needed scope gets 403 naming it, with Jenkins' not-permitted headers", async () => {
    const scoped = await t.addToken("alice", { scopes: ["jenkins:api"] });
    const response = await generate("alice", scoped.value);
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain("tokens:write");
    expect(response.headers["x-you-are-authenticated-as"]).toBe("alice");
    expect(response.headers["x-required-permission"]).toBe("tokens:write");
  });

  it("accepts a trailing slash", async () => {
    const { value } = await t.addToken("alice");
    const response = await t.app.inject({
      method: "POST",
      url: `${METHODS}/generateNewToken/?newTokenName=x`,
      headers: { authorization: basic("alice", value) },
    });
    expect(response.statusCode).toBe(200);
  });

  it("refuses a 10 kB name with a clear message and stores nothing", async () => {
    const { value } = await t.addToken("alice");
    const response = await generate("alice", value, "x".repeat(10_000));
    expect(response.json()).toEqual({ status: "error", message: "A token name is at most 100 characters." });
    expect(await t.store.listTokens("alice")).toHaveLength(1);
  });
});

describe("revoke, rename, revokeAll, revokeAllExcept", () => {
  async function post(user: string, secret: string, method: string, payload = "", path = METHODS) {
    return t.app.inject({
      method: "POST",
      url: `${path}/${method}`,
      headers: { authorization: basic(user, secret), ...FORM },
      payload,
    });
  }

  it("revoke → that token 401, others fine; unknown uuid is a silent no-op; empty uuid is 400", async () => {
    const a = await t.addToken("alice");
    const b = await t.addToken("alice");
    expect((await post("alice", a.value, "revoke", `tokenUuid=${b.id}`)).statusCode).toBe(200);
    expect(await status("alice", b.value)).toBe(401);
    expect(await status("alice", a.value)).toBe(200);
    const unknown = await post("alice", a.value, "revoke", "tokenUuid=00000000-0000-0000-0000-000000000000");
    expect(unknown.statusCode).toBe(200);
    expect(unknown.body).toBe("");
    const empty = await post("alice", a.value, "revoke", "tokenUuid=");
    expect(empty.statusCode).toBe(400);
    expect(empty.body).toContain("The tokenUuid cannot be empty");
  });

  it("cannot revoke someone else's token through /me", async () => {
    const mine = await t.addToken("alice");
    const theirs = await t.addToken("root");
    await post("alice", mine.value, "revoke", `tokenUuid=${theirs.id}`);
    expect(await status("root", theirs.value)).toBe(200);
  });

  it("lets an admin revoke another user's token; a normal user gets Jenkins' 403", async () => {
    const admin = await t.addToken("root");
    const mine = await t.addToken("alice");
    const path = "/user/alice/descriptorByName/jenkins.security.ApiTokenProperty";
    expect((await post("root", admin.value, "revoke", `tokenUuid=${mine.id}`, path)).statusCode).toBe(200);
    expect(await status("alice", mine.value)).toBe(401);
    const other = await t.addToken("alice");
    const denied = await post(
      "alice",
      other.value,
      "revoke",
      `tokenUuid=${admin.id}`,
      "/user/root/descriptorByName/jenkins.security.ApiTokenProperty",
    );
    expect(denied.statusCode).toBe(403);
    expect(denied.headers["x-you-are-authenticated-as"]).toBe("alice");
    expect(denied.headers["x-required-permission"]).toBe("Overall/Administer");
    expect(await status("root", admin.value)).toBe(200);
  });

  it("a normal user gets 403 for every method on another user, existing or not; an admin gets 404 for no user", async () => {
    const alice = await t.addToken("alice");
    const admin = await t.addToken("root");
    const theirs = await t.addToken("root");
    const methods = ["generateNewToken", "addFixedToken", "revoke", "rename", "revokeAll", "revokeAllExcept"];
    for (const target of ["root", "nobody"]) {
      const path = `/user/${target}/descriptorByName/jenkins.security.ApiTokenProperty`;
      for (const method of methods) {
        const payload = `tokenUuid=${theirs.id}&newName=x&newTokenName=x&newTokenPlainValue=110123456789abcdef0123456789abcdef`;
        const response = await post("alice", alice.value, method, payload, path);
        expect(response.statusCode, `${method} on ${target}`).toBe(403);
        // Jenkins answers a refused generation with an empty body.
        if (method === "generateNewToken") expect(response.body).toBe("");
      }
    }
    expect(await status("root", theirs.value)).toBe(200);
    expect(await t.store.listTokens("root")).toHaveLength(2);
    const missing = "/user/nobody/descriptorByName/jenkins.security.ApiTokenProperty";
    expect((await post("root", admin.value, "revokeAll", "", missing)).statusCode).toBe(404);
  });

  it("takes parameters from the query before a form body, and never from a JSON body", async () => {
    const a = await t.addToken("alice");
    const both = await t.app.inject({
      method: "POST",
      url: `${METHODS}/generateNewToken?newTokenName=from-query`,
      headers: { authorization: basic("alice", a.value), ...FORM },
      payload: "newTokenName=from-form",
    });
    expect(both.json().data.tokenName).toBe("from-query");
    const json = await t.app.inject({
      method: "POST",
      url: `${METHODS}/generateNewToken`,
      headers: { authorization: basic("alice", a.value), "content-type": "application/json" },
      payload: JSON.stringify({ newTokenName: "from-json" }),
    });
    expect(json.json().data.tokenName).toMatch(/^Token created on /);
  });

  it("accepts a POST that declares JSON but sends no body (Jenkins ignores the body)", async () => {
    const a = await t.addToken("alice");
    const response = await t.app.inject({
      method: "POST",
      url: `${METHODS}/generateNewToken?newTokenName=empty`,
      headers: { authorization: basic("alice", a.value), "content-type": "application/json" },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().data.tokenName).toBe("empty");
  });

  it("rename answers Jenkins' messages", async () => {
    const a = await t.addToken("alice", { name: "old" });
    expect((await post("alice", a.value, "rename", `tokenUuid=${a.id}&newName=new`)).json()).toEqual({
      status: "ok",
    });
    expect((await t.store.getToken(a.id))?.name).toBe("new");
    expect((await post("alice", a.value, "rename", `tokenUuid=${a.id}&newName=`)).json()).toEqual({
      status: "error",
      message: "The name cannot be empty",
    });
    expect((await post("alice", a.value, "rename", "tokenUuid=&newName=x")).json()).toEqual({
      status: "error",
      message: "The tokenUuid cannot be empty",
    });
    expect((await post("alice", a.value, "rename", "tokenUuid=nope&newName=x")).json()).toEqual({
      status: "error",
      message: "No token found, try refreshing the page",
    });
  });

  it("revokeAll → every token 401", async () => {
    const a = await t.addToken("alice");
    const b = await t.addToken("alice");
    expect((await post("alice", a.value, "revokeAll")).statusCode).toBe(200);
    expect(await status("alice", a.value)).toBe(401);
    expect(await status("alice", b.value)).toBe(401);
  });

  it("revokeAllExcept(u) → only u works; an unknown uuid deletes nothing (not copied from Jenkins)", async () => {
    const a = await t.addToken("alice");
    const b = await t.addToken("alice");
    const c = await t.addToken("alice");
    const unknown = await post("alice", a.value, "revokeAllExcept", "tokenUuid=unknown");
    expect(unknown.statusCode).toBe(400);
    expect(await status("alice", b.value)).toBe(200);
    expect((await post("alice", a.value, "revokeAllExcept", `tokenUuid=${b.id}`)).statusCode).toBe(200);
    expect(await status("alice", a.value)).toBe(401);
    expect(await status("alice", b.value)).toBe(200);
    expect(await status("alice", c.value)).toBe(401);
  });

  it("addFixedToken accepts 11 + 32 hex and refuses malformed values", async () => {
    const a = await t.addToken("alice");
    const fixed = "110123456789abcdef0123456789abcdef";
    const ok = await post(
      "alice",
      a.value,
      "addFixedToken",
      `newTokenName=fixed&newTokenPlainValue=${fixed}`,
    );
    expect(ok.json()).toMatchObject({ status: "ok", data: { tokenName: "fixed" } });
    expect(await status("alice", fixed)).toBe(200);
    for (const bad of ["110123456789abcdef0123456789abcde", "120123456789abcdef0123456789abcdef", "11xyz"]) {
      expect((await post("alice", a.value, "addFixedToken", `newTokenPlainValue=${bad}`)).statusCode).toBe(
        400,
      );
    }
  });

  it("counts uses: after 5 calls the use counter is 5", async () => {
    const a = await t.addToken("alice");
    for (let i = 0; i < 5; i++) expect(await status("alice", a.value)).toBe(200);
    await t.services.usage.flush();
    expect((await t.store.getToken(a.id))?.useCount).toBe(5);
  });
});

describe("Basic authentication", () => {
  it("has a case-insensitive scheme", async () => {
    const a = await t.addToken("alice");
    const header = `bAsIc ${Buffer.from(`alice:${a.value}`).toString("base64")}`;
    expect((await t.app.inject({ url: "/me/api/json", headers: { authorization: header } })).statusCode).toBe(
      200,
    );
  });

  it("needs the token's owner as user id", async () => {
    const a = await t.addToken("alice");
    expect(await status("root", a.value)).toBe(401);
    expect(await status("ALICE", a.value)).toBe(200);
  });

  it("answers bad credentials with 401 and WWW-Authenticate, the same for unknown users", async () => {
    const wrong = await t.app.inject({
      url: "/me/api/json",
      headers: { authorization: basic("alice", "wrong") },
    });
    const unknown = await t.app.inject({
      url: "/me/api/json",
      headers: { authorization: basic("nobody", "wrong") },
    });
    for (const response of [wrong, unknown]) {
      expect(response.statusCode).toBe(401);
      expect(response.headers["www-authenticate"]).toBe('Basic realm="Steward"');
    }
    expect(wrong.body).toBe(unknown.body);
  });

  it("rejects a header without a colon as malformed (401)", async () => {
    const response = await t.app.inject({
      url: "/whoAmI/api/json",
      headers: { authorization: `Basic ${Buffer.from("nocolon").toString("base64")}` },
    });
    expect(response.statusCode).toBe(401);
    expect(response.body).toContain("Malformed HTTP basic Authorization header");
  });

  it('ignores non-Basic schemes, and a bare "Basic" without its space (anonymous, as Jenkins)', async () => {
    for (const authorization of ["Bearer xyz", "Basic", "Basicfoo", "Negotiate abc"]) {
      const response = await t.app.inject({ url: "/whoAmI/api/json", headers: { authorization } });
      expect(response.json(), authorization).toMatchObject({ anonymous: true, name: "anonymous" });
    }
  });

  it("a session for B plus a wrong Basic password for A → 401", async () => {
    const cookie = await signIn(t.app, "root", "root-password");
    const response = await t.app.inject({
      url: "/me/api/json",
      headers: { cookie, authorization: basic("alice", "wrong") },
    });
    expect(response.statusCode).toBe(401);
  });

  it("creates no session, on the API or on pages (python-jenkins get_version reads GET /)", async () => {
    const a = await t.addToken("alice");
    for (const secret of [a.value, "alice-password"]) {
      for (const url of ["/me/api/json", "/", "/login"]) {
        const response = await t.app.inject({ url, headers: { authorization: basic("alice", secret) } });
        expect(response.statusCode, url).toBe(200);
        expect(response.headers["set-cookie"], url).toBeUndefined();
      }
    }
    for (const method of ["GET", "HEAD"] as const) {
      const anonymous = await t.app.inject({ method, url: "/" });
      expect(anonymous.headers["set-cookie"]).toBeUndefined();
    }
  });

  it("failed token checks are limited per user too when passwords over Basic are off", async () => {
    t.services.deps.settings.replace({
      ...t.services.deps.settings.current,
      passwordBasicAuthEnabled: false,
    });
    const good = await t.addToken("alice");
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      // From different addresses: only the per-user counter sees them all.
      const response = await t.app.inject({
        url: "/me/api/json",
        remoteAddress: `10.0.0.${i + 1}`,
        headers: { authorization: basic("alice", `stw_wrong${i}`) },
      });
      statuses.push(response.statusCode);
    }
    expect(statuses).toContain(429);
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(await status("alice", good.value)).toBe(200);
  });

  it("password over Basic can be switched off; tokens keep working", async () => {
    const a = await t.addToken("alice");
    t.services.deps.settings.replace({
      ...t.services.deps.settings.current,
      passwordBasicAuthEnabled: false,
    });
    expect(await status("alice", "alice-password")).toBe(401);
    expect(await status("alice", a.value)).toBe(200);
  });

  it("a disabled or deleted user's tokens fail at once, even when cached", async () => {
    const a = await t.addToken("alice");
    expect(await status("alice", a.value)).toBe(200);
    await t.services.users.update(
      {
        principal: {
          ...(await import("../src/core/permissions.js")).ANONYMOUS,
          userId: "root",
          roles: ["admin"],
          authenticatedBy: "cli",
        },
        ip: null,
        userAgent: null,
        requestId: null,
      },
      "alice",
      { disabled: true },
    );
    expect(await status("alice", a.value)).toBe(401);
    const b = await t.addToken("root");
    expect(await status("root", b.value)).toBe(200);
    await t.addUser("carol", "carol-password");
    const c = await t.addToken("carol");
    expect(await status("carol", c.value)).toBe(200);
    await t.store.deleteUser("carol", {
      at: 0,
      action: "user.deleted",
      actorUserId: null,
      actorTokenId: null,
      targetUserId: "carol",
      targetTokenId: null,
      ip: null,
      userAgent: null,
      outcome: "success",
      requestId: null,
      details: {},
    });
    expect(await status("carol", c.value)).toBe(401);
  });
});

describe("sessions, login form and crumbs", () => {
  it("an API token typed into the login form does not log in", async () => {
    const a = await t.addToken("alice");
    const response = await t.app.inject({
      method: "POST",
      url: "/j_spring_security_check",
      headers: FORM,
      payload: `j_username=alice&j_password=${a.value}`,
    });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toMatch(/^\/loginError/);
    expect(response.cookies.find((c) => c.name === "steward_session")).toBeUndefined();
  });

  it("login sets an HttpOnly SameSite=Lax cookie with a fresh session id (no fixation)", async () => {
    const before = await fetchCrumb(t.app);
    const response = await t.app.inject({
      method: "POST",
      url: "/j_spring_security_check",
      headers: { ...FORM, cookie: before.cookie },
      payload: "j_username=alice&j_password=alice-password&from=/me/api/json",
    });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe("/me/api/json");
    const cookie = response.cookies.find((c) => c.name === "steward_session")!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe("Lax");
    expect(`steward_session=${cookie.value}`).not.toBe(before.cookie);
    const old = await t.app.inject({ url: "/me/api/json", headers: { cookie: before.cookie } });
    expect(old.statusCode).toBe(403);
    const now = await t.app.inject({
      url: "/me/api/json",
      headers: { cookie: `steward_session=${cookie.value}` },
    });
    expect(now.json().id).toBe("alice");
  });

  it("never redirects off-site after login", async () => {
    const response = await t.app.inject({
      method: "POST",
      url: "/j_spring_security_check",
      headers: FORM,
      payload: "j_username=alice&j_password=alice-password&from=//evil.example/",
    });
    expect(response.headers.location).toBe("/");
  });

  it("reads the crumb from the query string too, as Jenkins does", async () => {
    const { cookie, crumb } = await fetchCrumb(t.app, { authorization: basic("alice", "alice-password") });
    const url = `${METHODS}/generateNewToken?newTokenName=q&Jenkins-Crumb=${crumb}`;
    const auth = { authorization: basic("alice", "alice-password"), cookie };
    expect((await t.app.inject({ method: "POST", url, headers: auth })).statusCode).toBe(200);
    const wrong = await t.app.inject({
      method: "POST",
      url: url.replace(crumb, "0".repeat(64)),
      headers: auth,
    });
    expect(wrong.statusCode).toBe(403);
  });

  it("a session POST needs a crumb bound to that session; another session's crumb is refused", async () => {
    const cookie = await signIn(t.app, "alice", "alice-password");
    const other = await signIn(t.app, "alice", "alice-password");
    const mine = await fetchCrumb(t.app, { cookie });
    const theirs = await fetchCrumb(t.app, { cookie: other });
    expect(mine.crumb).not.toBe(theirs.crumb);
    const url = `${METHODS}/generateNewToken?newTokenName=s`;
    expect((await t.app.inject({ method: "POST", url, headers: { cookie } })).statusCode).toBe(403);
    expect(
      (await t.app.inject({ method: "POST", url, headers: { cookie, "jenkins-crumb": theirs.crumb } }))
        .statusCode,
    ).toBe(403);
    expect(
      (await t.app.inject({ method: "POST", url, headers: { cookie, "jenkins-crumb": mine.crumb } }))
        .statusCode,
    ).toBe(200);
    const form = await t.app.inject({
      method: "POST",
      url: `${METHODS}/generateNewToken`,
      headers: { cookie, ...FORM },
      payload: `newTokenName=f&Jenkins-Crumb=${mine.crumb}`,
    });
    expect(form.statusCode).toBe(200);
  });

  it("logout invalidates the session on the server", async () => {
    const cookie = await signIn(t.app, "alice", "alice-password");
    await t.app.inject({ url: "/logout", headers: { cookie } });
    expect((await t.app.inject({ url: "/me/api/json", headers: { cookie } })).statusCode).toBe(403);
  });
});

describe("crumb issuer", () => {
  it("answers Jenkins' JSON and XML shapes and creates a session for anonymous callers", async () => {
    const json = await t.app.inject({ url: "/crumbIssuer/api/json" });
    expect(json.json()).toMatchObject({
      _class: "hudson.security.csrf.DefaultCrumbIssuer",
      crumbRequestField: "Jenkins-Crumb",
    });
    expect(json.json().crumb).toMatch(/^[0-9a-f]{64}$/);
    expect(json.headers["x-frame-options"]).toBe("deny");
    expect(json.headers["x-content-type-options"]).toBe("nosniff");
    expect(json.cookies.find((c) => c.name === "steward_session")).toBeDefined();
    const xml = await t.app.inject({ url: "/crumbIssuer/api/xml" });
    expect(xml.body).toMatch(
      /^<defaultCrumbIssuer _class="hudson.security.csrf.DefaultCrumbIssuer"><crumb>[0-9a-f]{64}<\/crumb><crumbRequestField>Jenkins-Crumb<\/crumbRequestField><\/defaultCrumbIssuer>$/,
    );
  });

  it("answers exactly the four xpath forms as text and refuses others", async () => {
    const { cookie, crumb } = await fetchCrumb(t.app);
    const ask = (xpath: string) =>
      t.app.inject({ url: `/crumbIssuer/api/xml?xpath=${encodeURIComponent(xpath)}`, headers: { cookie } });
    expect((await ask("/*/crumbRequestField/text()")).body).toBe("Jenkins-Crumb");
    expect((await ask("/*/crumb/text()")).body).toBe(crumb);
    expect((await ask('concat(//crumbRequestField,":",//crumb)')).body).toBe(`Jenkins-Crumb:${crumb}`);
    expect((await ask("concat(//crumbRequestField,'=',//crumb)")).body).toBe(`Jenkins-Crumb=${crumb}`);
    expect((await ask('concat(//crumbRequestField,":",//crumb)')).headers["content-type"]).toMatch(
      /^text\/plain/,
    );
    expect((await ask("//crumb")).statusCode).toBe(403);
    expect((await t.app.inject({ url: "/crumbIssuer/api/json?jsonp=cb" })).statusCode).toBe(403);
  });
});

describe("identity endpoints", () => {
  it("whoAmI shows the name, never the session or Authorization", async () => {
    const a = await t.addToken("alice");
    const response = await t.app.inject({
      url: "/whoAmI/api/json",
      headers: { authorization: basic("alice", a.value) },
    });
    expect(response.json()).toEqual({
      _class: "hudson.security.WhoAmI",
      anonymous: false,
      authenticated: true,
      authorities: ["authenticated"],
      name: "alice",
    });
    expect(response.body).not.toContain(a.value);
    expect(response.headers["x-jenkins"]).toBeDefined();
    // As in Jenkins' own user database: an admin's roles are not authorities.
    const admin = await t.addToken("root");
    const root = await t.app.inject({
      url: "/whoAmI/api/json",
      headers: { authorization: basic("root", admin.value) },
    });
    expect(root.json().authorities).toEqual(["authenticated"]);
    const anonymous = await t.app.inject({ url: "/whoAmI/api/json" });
    expect(anonymous.json()).toMatchObject({
      anonymous: true,
      authenticated: false,
      authorities: ["anonymous"],
      name: "anonymous",
    });
  });

  it("/me/api/json and /user/<id>/api/json are Jenkins user objects; anonymous gets 403 pointing to /login", async () => {
    const a = await t.addToken("alice");
    const me = await t.app.inject({
      url: "/me/api/json?depth=0",
      headers: { authorization: basic("alice", a.value) },
    });
    expect(me.json()).toMatchObject({
      _class: "hudson.model.User",
      id: "alice",
      fullName: "alice",
      description: null,
    });
    expect(me.json().absoluteUrl).toMatch(/\/user\/alice$/);
    const other = await t.app.inject({
      url: "/user/root/api/json",
      headers: { authorization: basic("alice", a.value) },
    });
    expect(other.json().id).toBe("root");
    const anonymous = await t.app.inject({ url: "/me/api/json" });
    expect(anonymous.statusCode).toBe(403);
    expect(anonymous.headers["www-authenticate"]).toBeUndefined();
    expect(anonymous.headers["x-jenkins"]).toBeDefined();
    expect(anonymous.headers["x-jenkins-session"]).toBeDefined();
    expect(anonymous.body).toContain("/login?from=");
  });

  it("/api/json has a jobs array and accepts python-jenkins' raw tree parameter", async () => {
    const a = await t.addToken("alice");
    const response = await t.app.inject({
      url: "/api/json?tree=jobs[url,color,name,jobs[url,color,name]]",
      headers: { authorization: basic("alice", a.value) },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().jobs).toEqual([]);
  });

  it("GET / carries X-Jenkins", async () => {
    const response = await t.app.inject({ url: "/" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["x-jenkins"]).toMatch(/^\d+\.\d+/);
    expect(response.headers["x-jenkins-session"]).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe("bad input never causes a 500 or a change", () => {
  it("wrong content types, binary bodies and garbage parameters get 4xx or a Jenkins answer", async () => {
    const a = await t.addToken("alice");
    const auth = { authorization: basic("alice", a.value) };
    const cases = [
      { headers: { ...auth, "content-type": "text/plain" }, payload: "newTokenName=x" },
      { headers: { ...auth, "content-type": "application/json" }, payload: "{not json" },
      {
        headers: { ...auth, "content-type": "application/octet-stream" },
        payload: Buffer.from([0, 255, 1, 2]),
      },
      { headers: { ...auth, ...FORM }, payload: "newTokenName=%ZZ" },
    ];
    for (const c of cases) {
      const response = await t.app.inject({ method: "POST", url: `${METHODS}/revoke`, ...c });
      expect(response.statusCode, String(c.payload)).toBeLessThan(500);
    }
    expect(await t.store.listTokens("alice")).toHaveLength(1);
  });
});
