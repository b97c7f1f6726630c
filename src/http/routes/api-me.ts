import type { FastifyInstance } from "fastify";
import { requireAuthenticated } from "../../core/permissions.js";
import { ROLE_SCHEMA, SCOPE_SCHEMA } from "../api-schemas.js";

/** GET /api/v1/me: who the caller is and how it authenticated. Any authenticated caller, any scope. */
export function apiMeRoutes(app: FastifyInstance): void {
  app.get(
    "/api/v1/me",
    {
      config: { access: { scope: null } },
      schema: {
        summary: "Who am I",
        description: "The caller, and for a token caller the token's id and scopes.",
        tags: ["meta"],
        operationId: "getMe",
        response: {
          200: {
            description: "The caller.",
            type: "object",
            required: ["id", "fullName", "email", "roles", "kind", "authenticatedBy"],
            properties: {
              id: { type: "string" },
              fullName: { type: "string" },
              email: { type: ["string", "null"] },
              roles: { type: "array", items: ROLE_SCHEMA },
              kind: { type: "string", enum: ["user", "service"] },
              authenticatedBy: { type: "string", enum: ["token", "password", "session"] },
              tokenId: { type: "string", description: "When authenticated by a token." },
              scopes: {
                type: ["array", "null"],
                items: SCOPE_SCHEMA,
                description: "When authenticated by a token: its scopes (null = all of the owner's).",
              },
            },
            additionalProperties: false,
          },
        },
      },
    },
    async (request) => {
      const principal = request.principal;
      requireAuthenticated(principal);
      return {
        id: principal.userId,
        fullName: principal.fullName,
        email: principal.email,
        roles: principal.roles,
        kind: principal.kind,
        authenticatedBy: principal.authenticatedBy,
        ...(principal.tokenId ? { tokenId: principal.tokenId, scopes: principal.scopes ?? null } : {}),
      };
    },
  );
}
