import type { Principal } from "../core/permissions.js";
import { type Html, html } from "./html.js";

export interface PageContext {
  principal: Principal;
  /** The crumb for forms on this page (bound to the session and user); null on error pages. */
  crumb: string | null;
  /** The signed-in user still has the initial password: every page says so until it is changed. */
  mustChangePassword?: boolean;
  /** For admins: how many users still hold a legacy token (a notice on every page while any do). */
  legacyTokenHolders?: number;
  /** A one-line result of the previous action (see ui/flash.ts). */
  flash?: Html | null;
  /** The main navigation entry this page belongs to, marked for screen readers. */
  section?: "tokens" | "manage" | "password";
}

function current(context: PageContext, section: PageContext["section"]): Html | string {
  return context.section === section ? html` aria-current="page"` : "";
}

function legacyNotice(holders: number): Html | string {
  if (holders === 0) return "";
  const who = holders === 1 ? "1 user still holds" : `${holders} users still hold`;
  return html`<div class="banner" role="status">${who} a legacy API token (Jenkins' old per-user token). <a href="/manage/legacy-tokens">Review and revoke legacy tokens</a>.</div>`;
}

/** The page shell: one stylesheet, one deferred script, no inline script or style (the CSP forbids them). */
export function layout(title: string, context: PageContext, body: Html): Html {
  const signedIn = context.principal.authenticatedBy !== "anonymous";
  const admin = context.principal.roles.includes("admin");
  const signOut =
    context.crumb === null
      ? html`<a href="/logout">Sign out</a>`
      : html`<form method="post" action="/logout" class="inline">${crumbField(context)}<button type="submit" class="link">Sign out</button></form>`;
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — Steward</title>
<link rel="stylesheet" href="/static/steward.css">
<script src="/static/steward.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/">Steward</a>
  <nav aria-label="Main">
    ${
      signedIn
        ? html`<a href="/account/tokens"${current(context, "tokens")}>API tokens</a>
    ${admin ? html`<a href="/manage"${current(context, "manage")}>Manage</a>` : ""}
    <a href="/account/password"${current(context, "password")} title="Change password">${context.principal.fullName}</a>
    ${signOut}`
        : html`<a href="/login">Sign in</a>`
    }
  </nav>
</header>
${
  context.mustChangePassword
    ? html`<div class="banner" role="alert"><strong>You are still using the initial password.</strong> It was printed once at first start; anyone who saw that output can sign in as you. <a href="/account/password">Change it now</a>.</div>`
    : ""
}
${legacyNotice(context.legacyTokenHolders ?? 0)}
<main id="main" tabindex="-1">
${context.flash ?? ""}
${body}
</main>
</body>
</html>`;
}

export function crumbField(context: PageContext): Html {
  return html`<input type="hidden" name="Jenkins-Crumb" value="${context.crumb ?? ""}">`;
}
