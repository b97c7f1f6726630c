import type { FastifyInstance } from "fastify";
import { parseDurationSeconds } from "../../core/duration.js";
import { invalid } from "../../core/errors.js";
import { requireScope } from "../../core/permissions.js";
import {
  assertConsistentSettings,
  MAX_EXPIRY_WARNINGS,
  parseSettingsPatch,
  type Settings,
} from "../../core/settings.js";
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

/** "14, 7, 1" → [14, 7, 1]; the range and count are checked by parseSettingsPatch. */
function warningDays(text: string): number[] {
  const days = text.split(/[\s,]+/).filter((d) => d !== "");
  if (!days.every((d) => /^\d{1,3}$/.test(d))) {
    throw invalid(
      "Expiry warnings: write whole numbers of days separated by commas, e.g. 14, 7, 1 (or nothing).",
    );
  }
  return days.map(Number);
}

/** The settings form → a patch, validated by the same rules as the REST API (parseSettingsPatch). */
function patchFrom(form: SettingsForm): Partial<Settings> {
  const days = warningDays(form.expiryWarningDays);
  if (days.length > MAX_EXPIRY_WARNINGS || days.some((d) => d < 1 || d > 365)) {
    throw invalid(`Expiry warnings: at most ${MAX_EXPIRY_WARNINGS} numbers of days, each from 1 to 365.`);
  }
  if (form.newAddressGranularity !== "address" && form.newAddressGranularity !== "subnet") {
    throw invalid("Alert when a token is used from: choose an address or a network.");
  }
  return parseSettingsPatch({
    maxTokenLifetimeSeconds: duration("Maximum token lifetime", form.maxTokenLifetime, null),
    defaultTokenLifetimeSeconds: duration("Default token lifetime", form.defaultTokenLifetime, null),
    maxRotationGraceSeconds: duration("Longest rotation grace period", form.maxRotationGrace, 0),
    legacyTokensEnabled: form.legacyTokensEnabled,
    usageStatisticsEnabled: form.usageStatisticsEnabled,
    adminCanGenerateTokensForOthers: form.adminCanGenerateTokensForOthers,
    passwordBasicAuthEnabled: form.passwordBasicAuthEnabled,
    newAddressGranularity: form.newAddressGranularity,
    expiryWarningDays: days,
  });
}

/**
 * A field the form always sends; when a client leaves it out (an older form, a script), the current
 * value stands instead of being cleared: an empty warning list would silently turn warnings off.
 */
function fieldOr(body: unknown, name: string, current: string): string {
  const present = !!body && typeof body === "object" && (body as Record<string, unknown>)[name] !== undefined;
  return present ? field(body, name).trim() : current;
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
      newAddressGranularity: fieldOr(
        body,
        "newAddressGranularity",
        deps.settings.current.newAddressGranularity,
      ),
      expiryWarningDays: fieldOr(
        body,
        "expiryWarningDays",
        deps.settings.current.expiryWarningDays.join(", "),
      ),
    };
    const result = await attempt(async () => {
      const current = await deps.store.getSettings();
      const patch = patchFrom(form);
      assertConsistentSettings({ ...current, ...patch });
      // Only what differs is written and recorded, so the audit log says what actually changed.
      const changed: Partial<Settings> = {};
      const from: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(patch) as [keyof Settings, Settings[keyof Settings]][]) {
        // By value: the warning days are a list, a fresh one on every save.
        if (JSON.stringify(current[key]) !== JSON.stringify(value)) {
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
