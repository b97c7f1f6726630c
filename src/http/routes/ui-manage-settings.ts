import type { FastifyInstance } from "fastify";
import { parseDurationSeconds } from "../../core/duration.js";
import { invalid } from "../../core/errors.js";
import { requireScope } from "../../core/permissions.js";
import { assertConsistentSettings, parseSettingsPatch, type Settings } from "../../core/settings.js";
import { auditEvent } from "../../service/context.js";
import type { Services } from "../../service/services.js";
import { type SettingsForm, settingsForm, settingsPage } from "../../ui/pages-settings.js";
import { sendPage } from "./ui-basic.js";
import { adminPage, attempt, field, seeOther } from "./ui-support.js";

function duration(label: string, text: string, emptyMeans: null | 0): number | null {
  if (text === "") return emptyMeans;
  const seconds = parseDurationSeconds(text);
  if (seconds === null) throw invalid(`${label}: write a number with w, d, h, m or s, e.g. 90d.`);
  return seconds;
}

/** The settings form → a patch, validated by the same rules as the REST API (parseSettingsPatch). */
function patchFrom(form: SettingsForm): Partial<Settings> {
  return parseSettingsPatch({
    maxTokenLifetimeSeconds: duration("Maximum token lifetime", form.maxTokenLifetime, null),
    defaultTokenLifetimeSeconds: duration("Default token lifetime", form.defaultTokenLifetime, null),
    maxRotationGraceSeconds: duration("Longest rotation grace period", form.maxRotationGrace, 0),
    legacyTokensEnabled: form.legacyTokensEnabled,
    usageStatisticsEnabled: form.usageStatisticsEnabled,
    adminCanGenerateTokensForOthers: form.adminCanGenerateTokensForOthers,
    passwordBasicAuthEnabled: form.passwordBasicAuthEnabled,
  });
}

/** The token policy form. */
export function uiManageSettingsRoutes(app: FastifyInstance, services: Services): void {
  const { deps } = services;

  app.get("/manage/settings", async (request, reply) => {
    const context = await adminPage(request, reply, services);
    requireScope(request.principal, "settings:write");
    return sendPage(reply, settingsPage(context, { form: settingsForm(deps.settings.current), error: null }));
  });

  app.post("/manage/settings", async (request, reply) => {
    const context = await adminPage(request, reply, services);
    requireScope(request.principal, "settings:write");
    const body = request.body;
    const form: SettingsForm = {
      maxTokenLifetime: field(body, "maxTokenLifetime").trim(),
      defaultTokenLifetime: field(body, "defaultTokenLifetime").trim(),
      maxRotationGrace: field(body, "maxRotationGrace").trim(),
      legacyTokensEnabled: field(body, "legacyTokensEnabled") === "on",
      usageStatisticsEnabled: field(body, "usageStatisticsEnabled") === "on",
      adminCanGenerateTokensForOthers: field(body, "adminCanGenerateTokensForOthers") === "on",
      passwordBasicAuthEnabled: field(body, "passwordBasicAuthEnabled") === "on",
    };
    const result = await attempt(async () => {
      const current = await deps.store.getSettings();
      const patch = patchFrom(form);
      assertConsistentSettings({ ...current, ...patch });
      // Only what differs is written and recorded, so the audit log says what actually changed.
      const changed: Partial<Settings> = {};
      const from: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(patch) as [keyof Settings, Settings[keyof Settings]][]) {
        if (current[key] !== value) {
          (changed as Record<string, unknown>)[key] = value;
          from[key] = current[key];
        }
      }
      if (Object.keys(changed).length === 0) return;
      const updated = await deps.store.updateSettings(
        changed,
        auditEvent(deps, request.actor, "settings.updated", {}, { changed, from }),
      );
      deps.settings.replace(updated);
    });
    if ("error" in result) {
      return sendPage(
        reply,
        settingsPage(context, { form, error: result.error.message }),
        result.error.status,
      );
    }
    return seeOther(reply, "/manage/settings?done=settings");
  });
}
