import { html } from "./html.js";
import { layout, type PageContext } from "./layout.js";

export function loginPage(context: PageContext, options: { from: string; failed: boolean }) {
  return layout(
    "Sign in",
    context,
    html`<h1>Sign in to Steward</h1>
${options.failed ? html`<p class="notice error" role="alert">Invalid username or password.</p>` : ""}
<form method="post" action="/j_spring_security_check" class="card">
  <label for="j_username">User name</label>
  <input id="j_username" name="j_username" type="text" autocomplete="username" required autofocus>
  <label for="j_password">Password</label>
  <input id="j_password" name="j_password" type="password" autocomplete="current-password" required>
  <input type="hidden" name="from" value="${options.from}">
  <p><button type="submit">Sign in</button></p>
</form>`,
  );
}

export function homePage(context: PageContext) {
  const signedIn = context.principal.authenticatedBy !== "anonymous";
  return layout(
    "Home",
    context,
    html`<h1>Steward</h1>
<p>Jenkins-compatible API tokens: named, per user, shown once, stored only as hashes, revocable one by one.</p>
${signedIn ? html`<p><a class="button" href="/account/tokens">Manage my API tokens</a></p>` : html`<p><a class="button" href="/login">Sign in</a></p>`}`,
  );
}
