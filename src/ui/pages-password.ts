import { notice } from "./format.js";
import { type Html, html } from "./html.js";
import { crumbField, layout, type PageContext } from "./layout.js";

/** Change one's own password: the current one, then the new one twice. */
export function passwordPage(context: PageContext, options: { error: string | null }): Html {
  return layout(
    "Change password",
    { ...context, section: "password" },
    html`<p class="crumbs"><span>My account</span> › <span>Password</span></p>
<h1>Change password</h1>
${
  context.mustChangePassword
    ? html`<p>You signed in with the initial password that Steward printed at first start. Choose your own now.</p>`
    : ""
}
${options.error ? notice("error", options.error) : ""}
<form method="post" action="/account/password" class="card">
  ${crumbField(context)}
  <input type="text" name="username" value="${context.principal.userId}" autocomplete="username" hidden>
  <label for="current-password">Current password</label>
  <input id="current-password" name="current" type="password" autocomplete="current-password" required>
  <label for="new-password">New password</label>
  <input id="new-password" name="password" type="password" autocomplete="new-password" minlength="8" maxlength="1024" required aria-describedby="new-password-hint">
  <p id="new-password-hint" class="hint">At least 8 characters. A long passphrase is best.</p>
  <label for="confirm-password">New password again</label>
  <input id="confirm-password" name="confirm" type="password" autocomplete="new-password" minlength="8" maxlength="1024" required>
  <p><button type="submit">Change password</button></p>
</form>`,
  );
}
