import type { FastifyInstance } from "fastify";
import { invalid, StewardError } from "../../core/errors.js";
import { parseIsoDate } from "../../core/expiry.js";
import type { Services } from "../../service/services.js";
import type { NewTokenRequest } from "../../service/tokens.js";
import { tokenView } from "../../service/views.js";
import { pageOfTokens } from "../api-paging.js";
import {
  NEW_TOKEN_BODY,
  type NewTokenBody,
  pageOf,
  REVOKE_ALL_QUERY,
  REVOKED_COUNT,
  type RevokeAllQuery,
  TOKEN_LIST_QUERY,
  type TokenListQuery,
} from "../api-schemas.js";
import { pathOnly } from "../log.js";

/** The body of a token creation, as the token service takes it: one expiry, dates parsed. */
export function newTokenRequest(body: NewTokenBody): NewTokenRequest {
  if (body.expiresIn != null && body.expiresAt != null) {
    throw invalid("Give expiresIn or expiresAt, not both.", { field: "expiresAt" });
  }
  let expiresAt: number | null = null;
  if (body.expiresAt != null) {
    expiresAt = parseIsoDate(body.expiresAt);
    if (expiresAt === null)
      throw invalid("expiresAt must be an ISO 8601 date-time, e.g. 2030-01-31T12:00:00Z.", {
        field: "expiresAt",
      });
  }
  if (body.tokenFormat && body.format && body.tokenFormat !== body.format) {
    throw invalid("tokenFormat and format disagree; give one of them.", { field: "tokenFormat" });
  }
  return {
    name: body.name,
    expiresInSeconds: body.expiresIn ?? null,
    expiresAt,
    scopes: body.scopes,
    allowedCidrs: body.allowedCidrs,
    format: body.tokenFormat ?? body.format ?? "steward",
  };
}

/**
 * A bulk revoke is asked for by its exact path only: `DELETE …/tokens/` is what a script sends when the
 * id it meant to append is empty, and must not revoke everything (the router ignores trailing slashes).
 */
export function refuseSlashedCollection(url: string): void {
  if (pathOnly(url).endsWith("/")) {
    throw new StewardError(
      "not_found",
      "No token id in the path. To revoke all tokens, send DELETE to the collection without a trailing slash.",
    );
  }
}

/** GET /api/v1/tokens (my tokens, paged) and POST /api/v1/tokens (a new one for me). */
export function apiTokensRoutes(api: FastifyInstance, services: Services): void {
  api.get<{ Querystring: TokenListQuery }>(
    "/api/v1/tokens",
    {
      config: { access: { scope: "tokens:read" } },
      schema: {
        summary: "List my tokens",
        description: "The caller's tokens, oldest first. Never their values.",
        tags: ["tokens"],
        operationId: "listTokens",
        querystring: TOKEN_LIST_QUERY,
        response: { 200: pageOf("Token", "A page of my tokens.") },
      },
    },
    async (request) => {
      const { cursor, limit, includeRevoked } = request.query;
      const tokens = await services.tokens.list(request.principal.userId, { includeRevoked });
      const page = pageOfTokens(tokens, cursor, limit);
      return { items: page.items.map((t) => tokenView(t, services.usage)), next: page.next };
    },
  );

  api.post<{ Body: NewTokenBody }>(
    "/api/v1/tokens",
    {
      config: { access: { scope: "tokens:write" } },
      schema: {
        summary: "Create a token for me",
        description:
          "The value is in this answer only. A scoped token can only create tokens with scopes it holds. " +
          "Expiry: `expiresIn` or `expiresAt`, else the policy's default; never beyond its maximum.",
        tags: ["tokens"],
        operationId: "createToken",
        body: NEW_TOKEN_BODY,
        response: { 201: { $ref: "IssuedToken#" } },
      },
    },
    async (request, reply) => {
      const owner = await services.tokens.ownerFor(request.actor, request.principal.userId);
      const issued = await services.tokens.create(request.actor, owner, newTokenRequest(request.body));
      return reply
        .code(201)
        .header("Cache-Control", "no-store")
        .send({ token: tokenView(issued.token, services.usage), value: issued.value });
    },
  );

  api.delete<{ Querystring: RevokeAllQuery }>(
    "/api/v1/tokens",
    {
      config: { access: { scope: "tokens:write" } },
      schema: {
        summary: "Revoke all my tokens",
        description:
          "Every live token of the caller — the one making this call too, unless it is named in `except` — " +
          "is refused everywhere at once (Jenkins' revokeAll and revokeAllExcept).",
        tags: ["tokens"],
        operationId: "revokeAllTokens",
        querystring: REVOKE_ALL_QUERY,
        response: { 200: REVOKED_COUNT },
      },
    },
    async (request) => {
      refuseSlashedCollection(request.url);
      const owner = await services.tokens.ownerFor(request.actor, request.principal.userId);
      const except = request.query.except ?? null;
      return { revoked: await services.tokens.revokeAllChecked(request.actor, owner, except) };
    },
  );
}
