// Progressive enhancement only: every page works without this file (the CSP allows no inline script).

// Copy buttons: <button data-copy="ID" hidden> copies the text of the element ID. They stay hidden
// without JavaScript, where the value can still be selected and copied by hand.
for (const button of document.querySelectorAll("[data-copy]")) button.hidden = false;

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
  if (!button) return;
  const source = document.getElementById(button.getAttribute("data-copy") || "");
  if (!source) return;
  const status = button.parentElement?.querySelector(".copy-status");
  const say = (text) => {
    if (status) status.textContent = text;
  };
  const fallback = () => {
    // No clipboard access (e.g. not a secure context): select the value so Ctrl+C / Cmd+C copies it.
    selectText(source);
    say("Selected: press Ctrl+C (or ⌘C) to copy.");
  };
  if (!navigator.clipboard) return fallback();
  navigator.clipboard.writeText(source.textContent || "").then(() => {
    button.textContent = "Copied";
    say(button.getAttribute("data-copied") || "The token is on the clipboard.");
  }, fallback);
});
