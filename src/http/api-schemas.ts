import { ROLES, SCOPES } from "../core/permissions.js";

/**
 * JSON schemas of the /api/v1 surface (SPEC §4.2). The shared ones (with an `$id`) are registered once
 * and referenced as `{ $ref: "Token#" }`; they shape responses (nothing outside a schema is ever sent,
 * so a hash can never slip into an answer) and become `components.schemas` of the OpenAPI document.
 */

const dateTime = (description: string) => ({ type: "string", format: "date-time", description }) as const;
const dateTimeOrNull = (description: string) =>
  ({ type: ["string", "null"], format: "date-time", description }) as const;

export const SCOPE_SCHEMA = { type: "string", enum: [...SCOPES] } as const;
export const ROLE_SCHEMA = { type: "string", enum: [...ROLES] } as const;

export const TOKEN_SCHEMA = {
  $id: "Token",
  type: "object",
  description: "An API token. Its value is shown once, when it is created or rotated; its hash never.",
  required: [
    "id",
    "name",
    "userId",
    "createdAt",
    "expiresAt",
    "lastUsedAt",
    "useCount",
    "scopes",
    "allowedCidrs",
    "revokedAt",
    "format",
  ],
  properties: {
    id: { type: "string", description: "The token's uuid." },
    name: { type: "string" },
    userId: { type: "string", description: "The owner." },
    createdAt: dateTime("When it was created."),
    expiresAt: dateTimeOrNull("When it stops working; null = never."),
    lastUsedAt: dateTimeOrNull("Last authenticated use (counted in memory, written in batches)."),
    useCount: { type: "integer", minimum: 0 },
    scopes: {
      type: ["array", "null"],
      items: SCOPE_SCHEMA,
      description: "What it may do; null = everything its owner may do (as in Jenkins).",
    },
    allowedCidrs: {
      type: ["array", "null"],
      items: { type: "string" },
      description: "Client networks it works from; null = any.",
    },
    revokedAt: dateTimeOrNull(
      "When it was revoked, or when the old value of a rotated token stops working (end of its grace).",
    ),
    format: { type: "string", enum: ["steward", "jenkins", "legacy"] },
  },
  additionalProperties: false,
} as const;

export const ISSUED_TOKEN_SCHEMA = {
  $id: "IssuedToken",
  type: "object",
  description: "A new token value, shown this once: only its hash is kept.",
  required: ["token", "value"],
  properties: {
    token: { $ref: "Token#" },
    value: { type: "string", description: "The plain value: `stw_…` (or `11…` in the Jenkins format)." },
  },
  additionalProperties: false,
} as const;

export const USER_SCHEMA = {
  $id: "User",
  type: "object",
  description: "A user or a service account. Never its password hash.",
  required: ["id", "fullName", "email", "roles", "kind", "ownerId", "disabled", "hasPassword", "createdAt"],
  properties: {
    id: { type: "string" },
    fullName: { type: "string" },
    email: { type: ["string", "null"] },
    roles: { type: "array", items: ROLE_SCHEMA },
    kind: { type: "string", enum: ["user", "service"] },
    ownerId: { type: ["string", "null"], description: "For a service account: the user managing it." },
    disabled: { type: "boolean" },
    hasPassword: { type: "boolean" },
    createdAt: dateTime("When it was created."),
  },
  additionalProperties: false,
} as const;

const ACTOR_OR_TARGET = {
  type: "object",
  required: ["userId", "tokenId"],
  properties: { userId: { type: ["string", "null"] }, tokenId: { type: ["string", "null"] } },
  additionalProperties: false,
} as const;

export const EVENT_SCHEMA = {
  $id: "Event",
  type: "object",
  description: "An audit event: who did what to which token or user, when, from where.",
  required: ["id", "at", "action", "actor", "target", "ip", "userAgent", "outcome", "requestId", "details"],
  properties: {
    id: { type: "integer" },
    at: dateTime("When it happened."),
    action: { type: "string", description: "Dotted, e.g. `token.created`, `login.failed`." },
    actor: { ...ACTOR_OR_TARGET, description: "Who acted (null user = anonymous)." },
    target: { ...ACTOR_OR_TARGET, description: "What it was done to." },
    ip: { type: ["string", "null"] },
    userAgent: { type: ["string", "null"] },
    outcome: { type: "string", enum: ["success", "failure", "denied"] },
    requestId: { type: ["string", "null"] },
    details: { type: "object", additionalProperties: true },
  },
  additionalProperties: false,
} as const;

const SECONDS_OR_NULL = { type: ["integer", "null"], minimum: 1 } as const;

/** Settings fields, for the answer (all required) and the update (any subset). */
const SETTINGS_PROPERTIES = {
  maxTokenLifetimeSeconds: { ...SECONDS_OR_NULL, description: "Longest token lifetime; null = unlimited." },
  defaultTokenLifetimeSeconds: {
    ...SECONDS_OR_NULL,
    description: "Lifetime of a token created without one; null = never expires.",
  },
  legacyTokensEnabled: { type: "boolean", description: "Whether Jenkins' legacy per-user token may exist." },
  usageStatisticsEnabled: { type: "boolean", description: "Whether token use is counted." },
  adminCanGenerateTokensForOthers: {
    type: "boolean",
    description: "Whether admins may create tokens for other users (Jenkins' adminCanGenerateNewTokens).",
  },
  passwordBasicAuthEnabled: {
    type: "boolean",
    description: "Whether `Authorization: Basic user:password` is accepted (tokens always are).",
  },
  maxRotationGraceSeconds: {
    type: "integer",
    minimum: 0,
    description: "Longest time the old value of a rotated token may keep working.",
  },
  newAddressGranularity: {
    type: "string",
    enum: ["address", "subnet"],
    description:
      "When a token's use counts as from a new address (`token.used.new-ip`): a new address, or a new /24 (IPv4) or /64 (IPv6).",
  },
  expiryWarningDays: {
    type: "array",
    items: { type: "integer", minimum: 1, maximum: 365 },
    maxItems: 10,
    description:
      "Days before expiry at which `token.expiring` is sent, once per token and threshold; [] = never.",
  },
} as const;

export const SETTINGS_SCHEMA = {
  $id: "Settings",
  type: "object",
  description: "The token policy.",
  required: Object.keys(SETTINGS_PROPERTIES),
  properties: SETTINGS_PROPERTIES,
  additionalProperties: false,
} as const;

export const SETTINGS_PATCH_SCHEMA = {
  type: "object",
  description: "The settings to change; the others keep their values.",
  properties: SETTINGS_PROPERTIES,
  additionalProperties: false,
  minProperties: 1,
} as const;

export const ERROR_SCHEMA = {
  $id: "Error",
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", description: "Stable, machine-readable, e.g. `missing_scope`." },
        message: { type: "string", description: "For people." },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const;

export const SHARED_SCHEMAS = [
  TOKEN_SCHEMA,
  ISSUED_TOKEN_SCHEMA,
  USER_SCHEMA,
  EVENT_SCHEMA,
  SETTINGS_SCHEMA,
  ERROR_SCHEMA,
] as const;

/** `{ items: [X], next }`: one page, and the cursor of the next one (null on the last page). */
/** `{ items: [item] }`: a whole (unpaged) list of `item` schemas. */
export function listOf<Item extends object>(item: Item) {
  return {
    type: "object",
    required: ["items"],
    properties: { items: { type: "array", items: item } },
    additionalProperties: false,
  } as const;
}

export function pageOf(itemRef: string, description = `A page of ${itemRef} objects.`) {
  return {
    type: "object",
    description,
    required: ["items", "next"],
    properties: {
      items: { type: "array", items: { $ref: `${itemRef}#` } },
      next: { type: ["string", "null"], description: "Pass as `cursor` for the next page; null at the end." },
    },
    additionalProperties: false,
  } as const;
}

export const PAGE_QUERY_PROPERTIES = {
  cursor: { type: "string", maxLength: 200, description: "The `next` of the previous page." },
  limit: { type: "integer", minimum: 1, maximum: 500, default: 100, description: "Page size." },
} as const;

export const TOKEN_LIST_QUERY = {
  type: "object",
  properties: {
    ...PAGE_QUERY_PROPERTIES,
    includeRevoked: {
      type: "boolean",
      default: false,
      description: "Also list revoked tokens and old values of rotated ones.",
    },
  },
  additionalProperties: false,
} as const;

export interface TokenListQuery {
  cursor?: string;
  limit: number;
  includeRevoked: boolean;
}

export const ID_PARAMS = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", minLength: 1, maxLength: 200 } },
  additionalProperties: false,
} as const;

export interface IdParams {
  id: string;
}

export const NEW_TOKEN_BODY = {
  type: "object",
  properties: {
    name: {
      type: ["string", "null"],
      maxLength: 1000,
      description: "1–100 characters after trimming; empty, null or omitted = Jenkins' default name.",
    },
    expiresIn: { type: ["integer", "null"], minimum: 1, description: "Lifetime in seconds." },
    expiresAt: { type: ["string", "null"], format: "date-time", description: "Expiry (ISO 8601)." },
    scopes: {
      type: ["array", "null"],
      items: SCOPE_SCHEMA,
      maxItems: SCOPES.length,
      description: "Omitted, null or [] = the caller's own scopes (all for a login or an unscoped token).",
    },
    allowedCidrs: {
      type: ["array", "null"],
      items: { type: "string", maxLength: 100 },
      maxItems: 100,
      description: "Client networks it may be used from, e.g. `10.0.0.0/8`, `2001:db8::/32`.",
    },
    tokenFormat: {
      type: "string",
      enum: ["steward", "jenkins"],
      description: "`steward` (default, `stw_…`) or `jenkins` (`11` + 32 hex, for tooling that expects it).",
    },
    format: {
      type: "string",
      enum: ["steward", "jenkins"],
      description: "The same as `tokenFormat` (the name of the Token field that reports it).",
    },
  },
  additionalProperties: false,
} as const;

export interface NewTokenBody {
  name?: string | null;
  expiresIn?: number | null;
  expiresAt?: string | null;
  scopes?: string[] | null;
  allowedCidrs?: string[] | null;
  tokenFormat?: "steward" | "jenkins";
  format?: "steward" | "jenkins";
}

/** What each error status means on this API, for the OpenAPI document. */
export const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: "Invalid request: the message names the field.",
  401: "No or bad credentials, or an expired token (`token_expired`).",
  403: "Not permitted: a missing role or scope (named), a token used from a refused address, or no valid crumb.",
  404: "Not found: also what exists but is not the caller's.",
  409: "Conflicting state (e.g. an already rotated token, the last administrator).",
  415: "The body is not JSON.",
  429: "Too many requests; see Retry-After.",
};

/**
 * Error answers for a route's `response` schema. Not needed: the OpenAPI transform in api-v1.ts adds
 * the errors a route's shape implies, and `config.documentedErrors` the others, without compiling a
 * serializer per status. Kept for routes that list their errors explicitly.
 */
export function errors(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: ERROR_DESCRIPTIONS[status] ?? "Error.",
        content: { "application/json": { schema: { $ref: "Error#" } } },
      },
    ]),
  );
}

/** `?except=` of a revoke-all: the one token to keep. */
export const REVOKE_ALL_QUERY = {
  type: "object",
  properties: {
    except: {
      type: "string",
      maxLength: 200,
      description:
        "Keep this token (its id); it must be a live token of the user, else nothing is revoked (400).",
    },
  },
  additionalProperties: false,
} as const;

export interface RevokeAllQuery {
  except?: string;
}

/** The answer of a revoke-all. */
export const REVOKED_COUNT = {
  type: "object",
  description: "How many live tokens were revoked.",
  properties: { revoked: { type: "integer", minimum: 0 } },
  required: ["revoked"],
  additionalProperties: false,
} as const;
