import fastifySwagger from "@fastify/swagger";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import type { FastifyContextConfig, FastifyInstance, FastifyRequest, FastifySchema } from "fastify";
import { StewardError } from "../core/errors.js";
import { requireAdmin, requireAuthenticated, requireScope, type Scope } from "../core/permissions.js";
import type { Services } from "../service/services.js";
import { errors, SHARED_SCHEMAS } from "./api-schemas.js";
import { JENKINS_VERSION } from "./jenkins-headers.js";
import "./types.js";

/** Who may call an /api/v1 route; checked before anything else about the request is looked at. */
export interface ApiAccess {
  /** The scope a token caller needs (logins carry every scope); null = any authenticated caller. */
  scope: Scope | null;
  /** Only administrators (a scoped token of an admin also needs `scope`). */
  admin?: boolean;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** Required on every /api/v1 route that is not `public`: registration fails without it. */
    access?: ApiAccess;
    /** Error statuses a route answers beyond those its shape implies (see `errorStatuses`), for the document. */
    documentedErrors?: number[];
  }
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

interface OptionalBody {
  required?: boolean;
  content?: Record<string, { schema?: { required?: string[]; minProperties?: number } }>;
}

/** The access rule of the route handling `request`: 401 for anonymous callers, 403 naming what is missing. */
function checkAccess(request: FastifyRequest): void {
  const { config } = request.routeOptions;
  if (config.public) return;
  const access = config.access;
  // Registration refuses routes without a rule; this is the fail-closed backstop.
  if (!access) throw new StewardError("forbidden", "This route has no access rule.");
  if (access.admin && access.scope) {
    requireAdmin(request.principal, access.scope);
    return;
  }
  if (access.admin) throw new StewardError("forbidden", "This route has no access rule.");
  requireAuthenticated(request.principal);
  if (access.scope) requireScope(request.principal, access.scope);
}

function isJson(contentType: string | undefined): boolean {
  // Exactly the type Fastify's JSON parser handles; anything else would reach a handler unparsed.
  return (contentType ?? "").split(";", 1)[0]!.trim().toLowerCase() === "application/json";
}

/** Which field an Ajv error is about, as `body.name` rather than a JSON pointer. */
function fieldOf(dataVar: string, error: ErrorObject): string {
  return `${dataVar}${error.instancePath.replaceAll("/", ".")}`;
}

/** One clear sentence for the first validation error, naming the field. */
export function describeValidationError(errors: readonly ErrorObject[], dataVar: string): string {
  const error = errors[0];
  if (!error) return `${dataVar} is invalid.`;
  const field = fieldOf(dataVar, error);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties":
      return `${field} has an unknown field "${String(params.additionalProperty)}".`;
    case "required":
      return `${field} is missing the field "${String(params.missingProperty)}".`;
    case "enum":
      return `${field} must be one of: ${(params.allowedValues as unknown[]).map(String).join(", ")}.`;
    case "type":
      return `${field} must be of type ${String(params.type).replace(",", " or ")}.`;
    default:
      return `${field} ${error.message ?? "is invalid"}.`;
  }
}

/**
 * Validators: bodies strictly (JSON already has types, so nothing is coerced and unknown fields are
 * refused, not silently dropped); query strings and path parameters with coercion, since they are text.
 * Formats are annotations here; handlers parse dates themselves (core/expiry parseIsoDate). One pair
 * per process: route schemas are constants and Ajv caches what it compiled by schema object, so every
 * app built after the first (tests build many) reuses the validators.
 */
const AJV_COMMON = { allErrors: false, removeAdditional: false, formats: { "date-time": true } } as const;
const strictAjv = new Ajv({ ...AJV_COMMON, coerceTypes: false, useDefaults: true });
const lenientAjv = new Ajv({ ...AJV_COMMON, coerceTypes: true, useDefaults: true });

type Validator = ((data: unknown, context?: Parameters<ValidateFunction>[1]) => boolean) & {
  errors?: ErrorObject[] | null;
  schemaEnv?: unknown;
};

/**
 * Compiled on first use, not at start-up: Ajv compiling every route's schemas was a sixth of the
 * start-up CPU, for routes most processes never see. Fastify hands Ajv's parent context (needed to
 * coerce a root value) to validators that have `schemaEnv`, as compiled ones do; this one passes it on.
 */
function compileValidator({ schema, httpPart }: { schema: object; httpPart?: string }): Validator {
  const ajv = httpPart === "body" ? strictAjv : lenientAjv;
  let compiled: ValidateFunction | undefined;
  const validate: Validator = (data, context) => {
    compiled ??= ajv.compile(schema);
    const valid = compiled(data, context);
    validate.errors = compiled.errors;
    return valid;
  };
  validate.schemaEnv = true;
  return validate;
}

type RouteSchema = FastifySchema & {
  description?: string;
  security?: unknown[];
  response?: Record<string, unknown>;
  [extension: `x-${string}`]: unknown;
};

/**
 * The error statuses a route can answer, from its shape: any authenticated route 401 and 403 (role,
 * scope, crumb); anything taking input 400; a body 415; a path parameter 404; plus the route's own.
 */
function errorStatuses(schema: FastifySchema, config: FastifyContextConfig): number[] {
  const statuses = new Set(config.documentedErrors ?? []);
  if (!config.public) statuses.add(401).add(403);
  if (schema.body || schema.querystring || schema.params) statuses.add(400);
  if (schema.body) statuses.add(415);
  if (schema.params) statuses.add(404);
  return [...statuses].sort((a, b) => a - b);
}

/**
 * Error answers are documented, not serialized through a schema: the one error handler writes them,
 * and dozens of per-route error serializers would only slow start-up.
 */
function errorResponses(schema: FastifySchema, config: FastifyContextConfig) {
  return errors(...errorStatuses(schema, config));
}

function accessDescription(access: ApiAccess | undefined, isPublic: boolean): string {
  if (isPublic) return "No authentication.";
  if (!access) return "";
  const who = access.admin ? "Administrators only." : "Any authenticated caller.";
  const scope = access.scope ? ` A scoped token needs \`${access.scope}\`.` : " No scope needed.";
  return `${who}${scope}`;
}

/**
 * The Steward REST API (SPEC §4.2) as one encapsulated plugin: its own strict validators, an access rule
 * on every route (checked in onRequest, so before crumbs, bodies and validation), JSON-only bodies, and
 * an OpenAPI 3.1 document generated from the route schemas.
 */
export function registerApiV1(
  app: FastifyInstance,
  services: Services,
  routes: ReadonlyArray<(api: FastifyInstance, services: Services) => void>,
): void {
  app.register(async (api) => {
    api.addHook("onRoute", (route) => {
      const { public: isPublic, access } = route.config ?? {};
      if (!isPublic && !access) {
        throw new Error(`${route.method} ${route.url} has neither an access rule nor config.public.`);
      }
      if (access?.admin && !access.scope) {
        throw new Error(`${route.method} ${route.url}: an admin route names the scope a token needs.`);
      }
    });
    api.setValidatorCompiler(compileValidator);
    api.setSchemaErrorFormatter((errors, dataVar) => new Error(describeValidationError(errors, dataVar)));
    for (const schema of SHARED_SCHEMAS) api.addSchema(schema);

    await api.register(fastifySwagger, {
      openapi: {
        openapi: "3.1.0",
        info: {
          title: "Steward REST API",
          version: "1",
          description:
            "Jenkins-compatible API tokens as a service. Authenticate with `Authorization: Basic base64(user:token)` " +
            "or `Authorization: Bearer <token>`; " +
            "a browser session works too, with a `Jenkins-Crumb` header on state-changing calls. Errors are " +
            `\`{"error": {"code", "message"}}\`. The Jenkins-compatible surface (Jenkins ${JENKINS_VERSION}) is not part of this document.`,
        },
        components: {
          securitySchemes: {
            basicAuth: {
              type: "http",
              scheme: "basic",
              description: "User id and API token (or password, when an admin allows it).",
            },
            bearerAuth: {
              type: "http",
              scheme: "bearer",
              description: "An API token alone: its value names its owner.",
            },
            session: { type: "apiKey", in: "cookie", name: "steward_session" },
          },
        },
        security: [{ basicAuth: [] }, { bearerAuth: [] }, { session: [] }],
        tags: [
          { name: "tokens", description: "API tokens" },
          { name: "users", description: "Users and service accounts (admin)" },
          { name: "settings", description: "Token policy (admin)" },
          { name: "audit", description: "Audit log (admin)" },
          { name: "webhooks", description: "Signed notifications of audit events (admin)" },
          { name: "meta", description: "The caller and this document" },
        ],
      },
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) =>
          typeof json.$id === "string" ? json.$id : `def-${i}`,
      },
      transform: ({ schema, url, route }) => {
        const config = (route.config ?? {}) as FastifyContextConfig;
        const base = (schema ?? {}) as RouteSchema;
        const transformed: RouteSchema = {
          ...base,
          description: [base.description, accessDescription(config.access, !!config.public)]
            .filter(Boolean)
            .join("\n\n"),
          response: { ...base.response, ...errorResponses(base, config) },
        };
        if (config.public) transformed.security = [];
        if (config.access?.scope) transformed["x-steward-scope"] = config.access.scope;
        if (config.access?.admin) transformed["x-steward-admin"] = true;
        return { schema: transformed as FastifySchema, url };
      },
      // The generator marks every body as required; ours may be omitted when nothing in it is required.
      transformObject: (document) => {
        if (!("openapiObject" in document)) return document.swaggerObject;
        const { openapiObject } = document;
        for (const item of Object.values(openapiObject.paths ?? {})) {
          for (const operation of Object.values(item ?? {})) {
            const body = (operation as { requestBody?: OptionalBody }).requestBody;
            const schema = body?.content?.["application/json"]?.schema;
            if (body && !schema?.required?.length && !schema?.minProperties) body.required = false;
          }
        }
        return openapiObject;
      },
    });

    // After authentication (root onRequest): the route's rule, before crumbs, parsing and validation,
    // so an anonymous or unprivileged caller learns nothing from how its request was shaped.
    api.addHook("onRequest", async (request) => checkAccess(request));

    api.addHook("preValidation", async (request) => {
      if (!BODY_METHODS.has(request.method)) return;
      const hasBody =
        Number(request.headers["content-length"] ?? 0) > 0 ||
        request.headers["transfer-encoding"] !== undefined;
      if (hasBody && !isJson(request.headers["content-type"])) {
        throw new StewardError(
          "unsupported_media_type",
          "Send the request body as JSON, with Content-Type: application/json.",
        );
      }
      // No body at all is an empty object, so optional-only bodies (e.g. rotate) need none.
      if (request.body === undefined) request.body = {};
    });

    for (const register of routes) register(api, services);
  });
}
