import { CRUMB_MESSAGE } from "../core/errors.js";
import type { Principal } from "../core/permissions.js";
import { type Html, html } from "./html.js";
import { layout } from "./layout.js";

const TITLES: Record<number, string> = {
  400: "That did not work",
  403: "Not allowed",
  404: "Not found",
  405: "Not allowed",
  409: "That did not work",
  413: "Too large",
  429: "Too many attempts",
  500: "Something went wrong",
  503: "Steward is unavailable",
};

/**
 * The error page of the web UI: the stable message of the error, a way on, and never a stack trace.
 * Rendered without a crumb (the error handler has none), so its sign-out is a plain link.
 */
export function errorPage(
  principal: Principal,
  options: { status: number; code: string; message: string; requestId: string },
): Html {
  const home = principal.authenticatedBy === "anonymous" ? "/" : "/account/tokens";
  if (options.code === "crumb_invalid") {
    return layout(
      "Form expired",
      { principal, crumb: null },
      html`<h1>This form has expired</h1>
<p class="notice error" role="alert">${CRUMB_MESSAGE}.</p>
<p>Every form in Steward carries a crumb, a code tied to your browser session that proves the form came from Steward and not from another site. This one was missing or no longer matches your session, usually because you signed out or in again (perhaps in another tab), your session expired, or the form was sent from somewhere else.</p>
<p>Nothing was changed. Go back, <strong>reload the page</strong> and submit the form again.</p>
<p><a class="button" href="${home}">Continue</a> <a class="button secondary" href="/login">Sign in again</a></p>`,
    );
  }
  const title = TITLES[options.status] ?? `Error ${options.status}`;
  return layout(
    title,
    { principal, crumb: null },
    html`<h1>${title}</h1>
<p class="notice error" role="alert">${options.message}</p>
${options.status >= 500 ? html`<p class="muted">Request id: <code>${options.requestId}</code> (give it to your administrator; the details are in the server log).</p>` : ""}
<p><a class="button secondary" href="${home}">Continue</a></p>`,
  );
}
