/* Blind re-code page: the coding workspace script (workspace.js) already runs the document
   tabs, find-in-document, typeahead picks and shortcuts. This adds a live count of the
   auditor's codes next to "Complete and compare", so nobody completes an empty re-code. */
(function () {
  "use strict";

  function count(id) {
    var list = document.getElementById(id);
    return list ? list.querySelectorAll("li.code-item").length : 0;
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function refresh() {
    var slot = document.querySelector("[data-recode-count]");
    if (!slot) return;
    var dx = count("audit-dx"), px = count("audit-px");
    slot.textContent = dx
      ? "Your re-code: " + plural(dx, "diagnosis").replace("diagnosiss", "diagnoses") + ", " + plural(px, "procedure") + "."
      : "Add at least one diagnosis before completing.";
    var button = document.querySelector("[data-complete-recode]");
    if (button) button.disabled = dx === 0;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-audit-recode]")) return;
    refresh();
    document.body.addEventListener("htmx:afterSettle", refresh);
  });
})();
