import { notice } from "./format.js";
import type { Html } from "./html.js";

/**
 * Messages shown after a POST-redirect-GET, chosen by a key in the query string (`?done=renamed`).
 * Only these constant texts can appear: nothing from the URL is reflected into the page.
 */
const MESSAGES: Record<string, string> = {
  renamed: "The token was renamed.",
  revoked: "The token was revoked. Anything still using it is now refused.",
  "revoked-all": "All of the user's tokens were revoked.",
  password: "Your password was changed.",
  "user-password": "The password was set.",
  "user-created": "The user was created.",
  "service-created": "The service account was created.",
  "user-deleted": "The user and all of its tokens were deleted.",
  roles: "The roles were changed.",
  disabled: "The user was disabled: its tokens and sessions stop working until it is enabled again.",
  enabled: "The user was enabled.",
  settings: "The token policy was saved.",
  "legacy-revoked": "The selected legacy tokens were revoked.",
  "webhook-tested": "A test delivery was queued. Reload this page in a few seconds to see its outcome.",
  "webhook-deleted": "The webhook was deleted, with its queued deliveries and its log.",
};

export function flashFor(done: unknown): Html | null {
  return typeof done === "string" && Object.hasOwn(MESSAGES, done) ? notice("ok", MESSAGES[done]!) : null;
}
