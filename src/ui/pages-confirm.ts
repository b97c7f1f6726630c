import { type Html, html } from "./html.js";
import { crumbField, layout, type PageContext } from "./layout.js";

export interface Confirmation {
  title: string;
  /** What will happen, in words; may hold escaped user text. */
  question: Html;
  /** Where the confirming POST goes. */
  action: string;
  confirmLabel: string;
  cancelHref: string;
  section?: PageContext["section"];
}

/**
 * A confirmation step for destructive actions, as its own page (no JavaScript confirm()): the first
 * request only shows what will happen; only the POST from this page, with its crumb, does it.
 */
export function confirmPage(context: PageContext, confirmation: Confirmation): Html {
  return layout(
    confirmation.title,
    { ...context, section: confirmation.section ?? context.section },
    html`<h1>${confirmation.title}</h1>
<div class="card">
${confirmation.question}
<form method="post" action="${confirmation.action}" class="actions-row">
  ${crumbField(context)}
  <button type="submit" class="danger">${confirmation.confirmLabel}</button>
  <a class="button secondary" href="${confirmation.cancelHref}">Cancel</a>
</form>
</div>`,
  );
}
