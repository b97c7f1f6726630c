import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ROUTES, createWorld, type World } from "./support/api-routes.js";

interface Operation {
  operationId?: string;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

let world: World;
let doc: Document;
beforeAll(async () => {
  world = await createWorld();
  const response = await world.t.app.inject({ url: "/api/v1/openapi.json" });
  expect(response.statusCode).toBe(200);
  expect(response.headers["content-type"]).toMatch(/^application\/json/);
  doc = response.json() as Document;
});
afterAll(async () => {
  await world.t.close();
});

describe("GET /api/v1/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(doc.openapi).toBe("3.1.0");
  });

  it("documents the fixed paths and field names of SPEC §4.2", () => {
    const paths = Object.keys(doc.paths);
    for (const path of [
      "/api/v1/tokens",
      "/api/v1/tokens/{id}",
      "/api/v1/tokens/{id}/rotate",
      "/api/v1/tokens/self/rotate",
      "/api/v1/tokens/report-leak",
      "/api/v1/me",
      "/api/v1/users",
      "/api/v1/users/{id}",
      "/api/v1/users/{id}/tokens",
      "/api/v1/settings",
      "/api/v1/audit",
    ]) {
      expect(paths).toContain(path);
    }
    const token = doc.components.schemas.Token as { properties: Record<string, unknown> };
    for (const field of [
      "id",
      "name",
      "createdAt",
      "expiresAt",
      "lastUsedAt",
      "useCount",
      "scopes",
      "allowedCidrs",
      "revokedAt",
      "format",
    ]) {
      expect(Object.keys(token.properties)).toContain(field);
    }
    expect(Object.keys(token.properties)).not.toContain("hash");
    expect(Object.keys(token.properties)).not.toContain("value");
    const event = doc.components.schemas.Event as { properties: Record<string, unknown> };
    expect(Object.keys(event.properties).sort()).toEqual(
      ["id", "at", "action", "actor", "target", "ip", "userAgent", "outcome", "requestId", "details"].sort(),
    );
  });

  it("gives every operation a unique operationId and a scope rule in words", () => {
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const create = doc.paths["/api/v1/tokens"]!.post as Operation & { description: string };
    expect(create.description).toContain("`tokens:write`");
    const leak = doc.paths["/api/v1/tokens/report-leak"]!.post as Operation & { security: unknown[] };
    expect(leak.security).toEqual([]);
  });

  it("has only local references, each to an existing schema", () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]*)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of new Set(refs)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.split("/").at(-1)!], ref).toBeDefined();
    }
  });

  it("documents the errors each operation can answer", () => {
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path]![method]!.responses);
    expect(statuses("/api/v1/tokens/{id}/rotate", "post")).toEqual([
      "200",
      "400",
      "401",
      "403",
      "404",
      "409",
      "415",
    ]);
    expect(statuses("/api/v1/tokens/report-leak", "post")).toEqual(["202", "400", "415", "429"]);
    expect(statuses("/api/v1/settings", "get")).toEqual(["200", "401", "403"]);
  });

  it("marks bodies with no required field as optional", () => {
    type WithBody = { requestBody: { required: boolean } };
    const rotate = doc.paths["/api/v1/tokens/self/rotate"]!.post as unknown as WithBody;
    expect(rotate.requestBody.required).toBe(false);
    const leak = doc.paths["/api/v1/tokens/report-leak"]!.post as unknown as WithBody;
    expect(leak.requestBody.required).toBe(true);
    const patch = doc.paths["/api/v1/users/{id}"]!.patch as unknown as WithBody;
    expect(patch.requestBody.required).toBe(true);
  });
});

describe("every documented operation is served as documented", () => {
  let shared: Ajv2020 | null = null;
  const ajv = () => {
    // The document's schemas are JSON Schema 2020-12 (OpenAPI 3.1); refs resolve inside the document.
    if (!shared) {
      shared = new Ajv2020({ strict: false, validateFormats: false });
      shared.addSchema(doc, "openapi");
    }
    return shared;
  };
  const pointer = (...parts: string[]) =>
    `openapi#/${parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`;

  it.each(API_ROUTES.map((r) => [`${r.method} ${r.path}`, r] as const))("%s", async (_label, route) => {
    const operation = doc.paths[route.path]?.[route.method.toLowerCase()];
    expect(operation, "documented").toBeDefined();
    // The caller the route is for: an admin's token with exactly the documented scope.
    const { auth } = await world.token("root", route.scope ? [route.scope] : undefined);
    const response = await world.call(route, { headers: route.public ? {} : { authorization: auth } });
    expect(response.statusCode).not.toBe(404);
    const status = String(response.statusCode);
    expect(Object.keys(operation!.responses), `status ${status} documented`).toContain(status);
    const content = operation!.responses[status]!.content;
    if (!content) {
      expect(response.body).toBe("");
      return;
    }
    const mediaType = String(response.headers["content-type"]).split(";")[0]!;
    expect(Object.keys(content)).toContain(mediaType);
    if (mediaType === "application/json") {
      const validate = ajv().compile({
        $ref: pointer(
          "paths",
          route.path,
          route.method.toLowerCase(),
          "responses",
          status,
          "content",
          mediaType,
          "schema",
        ),
      });
      const valid = validate(response.json());
      expect(validate.errors ?? [], response.body).toEqual([]);
      expect(valid).toBe(true);
    }
  });

  it("documents errors in the shape they are sent", async () => {
    const route = API_ROUTES.find((r) => r.path === "/api/v1/users" && r.method === "GET")!;
    const response = await world.call(route, {});
    expect(response.statusCode).toBe(401);
    const validate = ajv().compile({ $ref: "openapi#/components/schemas/Error" });
    expect(validate(response.json())).toBe(true);
  });
});

describe("GET /api/v1/docs", () => {
  it("renders every operation as HTML without any script, under a strict CSP", async () => {
    const response = await world.t.app.inject({ url: "/api/v1/docs" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/html/);
    expect(response.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(response.headers["content-security-policy"]).not.toContain("unsafe-inline");
    expect(response.body).not.toMatch(/<script/i);
    expect(response.body).not.toMatch(/\son[a-z]+=/i);
    for (const route of API_ROUTES) {
      expect(response.body).toContain(`${route.method} ${route.path}`);
    }
    expect(response.body).toContain('href="/api/v1/openapi.json"');
  });
});
