import type { FastifyInstance } from "fastify";
import { assertConsistentSettings, parseSettingsPatch } from "../../core/settings.js";
import { auditEvent } from "../../service/context.js";
import type { Services } from "../../service/services.js";
import { SETTINGS_PATCH_SCHEMA } from "../api-schemas.js";

/**
 * GET and PATCH /api/v1/settings: the token policy, administrators only. There is no read-only settings
 * scope: a scoped token needs `settings:write` for both.
 */
export function apiSettingsRoutes(api: FastifyInstance, services: Services): void {
  const { deps } = services;

  api.get(
    "/api/v1/settings",
    {
      config: { access: { scope: "settings:write", admin: true } },
      schema: {
        summary: "Get the token policy",
        tags: ["settings"],
        operationId: "getSettings",
        response: { 200: { $ref: "Settings#" } },
      },
    },
    async () => deps.settings.current,
  );

  api.patch<{ Body: Record<string, unknown> }>(
    "/api/v1/settings",
    {
      config: { access: { scope: "settings:write", admin: true } },
      schema: {
        summary: "Change the token policy",
        description:
          "Applies at once on every instance. The default lifetime cannot exceed the maximum; existing tokens " +
          "keep their expiry.",
        tags: ["settings"],
        operationId: "updateSettings",
        body: SETTINGS_PATCH_SCHEMA,
        response: { 200: { $ref: "Settings#" } },
      },
    },
    async (request) => {
      const patch = parseSettingsPatch(request.body);
      assertConsistentSettings({ ...deps.settings.current, ...patch });
      const updated = await deps.store.updateSettings(
        patch,
        auditEvent(deps, request.actor, "settings.updated", {}, { changed: patch }),
      );
      deps.settings.replace(updated);
      return updated;
    },
  );
}
