/* Coding Bench: small page-wide behaviours. No inline scripts anywhere (CSP-ready). */
(function () {
  "use strict";

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  // "/" focuses the code search: the page's own search box first, else the top bar's.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(document.activeElement)) return;
    var box = document.querySelector("[data-shortcut-search-page]") ||
      document.querySelector("[data-shortcut-search]");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  // Rows with data-href open on click anywhere in the row (keyboard users use the row's link).
  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0) return;
    var row = event.target.closest("tr[data-href]");
    if (!row || event.target.closest("a, button, input, select, textarea, label, summary")) return;
    var selection = window.getSelection && window.getSelection();
    if (selection && String(selection).length > 0) return;  // the user is selecting text
    if (event.ctrlKey || event.metaKey) {
      window.open(row.getAttribute("data-href"), "_blank", "noopener");
    } else {
      window.location.assign(row.getAttribute("data-href"));
    }
  });

  // Elements marked data-autosubmit submit their form on change (a select that filters a list).
  document.addEventListener("change", function (event) {
    var el = event.target.closest("[data-autosubmit]");
    if (el && el.form && !el.hasAttribute("hx-get")) el.form.requestSubmit();
  });
})();
