import type { Settings } from "../core/settings.js";
import { formatDuration, notice } from "./format.js";
import { type Html, html } from "./html.js";
import { crumbField, type PageContext } from "./layout.js";
import { managePage } from "./pages-manage.js";

/** The settings form as text, so a rejected form is shown again exactly as it was typed. */
export interface SettingsForm {
  maxTokenLifetime: string;
  defaultTokenLifetime: string;
  maxRotationGrace: string;
  legacyTokensEnabled: boolean;
  usageStatisticsEnabled: boolean;
  adminCanGenerateTokensForOthers: boolean;
  passwordBasicAuthEnabled: boolean;
  /** "address" or "subnet" (see core/address-key). */
  newAddressGranularity: string;
  /** Days before expiry, largest first, separated by commas ("14, 7, 1"); empty turns warnings off. */
  expiryWarningDays: string;
}

export function settingsForm(settings: Settings): SettingsForm {
  return {
    maxTokenLifetime: formatDuration(settings.maxTokenLifetimeSeconds),
    defaultTokenLifetime: formatDuration(settings.defaultTokenLifetimeSeconds),
    maxRotationGrace: formatDuration(settings.maxRotationGraceSeconds) || "0",
    legacyTokensEnabled: settings.legacyTokensEnabled,
    usageStatisticsEnabled: settings.usageStatisticsEnabled,
    adminCanGenerateTokensForOthers: settings.adminCanGenerateTokensForOthers,
    passwordBasicAuthEnabled: settings.passwordBasicAuthEnabled,
    newAddressGranularity: settings.newAddressGranularity,
    expiryWarningDays: settings.expiryWarningDays.join(", "),
  };
}

const GRANULARITIES: ReadonlyArray<[string, string]> = [
  ["address", "Each new address"],
  ["subnet", "Each new network (/24 for IPv4, /64 for IPv6)"],
];

const CHECKS: ReadonlyArray<[keyof SettingsForm, string, string]> = [
  [
    "usageStatisticsEnabled",
    "Count token use",
    "Keep each token's use count and last use (Jenkins' usage statistics).",
  ],
  [
    "passwordBasicAuthEnabled",
    "Accept passwords over HTTP Basic",
    "Off: scripts must use tokens; the sign-in form still takes passwords.",
  ],
  [
    "adminCanGenerateTokensForOthers",
    "Administrators may generate tokens for other users",
    "Jenkins' adminCanGenerateNewTokens.",
  ],
  [
    "legacyTokensEnabled",
    "Allow legacy tokens",
    "Jenkins' old per-user token. Keep off unless old tooling needs it.",
  ],
];

/** The token policy. Durations are typed as 90d, 12h, 30m, 2w or seconds; empty means no limit. */
export function settingsPage(
  context: PageContext,
  options: { form: SettingsForm; error: string | null },
): Html {
  const { form } = options;
  return managePage(
    "Token policy",
    context,
    "settings",
    html`<h1>Token policy</h1>
${options.error ? notice("error", options.error) : ""}
<form method="post" action="/manage/settings" class="card">
  ${crumbField(context)}
  <p class="hint">Durations: a number with <code>w</code>, <code>d</code>, <code>h</code>, <code>m</code> or <code>s</code>, e.g. <code>90d</code>.</p>
  <label for="set-max">Maximum token lifetime</label>
  <input id="set-max" name="maxTokenLifetime" type="text" value="${form.maxTokenLifetime}" aria-describedby="set-max-hint">
  <p id="set-max-hint" class="hint">Empty: tokens may live for ever (as in Jenkins). When set, every new token must expire within it.</p>
  <label for="set-default">Default token lifetime</label>
  <input id="set-default" name="defaultTokenLifetime" type="text" value="${form.defaultTokenLifetime}" aria-describedby="set-default-hint">
  <p id="set-default-hint" class="hint">Given to a token created without an expiry. Empty: such tokens never expire.</p>
  <label for="set-grace">Longest rotation grace period</label>
  <input id="set-grace" name="maxRotationGrace" type="text" value="${form.maxRotationGrace}" aria-describedby="set-grace-hint">
  <p id="set-grace-hint" class="hint">How long the old value of a rotated token may keep working. 0: never.</p>
  ${CHECKS.map(
    ([
      key,
      label,
      hint,
    ]) => html`<div class="check"><input id="set-${key}" name="${key}" type="checkbox" value="on"${form[key] ? html` checked` : ""} aria-describedby="set-${key}-hint">
  <label for="set-${key}">${label}</label></div>
  <p id="set-${key}-hint" class="hint indent">${hint}</p>`,
  )}
  <fieldset>
    <legend>Notifications</legend>
    <label for="set-granularity">Alert when a token is used from</label>
    <select id="set-granularity" name="newAddressGranularity" aria-describedby="set-granularity-hint">
      ${GRANULARITIES.map(([value, label]) => html`<option value="${value}"${form.newAddressGranularity === value ? html` selected` : ""}>${label}</option>`)}
    </select>
    <p id="set-granularity-hint" class="hint">The first use from there records a <code>token.used.new-ip</code> event and notifies the webhooks that ask for it. Networks suit clients whose address changes within one provider.</p>
    <label for="set-warning-days">Expiry warnings (days before expiry)</label>
    <input id="set-warning-days" name="expiryWarningDays" type="text" inputmode="numeric" value="${form.expiryWarningDays}" aria-describedby="set-warning-days-hint">
    <p id="set-warning-days-hint" class="hint">Whole numbers of days from 1 to 365, separated by commas, e.g. <code>14, 7, 1</code>: one <code>token.expiring</code> notice per token at each, and a warning on the owner's token page. Empty: no warnings.</p>
  </fieldset>
  <p><button type="submit">Save policy</button></p>
</form>`,
  );
}
