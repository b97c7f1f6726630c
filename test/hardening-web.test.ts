/**
 * Web hardening (SPEC §5, §10): security headers on every page, a fresh session id on sign-in (no
 * fixation), cookies HttpOnly + SameSite (+ Secure behind HTTPS or a trusted proxy saying so), logout
 * that ends the session on the server, body size limits with a clear 413, no open redirect after
 * sign-in, user text escaped in pages.
 */
import { connect } from "node:net";
import type { LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { SESSION_COOKIE } from "../src/auth/sessions.js";
import type { Config } from "../src/config.js";
import { sha256Hex } from "../src/core/secrets.js";
import {
  basic,
  createTestApp,
  fetchCrumb,
  sessionCookieOf,
  signIn,
  type TestApp,
} from "./support/harness.js";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
let t: TestApp;

async function start(config: Partial<Config> = {}): Promise<TestApp> {
  t = await createTestApp({ config });
  await t.addUser("alice", "alice-password");
  return t;
}
afterEach(async () => t?.close());

function setCookieLine(response: LightMyRequestResponse): string {
  const raw = response.headers["set-cookie"];
  const line = (Array.isArray(raw) ? raw : [raw ?? ""]).find((l) => l.startsWith(`${SESSION_COOKIE}=`));
  if (!line) throw new Error("no session cookie was set");
  return line;
}

async function whoAmI(cookie: string): Promise<string> {
  const response = await t.app.inject({ method: "GET", url: "/whoAmI/api/json", headers: { cookie } });
  return response.json<{ name: string }>().name;
}

function login(cookie?: string, extra: Record<string, string> = {}) {
  return t.app.inject({
    method: "POST",
    url: "/j_spring_security_check",
    headers: { ...FORM, ...(cookie ? { cookie } : {}) },
    payload: new URLSearchParams({ j_username: "alice", j_password: "alice-password", ...extra }).toString(),
  });
}

describe("security headers", () => {
  it("are on every page, error pages included: CSP with frame-ancestors, nosniff, Referrer-Policy, X-Frame-Options", async () => {
    await start();
    const cookie = await signIn(t.app, "alice", "alice-password");
    const pages = [
      { url: "/login" },
      { url: "/loginError" },
      { url: "/" },
      { url: "/account/tokens", cookie },
      { url: "/crumbIssuer/api/json" },
      { url: "/no/such/page" },
      { url: "/manage/users", cookie },
      { url: "/me/api/json" },
    ];
    for (const page of pages) {
      const response = await t.app.inject({
        method: "GET",
        url: page.url,
        headers: page.cookie ? { cookie: page.cookie } : {},
      });
      const h = response.headers;
      const where = `${page.url} (${response.statusCode})`;
      expect(h["content-security-policy"], where).toMatch(/frame-ancestors 'none'/);
      expect(h["content-security-policy"], where).toMatch(/default-src 'self'/);
      expect(h["content-security-policy"], where).toMatch(/script-src 'self'(;|$)/);
      expect(h["content-security-policy"], where).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(h["x-content-type-options"], where).toBe("nosniff");
      expect(h["referrer-policy"], where).toMatch(
        /^(same-origin|no-referrer|strict-origin(-when-cross-origin)?)$/,
      );
      expect(String(h["x-frame-options"]).toLowerCase(), where).toBe("deny");
    }
    // JSON answers of the REST API are not pages, but are never sniffed either.
    const api = await t.app.inject({ method: "GET", url: "/api/v1/me" });
    expect(api.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("are on the answers to oversize bodies and to rate-limited requests too", async () => {
    await start({ bodyLimit: 2048, authFailuresPerIp: 1 });
    const big = await t.app.inject({
      method: "POST",
      url: "/j_spring_security_check",
      headers: FORM,
      payload: `j_username=${"a".repeat(4096)}`,
    });
    expect(big.statusCode).toBe(413);
    expect(big.headers["content-security-policy"]).toMatch(/frame-ancestors 'none'/);
    await t.app.inject({
      method: "GET",
      url: "/me/api/json",
      headers: { authorization: basic("alice", "x") },
    });
    const limited = await t.app.inject({
      method: "GET",
      url: "/me/api/json",
      headers: { authorization: basic("alice", "x") },
    });
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["x-frame-options"]).toBe("deny");
  });
});

describe("sessions", () => {
  it("get a new id on sign-in: a session planted before sign-in is worthless (no fixation)", async () => {
    await start();
    const before = sessionCookieOf(await t.app.inject({ method: "GET", url: "/crumbIssuer/api/json" }));
    const response = await login(before);
    expect(response.statusCode).toBe(302);
    const after = sessionCookieOf(response);
    expect(after).not.toBe(before);
    expect(await whoAmI(after)).toBe("alice");
    // The pre-login session is gone on the server: whoever planted it holds nothing.
    expect(await whoAmI(before)).toBe("anonymous");
    expect(await t.store.getSession(sha256Hex(before.split("=")[1]!))).toBeNull();
    // A cookie value the server never issued is ignored, and sign-in issues a real one.
    const planted = `${SESSION_COOKIE}=${"A".repeat(43)}`;
    const fresh = sessionCookieOf(await login(planted));
    expect(fresh).not.toBe(planted);
    expect(await whoAmI(fresh)).toBe("alice");
  });

  it("are stored only as a hash: the database never holds the cookie value", async () => {
    await start();
    const cookie = await signIn(t.app, "alice", "alice-password");
    const value = cookie.split("=")[1]!;
    expect(await t.store.getSession(value)).toBeNull();
    expect(await t.store.getSession(sha256Hex(value))).toMatchObject({ userId: "alice" });
  });

  it("end on the server at logout: the old cookie (and its crumb) no longer work", async () => {
    await start();
    const cookie = await signIn(t.app, "alice", "alice-password");
    const { crumb } = await fetchCrumb(t.app, { cookie });
    const out = await t.app.inject({ method: "GET", url: "/logout", headers: { cookie } });
    expect(out.statusCode).toBe(302);
    expect(setCookieLine(out)).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
    // A copy of the cookie kept by an attacker (or a browser that ignored the clearing) is dead.
    expect(await whoAmI(cookie)).toBe("anonymous");
    expect((await t.app.inject({ method: "GET", url: "/me/api/json", headers: { cookie } })).statusCode).toBe(
      403,
    );
    const reuse = await t.app.inject({
      method: "POST",
      url: "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken?newTokenName=x",
      headers: { cookie, "jenkins-crumb": crumb },
    });
    expect(reuse.statusCode).toBe(403);
    expect(await t.store.listTokens("alice")).toEqual([]);
  });

  it("end at logout by POST with a crumb too; without a crumb the logout is refused (CSRF)", async () => {
    await start();
    const cookie = await signIn(t.app, "alice", "alice-password");
    const refused = await t.app.inject({ method: "POST", url: "/logout", headers: { cookie } });
    expect(refused.statusCode).toBe(403);
    expect(await whoAmI(cookie)).toBe("alice");
    const { crumb } = await fetchCrumb(t.app, { cookie });
    const out = await t.app.inject({
      method: "POST",
      url: "/logout",
      headers: { cookie, "jenkins-crumb": crumb },
    });
    expect(out.statusCode).toBe(302);
    expect(await whoAmI(cookie)).toBe("anonymous");
  });
});

describe("session cookies", () => {
  it("are HttpOnly, SameSite=Lax, Path=/ and not Secure over plain HTTP", async () => {
    await start();
    for (const response of [
      await login(),
      await t.app.inject({ method: "GET", url: "/crumbIssuer/api/json" }),
    ]) {
      const line = setCookieLine(response);
      expect(line).toMatch(/; HttpOnly/i);
      expect(line).toMatch(/; SameSite=Lax/i);
      expect(line).toMatch(/; Path=\//);
      expect(line).not.toMatch(/; Secure/i);
    }
  });

  it("are Secure when the public URL is https", async () => {
    await start({ baseUrl: "https://steward.example" });
    expect(setCookieLine(await login())).toMatch(/; Secure/i);
    expect(setCookieLine(await t.app.inject({ method: "GET", url: "/crumbIssuer/api/json" }))).toMatch(
      /; Secure/i,
    );
  });

  it("are Secure behind a trusted proxy that says X-Forwarded-Proto: https, and only then", async () => {
    await start({ trustProxy: ["127.0.0.1"] });
    const viaProxy = await t.app.inject({
      method: "GET",
      url: "/crumbIssuer/api/json",
      headers: { "x-forwarded-proto": "https", "x-forwarded-for": "198.51.100.1" },
    });
    expect(setCookieLine(viaProxy)).toMatch(/; Secure/i);
    // The same header from an address that is not a trusted proxy is ignored.
    const spoofed = await t.app.inject({
      method: "GET",
      url: "/crumbIssuer/api/json",
      headers: { "x-forwarded-proto": "https" },
      remoteAddress: "203.0.113.9",
    });
    expect(setCookieLine(spoofed)).not.toMatch(/; Secure/i);
  });

  it("ignore X-Forwarded-Proto when no proxy is trusted", async () => {
    await start();
    const response = await t.app.inject({
      method: "GET",
      url: "/crumbIssuer/api/json",
      headers: { "x-forwarded-proto": "https" },
    });
    expect(setCookieLine(response)).not.toMatch(/; Secure/i);
  });
});

describe("request body size limit", () => {
  it("answers 413 with a clear message, in the shape of each surface, and changes nothing", async () => {
    await start({ bodyLimit: 4096 });
    const { value } = await t.addToken("alice");
    const auth = { authorization: basic("alice", value) };
    const big = "x".repeat(8192);

    const api = await t.app.inject({
      method: "POST",
      url: "/api/v1/tokens",
      headers: { ...auth, "content-type": "application/json" },
      payload: JSON.stringify({ name: big }),
    });
    expect(api.statusCode).toBe(413);
    expect(api.json()).toEqual({
      error: { code: "payload_too_large", message: "The request body is too large." },
    });

    const jenkins = await t.app.inject({
      method: "POST",
      url: "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken",
      headers: { ...auth, ...FORM },
      payload: `newTokenName=${big}`,
    });
    expect(jenkins.statusCode).toBe(413);
    expect(jenkins.body).toContain("The request body is too large.");

    const octets = await t.app.inject({
      method: "POST",
      url: "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken",
      headers: { ...auth, "content-type": "application/octet-stream" },
      payload: Buffer.alloc(8192),
    });
    expect(octets.statusCode).toBe(413);

    const form = await t.app.inject({
      method: "POST",
      url: "/j_spring_security_check",
      headers: FORM,
      payload: `j_password=${big}`,
    });
    expect(form.statusCode).toBe(413);
    expect(await t.store.listTokens("alice")).toHaveLength(1);
  });
});

describe("after sign-in", () => {
  it("follows only same-site paths: no open redirect, no header injection", async () => {
    await start();
    const hostile = [
      "//evil.example/",
      "/\\evil.example/",
      "/\t/evil.example/",
      "/\n/evil.example/",
      "https://evil.example/",
      "/\r\nSet-Cookie: planted=1",
      "/\u2028x",
    ];
    for (const from of hostile) {
      const response = await login(undefined, { from });
      expect(response.statusCode, JSON.stringify(from)).toBe(302);
      expect(response.headers.location, JSON.stringify(from)).toBe("/");
      expect(JSON.stringify(response.headers["set-cookie"])).not.toContain("planted");
    }
    const fine = await login(undefined, { from: "/account/tokens?x=1" });
    expect(fine.headers.location).toBe("/account/tokens?x=1");
    // The same `from` on the pages that carry it into the form (a repeated parameter included).
    for (const url of ["/login?from=a&from=b", "/loginError?from=%2F%2Fevil.example", "/login?from=%0d%0a"]) {
      const page = await t.app.inject({ method: "GET", url });
      expect(page.statusCode, url).toBeLessThan(500);
      expect(page.body, url).not.toContain("evil.example");
    }
  });
});

describe("user text in pages", () => {
  it("is escaped (a token name cannot inject markup)", async () => {
    await start();
    await t.addToken("alice", { name: `<script>alert("x")</script><img src=x onerror=alert(1)>` });
    const cookie = await signIn(t.app, "alice", "alice-password");
    const page = await t.app.inject({ method: "GET", url: "/account/tokens", headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain("<script>alert");
    expect(page.body).not.toContain("<img src=x");
    expect(page.body).toContain("&lt;script&gt;");
  });
});

describe("requests the router or Node's parser refuse", () => {
  it("a wrong method on an existing path is 405 naming the allowed ones (Allow header); an unknown path 404", async () => {
    await start();
    const token = basic("alice", (await t.addToken("alice")).value);
    const wrong = await t.app.inject({
      method: "PUT",
      url: "/api/v1/tokens",
      headers: { authorization: token },
    });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toBe("GET, HEAD, POST, DELETE");
    expect(wrong.json().error.code).toBe("method_not_allowed");
    const post = await t.app.inject({ method: "POST", url: "/healthz" });
    expect(post.statusCode).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
    const missing = await t.app.inject({ method: "PUT", url: "/api/v1/nothing-here" });
    expect(missing.statusCode).toBe(404);
  });

  it("a URL that cannot be decoded (400) or a path part over the limit (414) gets Steward's error shape and headers", async () => {
    await start();
    const token = basic("alice", (await t.addToken("alice")).value);
    const badEscape = await t.app.inject({ url: "/api/v1/users/%ZZ", headers: { authorization: token } });
    expect(badEscape.statusCode).toBe(400);
    expect(badEscape.json().error.code).toBe("bad_request");
    expect(badEscape.headers["x-content-type-options"]).toBe("nosniff");
    const long = await t.app.inject({
      url: `/api/v1/tokens/${"x".repeat(600)}`,
      headers: { authorization: token },
    });
    expect(long.statusCode).toBe(414);
    expect(long.json().error).toEqual({ code: "uri_too_long", message: "A part of the path is too long." });
    expect(long.body).not.toContain("xxxxxxxx");
  });

  it("headers too large (431) and malformed HTTP (400) get a JSON error over a real connection", async () => {
    await start();
    const address = await t.app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = new URL(address);
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), "127.0.0.1", () => socket.end(request));
        let answer = "";
        socket.setEncoding("utf8").on("data", (chunk: string) => {
          answer += chunk;
        });
        socket.on("close", () => resolve(answer)).on("error", reject);
      });
    const big = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(big).toMatch(/^HTTP\/1\.1 431 /);
    expect(big).toContain(
      '{"error":{"code":"headers_too_large","message":"The request headers are too large."}}',
    );
    expect(big.toLowerCase()).toContain("x-content-type-options: nosniff");
    const broken = await raw("GET /healthz HTTP/1.1\r\nHost: x\r\nBad\u0001Header: y\r\n\r\n");
    expect(broken).toMatch(/^HTTP\/1\.1 400 /);
    expect(broken).toContain('"code":"bad_request"');
  });
});
