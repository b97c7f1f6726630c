import type { FastifyInstance } from "fastify";
import type { UserKind } from "../../core/permissions.js";
import type { Services } from "../../service/services.js";
import { userView } from "../../service/views.js";
import { decodeCursor, encodeCursor } from "../api-paging.js";
import { PAGE_QUERY_PROPERTIES, pageOf, ROLE_SCHEMA } from "../api-schemas.js";

interface UserListQuery {
  kind?: UserKind;
  search?: string;
  cursor?: string;
  limit: number;
}

interface NewUserBody {
  id: string;
  fullName?: string | null;
  email?: string | null;
  password?: string | null;
  roles?: string[];
  kind?: UserKind;
  ownerId?: string | null;
}

/** GET /api/v1/users (paged) and POST /api/v1/users: administrators only. */
export function apiUsersRoutes(api: FastifyInstance, services: Services): void {
  api.get<{ Querystring: UserListQuery }>(
    "/api/v1/users",
    {
      config: { access: { scope: "users:read", admin: true } },
      schema: {
        summary: "List users and service accounts",
        description: "Ordered by id (case-insensitive).",
        tags: ["users"],
        operationId: "listUsers",
        querystring: {
          type: "object",
          properties: {
            kind: { type: "string", enum: ["user", "service"] },
            search: {
              type: "string",
              maxLength: 100,
              description: "Part of the id, full name or email, case-insensitive.",
            },
            ...PAGE_QUERY_PROPERTIES,
          },
          additionalProperties: false,
        },
        response: { 200: pageOf("User", "A page of users, by id.") },
      },
    },
    async (request) => {
      const { kind, search, cursor, limit } = request.query;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, ["string"] as const)[0];
      const users = await services.deps.store.listUsers({ kind, search, after, limit: limit + 1 });
      const items = users.slice(0, limit);
      const last = items.at(-1);
      return {
        items: items.map(userView),
        next: users.length > limit && last ? encodeCursor([last.id.toLowerCase()]) : null,
      };
    },
  );

  api.post<{ Body: NewUserBody }>(
    "/api/v1/users",
    {
      config: { access: { scope: "users:write", admin: true }, documentedErrors: [409] },
      schema: {
        summary: "Create a user or a service account",
        description:
          "A service account (`kind: service`) has no password and cannot sign in; it owns tokens, and its " +
          "`ownerId` (a human user) may manage them.",
        tags: ["users"],
        operationId: "createUser",
        body: {
          type: "object",
          required: ["id"],
          properties: {
            id: {
              type: "string",
              description: "Login name: 1–64 of `A–Z a–z 0–9 . _ @ -`, case-insensitive.",
            },
            fullName: { type: ["string", "null"], maxLength: 1000 },
            email: { type: ["string", "null"], maxLength: 400 },
            password: { type: ["string", "null"], maxLength: 1024, description: "8–1024 characters." },
            roles: {
              type: "array",
              items: ROLE_SCHEMA,
              maxItems: 10,
              description: "`user` is always added.",
            },
            kind: { type: "string", enum: ["user", "service"], default: "user" },
            ownerId: { type: ["string", "null"], maxLength: 64 },
          },
          additionalProperties: false,
        },
        response: { 201: { $ref: "User#" } },
      },
    },
    async (request, reply) => {
      const user = await services.users.create(request.actor, request.body);
      return reply.code(201).send(userView(user));
    },
  );
}
