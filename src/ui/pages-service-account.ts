import type { Settings } from "../core/settings.js";
import type { ExpiryWarning } from "../service/expiry-warnings.js";
import type { TokenView } from "../service/views.js";
import type { UserRecord } from "../store/store.js";
import { notice, time } from "./format.js";
import { type Html, html } from "./html.js";
import { layout, type PageContext } from "./layout.js";
import {
  expiryBanner,
  type NewTokenForm,
  newTokenForm,
  serviceAccountHref,
  tokenActions,
  tokenTable,
} from "./pages-tokens.js";

export interface ServiceAccountPageOptions {
  account: UserRecord;
  tokens: readonly TokenView[];
  warnings: readonly ExpiryWarning[];
  now: number;
  settings: Settings;
  nonce: string;
  form: NewTokenForm;
  error: string | null;
  /** The "Add new Token" form opens again with its values after an error in it. */
  errorInAdd: boolean;
}

/**
 * A service account as its human owner sees it: its tokens, to list, generate, rotate and revoke. The
 * account itself (roles, status, deletion) stays with the administrators.
 */
export function serviceAccountPage(context: PageContext, options: ServiceAccountPageOptions): Html {
  const { account } = options;
  const base = serviceAccountHref(account.id);
  return layout(
    `Service account ${account.id}`,
    { ...context, section: "tokens" },
    html`<p class="crumbs"><a href="/account/tokens">API tokens</a> › <a href="/account/tokens#service-accounts">Service accounts I manage</a> › <span>${account.id}</span></p>
<h1>${account.fullName} <span class="muted">(${account.id})</span></h1>
${options.error ? notice("error", options.error) : ""}
${account.disabled ? notice("warning", "This service account is disabled: its tokens are refused until an administrator enables it.") : ""}
<dl class="facts">
  <dt>Kind</dt><dd>Service account (cannot sign in)</dd>
  <dt>Owner</dt><dd>${account.ownerId ?? ""}</dd>
  <dt>Created</dt><dd>${time(account.createdAt)}</dd>
</dl>
<p>Scripts send the account id <code>${account.id}</code> and one of its tokens with HTTP Basic authentication, e.g. <code>curl -u ${account.id}:TOKEN …/whoAmI/api/json</code>.</p>
${expiryBanner(options.warnings, (w) => `${base}/tokens/${w.tokenId}/rotate`)}
<h2 id="tokens">Tokens</h2>
${
  options.tokens.length === 0
    ? html`<p class="muted">This account has no live tokens.</p>`
    : tokenTable(
        options.tokens,
        options.now,
        `Tokens of ${account.id}`,
        (t) => tokenActions(`${base}/tokens`, t),
        { addressesHref: (t) => `${base}/tokens/${t.id}/addresses` },
      )
}
${newTokenForm(context, {
  action: `${base}/tokens`,
  nonce: options.nonce,
  settings: options.settings,
  form: options.form,
  open: options.errorInAdd,
})}`,
  );
}
