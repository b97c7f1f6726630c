import type { FastifyInstance } from "fastify";
import { requireAuthenticated } from "../../core/permissions.js";

/** GET /api/v1/me: who the caller is and how it authenticated. */
export function apiMeRoutes(app: FastifyInstance): void {
  app.get("/api/v1/me", async (request) => {
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
  });
}
