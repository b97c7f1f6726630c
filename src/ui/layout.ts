import type { Principal } from "../core/permissions.js";
import { type Html, html } from "./html.js";

export interface PageContext {
  principal: Principal;
  /** The crumb for forms on this page (bound to the session and user). */
  crumb: string | null;
}

/** The page shell: one stylesheet, no inline script or style (the CSP forbids them). */
export function layout(title: string, context: PageContext, body: Html): Html {
  const signedIn = context.principal.authenticatedBy !== "anonymous";
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
<header class="top">
  <a class="brand" href="/">Steward</a>
  <nav aria-label="Main">
    ${
      signedIn
        ? html`<a href="/account/tokens">${context.principal.fullName}</a>
    ${context.principal.roles.includes("admin") ? html`<a href="/manage">Manage</a>` : ""}
    <form method="post" action="/logout" class="inline"><input type="hidden" name="Jenkins-Crumb" value="${context.crumb ?? ""}"><button type="submit" class="link">Sign out</button></form>`
        : html`<a href="/login">Sign in</a>`
    }
  </nav>
</header>
<main id="main">
${body}
</main>
</body>
</html>`;
}

export function crumbField(context: PageContext): Html {
  return html`<input type="hidden" name="Jenkins-Crumb" value="${context.crumb ?? ""}">`;
}
