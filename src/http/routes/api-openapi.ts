import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";
import { type Html, html } from "../../ui/html.js";

const CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

interface SchemaLike {
  type?: string | string[];
  description?: string;
  enum?: unknown[];
  items?: SchemaLike;
  properties?: Record<string, SchemaLike>;
  required?: string[];
  $ref?: string;
}

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: SchemaLike }[];
  requestBody?: { content?: Record<string, { schema?: SchemaLike }> };
  responses?: Record<string, { description?: string }>;
}

interface Document {
  info: { title: string; description?: string };
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
}

/** Text with `code` spans (the document's only markup) as HTML; everything else escaped. */
function prose(text: string): Html {
  return html`${text.split("`").map((part, i) => (i % 2 === 1 ? html`<code>${part}</code>` : part))}`;
}

function typeOf(schema: SchemaLike | undefined): string {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").at(-1)!;
  if (schema.enum) return schema.enum.map(String).join(" | ");
  const types = Array.isArray(schema.type) ? schema.type : [schema.type ?? "any"];
  const item = typeOf(schema.items);
  const array = item.includes(" | ") ? `(${item})[]` : `${item}[]`;
  return types.map((t) => (t === "array" ? array : t)).join(" | ");
}

function fieldRows(schema: SchemaLike | undefined): Html {
  const properties = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);
  return html`${Object.entries(properties).map(
    ([name, field]) =>
      html`<tr><td><code>${name}</code>${required.has(name) ? " (required)" : ""}</td><td><code>${typeOf(field)}</code></td><td>${prose(field.description ?? "")}</td></tr>`,
  )}`;
}

function operationSection(method: string, path: string, op: Operation): Html {
  const id = op.operationId ?? `${method}-${path}`;
  const body = op.requestBody?.content?.["application/json"]?.schema;
  const parameters = op.parameters ?? [];
  return html`<section class="operation" id="${id}">
<h3><code>${method.toUpperCase()} ${path}</code> — ${op.summary ?? ""}</h3>
${(op.description ?? "").split("\n\n").map((p) => html`<p>${prose(p)}</p>`)}
${
  parameters.length > 0
    ? html`<table><caption>Parameters</caption><thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead><tbody>${parameters.map(
        (p) =>
          html`<tr><td><code>${p.name}</code>${p.required ? " (required)" : ""}</td><td>${p.in}</td><td><code>${typeOf(p.schema)}</code></td><td>${prose(p.description ?? "")}</td></tr>`,
      )}</tbody></table>`
    : ""
}
${
  body
    ? html`<table><caption>JSON body</caption><thead><tr><th scope="col">Field</th><th scope="col">Type</th><th scope="col">Description</th></tr></thead><tbody>${fieldRows(body)}</tbody></table>`
    : ""
}
<table><caption>Responses</caption><thead><tr><th scope="col">Status</th><th scope="col">Meaning</th></tr></thead><tbody>${Object.entries(
    op.responses ?? {},
  ).map(
    ([status, r]) => html`<tr><td>${status}</td><td>${prose(r.description ?? "")}</td></tr>`,
  )}</tbody></table>
</section>`;
}

/** A readable reference built from the OpenAPI document: server-rendered, no script at all. */
export function renderApiReference(doc: Document): Html {
  const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ method: m, path, op: item[m]! })),
  );
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${doc.info.title} — Steward</title>
<link rel="stylesheet" href="/static/steward.css">
</head>
<body>
<main id="main" class="api-reference">
<h1>${doc.info.title}</h1>
<p>${prose(doc.info.description ?? "")}</p>
<p>Machine-readable: <a href="/api/v1/openapi.json">OpenAPI 3.1 document</a>.</p>
<nav aria-label="Operations"><ul>${operations.map(
    ({ method, path, op }) =>
      html`<li><a href="#${op.operationId ?? `${method}-${path}`}"><code>${method.toUpperCase()} ${path}</code></a> ${op.summary ?? ""}</li>`,
  )}</ul></nav>
${operations.map(({ method, path, op }) => operationSection(method, path, op))}
</main>
</body>
</html>`;
}

/** GET /api/v1/openapi.json (the document, generated from the route schemas) and GET /api/v1/docs. */
export function apiOpenApiRoutes(api: FastifyInstance, _services: Services): void {
  api.get(
    "/api/v1/openapi.json",
    {
      config: { public: true },
      schema: {
        summary: "This OpenAPI 3.1 document",
        tags: ["meta"],
        operationId: "getOpenApi",
        response: {
          200: { description: "The OpenAPI document.", type: "object", additionalProperties: true },
        },
      },
    },
    async (_request, reply) =>
      reply
        .header("Cache-Control", "no-cache")
        .header("Access-Control-Allow-Origin", "*")
        .send(api.swagger()),
  );

  api.get(
    "/api/v1/docs",
    {
      config: { public: true },
      schema: {
        summary: "A readable reference of this API",
        tags: ["meta"],
        operationId: "getApiReference",
        response: {
          200: {
            description: "An HTML page listing every operation.",
            content: { "text/html": { schema: { type: "string" } } },
          },
        },
      },
    },
    async (_request, reply) =>
      reply
        .type("text/html; charset=utf-8")
        .header("Content-Security-Policy", CSP)
        .header("X-Frame-Options", "deny")
        .header("Cache-Control", "no-cache")
        .send(renderApiReference(api.swagger() as unknown as Document).value),
  );
}
