import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";
import { tokenView } from "../../service/views.js";
import { pageOfTokens } from "../api-paging.js";
import {
  ID_PARAMS,
  type IdParams,
  NEW_TOKEN_BODY,
  type NewTokenBody,
  pageOf,
  REVOKE_ALL_QUERY,
  REVOKED_COUNT,
  type RevokeAllQuery,
  TOKEN_LIST_QUERY,
  type TokenListQuery,
} from "../api-schemas.js";
import { newTokenRequest, refuseSlashedCollection } from "./api-tokens.js";

const WHO =
  "Administrators, the user itself, and the owner of a service account; anyone else gets 404 (whether or not the user exists).";

/** GET and POST /api/v1/users/{id}/tokens: another user's (or a service account's) tokens. */
export function apiUserTokensRoutes(api: FastifyInstance, services: Services): void {
  const { tokens } = services;

  api.get<{ Params: IdParams; Querystring: TokenListQuery }>(
    "/api/v1/users/:id/tokens",
    {
      config: { access: { scope: "tokens:read" } },
      schema: {
        summary: "List a user's tokens",
        description: `Never their values. ${WHO}`,
        tags: ["tokens", "users"],
        operationId: "listUserTokens",
        params: ID_PARAMS,
        querystring: TOKEN_LIST_QUERY,
        response: { 200: pageOf("Token", "A page of the user's tokens.") },
      },
    },
    async (request) => {
      const owner = await tokens.ownerFor(request.actor, request.params.id);
      const { cursor, limit, includeRevoked } = request.query;
      const page = pageOfTokens(await tokens.list(owner.id, { includeRevoked }), cursor, limit);
      return { items: page.items.map((t) => tokenView(t, services.usage)), next: page.next };
    },
  );

  api.post<{ Params: IdParams; Body: NewTokenBody }>(
    "/api/v1/users/:id/tokens",
    {
      config: { access: { scope: "tokens:write" } },
      schema: {
        summary: "Create a token for a user",
        description:
          "For a service account, its owner or any administrator may; for anyone else, an administrator " +
          `only when the policy's adminCanGenerateTokensForOthers is on (as Jenkins' adminCanGenerateNewTokens). ${WHO}`,
        tags: ["tokens", "users"],
        operationId: "createUserToken",
        params: ID_PARAMS,
        body: NEW_TOKEN_BODY,
        response: { 201: { $ref: "IssuedToken#" } },
      },
    },
    async (request, reply) => {
      const owner = await tokens.ownerFor(request.actor, request.params.id);
      await tokens.assertMayCreateFor(request.actor, owner);
      const issued = await tokens.create(request.actor, owner, newTokenRequest(request.body));
      return reply
        .code(201)
        .header("Cache-Control", "no-store")
        .send({ token: tokenView(issued.token, services.usage), value: issued.value });
    },
  );

  api.delete<{ Params: IdParams; Querystring: RevokeAllQuery }>(
    "/api/v1/users/:id/tokens",
    {
      config: { access: { scope: "tokens:write" } },
      schema: {
        summary: "Revoke all of a user's tokens",
        description: `Every live token of the user but the one named in \`except\`, refused everywhere at once. ${WHO}`,
        tags: ["tokens", "users"],
        operationId: "revokeAllUserTokens",
        params: ID_PARAMS,
        querystring: REVOKE_ALL_QUERY,
        response: { 200: REVOKED_COUNT },
      },
    },
    async (request) => {
      refuseSlashedCollection(request.url);
      const owner = await tokens.ownerFor(request.actor, request.params.id);
      return { revoked: await tokens.revokeAllChecked(request.actor, owner, request.query.except ?? null) };
    },
  );
}
