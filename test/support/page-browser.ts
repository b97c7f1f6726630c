import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import { UI_ROUTES } from "../../src/http/routes/index.js";
import type { Services } from "../../src/service/services.js";
import { fetchCrumb, signIn } from "./harness.js";

/** In-memory "browsers" for the web UI tests: a session cookie, crumbs, and checks on every page. */
export const XSS = "<img src=x onerror=alert(1)>";
export const XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;";
export const FORM = { "content-type": "application/x-www-form-urlencoded" };
export const TOKEN_VALUE = /stw_[A-Za-z0-9]{36}/;

/** A browser: a session cookie, and the crumb of the pages it was served. */
export class Browser {
  constructor(
    readonly app: FastifyInstance,
    public cookie: string,
  ) {}

  /** Keeps a renewed session cookie, as a browser does. */
  private remember(response: LightMyRequestResponse): LightMyRequestResponse {
    const renewed = response.cookies.find((c) => c.name === "steward_session" && c.value !== "");
    if (renewed) this.cookie = `${renewed.name}=${renewed.value}`;
    if (response.headers["content-type"]?.toString().startsWith("text/html")) assertCleanPage(response.body);
    return response;
  }

  static async signIn(app: FastifyInstance, user: string, password: string): Promise<Browser> {
    return new Browser(app, await signIn(app, user, password));
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    return this.remember(await this.app.inject({ method: "GET", url, headers: { cookie: this.cookie } }));
  }

  async crumb(): Promise<string> {
    return (await fetchCrumb(this.app, { cookie: this.cookie })).crumb;
  }

  /** Posts a form; with `crumb: null` the crumb is left out, with a string that one is sent. */
  async post(
    url: string,
    fields: Record<string, string | string[]> = {},
    options: { crumb?: string | null } = {},
  ): Promise<LightMyRequestResponse> {
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(fields)) {
      for (const v of Array.isArray(value) ? value : [value]) body.append(key, v);
    }
    const crumb = options.crumb === undefined ? await this.crumb() : options.crumb;
    if (crumb !== null) body.append("Jenkins-Crumb", crumb);
    const response = await this.app.inject({
      method: "POST",
      url,
      headers: { cookie: this.cookie, ...FORM },
      payload: body.toString(),
    });
    return this.remember(response);
  }
}

/**
 * What the CSP demands of every page, checked on every page these tests see: no inline script, no
 * style attribute, no event-handler attribute (attribute values are blanked first: escaped user text
 * inside a value="…" is text, not an attribute).
 */
export function assertCleanPage(body: string): void {
  expect(body).not.toMatch(/<script(?![^>]*\bsrc="\/static\/steward\.js")/i);
  expect(body).not.toMatch(/<style/i);
  for (const tag of body.match(/<[a-zA-Z][^>]*>/g) ?? []) {
    const attributes = tag.replace(/"[^"]*"/g, '""');
    expect(attributes, tag).not.toMatch(/\sstyle\s*=/i);
    expect(attributes, tag).not.toMatch(/\son[a-z]+\s*=/i);
  }
  expect(body).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/); // never a stack trace
}

export function expectEscaped(body: string): void {
  expect(body).toContain(XSS_ESCAPED);
  expect(body).not.toContain("<img");
}

/** Every POST route of the web UI, found by registering the UI route modules on a recorder. */
export function uiPostRoutes(services: Services): string[] {
  const paths: string[] = [];
  const recorder = {
    get: () => recorder,
    post: (path: string) => {
      paths.push(path);
      return recorder;
    },
  } as unknown as FastifyInstance;
  for (const register of UI_ROUTES) register(recorder, services);
  return paths;
}
