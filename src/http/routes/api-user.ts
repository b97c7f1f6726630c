import type { FastifyInstance } from "fastify";
import type { Services } from "../../service/services.js";
import { userView } from "../../service/views.js";
import { ID_PARAMS, type IdParams, ROLE_SCHEMA } from "../api-schemas.js";

interface UserPatchBody {
  fullName?: string | null;
  email?: string | null;
  roles?: string[];
  disabled?: boolean;
  ownerId?: string | null;
  password?: string;
}

/** GET, PATCH and DELETE /api/v1/users/{id}: administrators only. */
export function apiUserRoutes(api: FastifyInstance, services: Services): void {
  const { users } = services;

  api.get<{ Params: IdParams }>(
    "/api/v1/users/:id",
    {
      config: { access: { scope: "users:read", admin: true } },
      schema: {
        summary: "Get a user or service account",
        tags: ["users"],
        operationId: "getUser",
        params: ID_PARAMS,
        response: { 200: { $ref: "User#" } },
      },
    },
    async (request) => userView(await users.get(request.params.id)),
  );

  api.patch<{ Params: IdParams; Body: UserPatchBody }>(
    "/api/v1/users/:id",
    {
      config: { access: { scope: "users:write", admin: true }, documentedErrors: [409] },
      schema: {
        summary: "Update a user or service account",
        description:
          "Roles and disabling apply at once, also to the user's tokens (a demoted admin's tokens lose admin " +
          "rights immediately; a disabled user's tokens stop working). Setting `password` ends the user's sessions.",
        tags: ["users"],
        operationId: "updateUser",
        params: ID_PARAMS,
        body: {
          type: "object",
          minProperties: 1,
          properties: {
            fullName: { type: ["string", "null"], maxLength: 1000 },
            email: { type: ["string", "null"], maxLength: 400 },
            roles: { type: "array", items: ROLE_SCHEMA, maxItems: 10 },
            disabled: { type: "boolean" },
            ownerId: { type: ["string", "null"], maxLength: 64, description: "Service accounts only." },
            password: {
              type: "string",
              maxLength: 1024,
              description: "A new password (not for service accounts).",
            },
          },
          additionalProperties: false,
        },
        response: { 200: { $ref: "User#" } },
      },
    },
    async (request) => {
      const { password, ...fields } = request.body;
      let user = await users.get(request.params.id);
      if (Object.keys(fields).length > 0) user = await users.update(request.actor, user.id, fields);
      if (password !== undefined) {
        await users.setPassword(request.actor, user.id, password);
        user = await users.get(user.id);
      }
      return userView(user);
    },
  );

  api.delete<{ Params: IdParams }>(
    "/api/v1/users/:id",
    {
      config: { access: { scope: "users:write", admin: true }, documentedErrors: [409] },
      schema: {
        summary: "Delete a user or service account",
        description:
          "Its tokens and sessions die with it, at once. The last administrator cannot be deleted.",
        tags: ["users"],
        operationId: "deleteUser",
        params: ID_PARAMS,
        response: { 204: { type: "null", description: "Deleted." } },
      },
    },
    async (request, reply) => {
      await users.delete(request.actor, request.params.id);
      return reply.code(204).send();
    },
  );
}
