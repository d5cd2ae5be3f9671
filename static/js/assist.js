/* Coding assistant panel (issue 8): jump to a suggestion's evidence and highlight it in the
   document; one key to accept (a) or reject (r) the focused suggestion. No inline handlers
   (CSP): everything is bound here, by delegation, so htmx-swapped panels keep working. */
(function () {
  "use strict";

  function codePoints(s) { return Array.from(s).length; }

  // DOM position of a code-point offset (server offsets count code points) in a container.
  function locate(container, offset) {
    var walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
    var node, last = null, remaining = offset;
    while ((node = walker.nextNode())) {
      var length = codePoints(node.data);
      if (remaining <= length) {
        return { node: node, offset: Array.from(node.data).slice(0, remaining).join("").length };
      }
      remaining -= length;
      last = node;
    }
    return last ? { node: last, offset: last.data.length } : { node: container, offset: 0 };
  }

  function showDocument(docId) {
    var tab = document.getElementById("tab-" + docId);
    if (tab && tab.getAttribute("aria-selected") !== "true") tab.click();
    return document.querySelector('[data-doc-text][data-doc-id="' + docId + '"]');
  }

  function jump(item) {
    var docId = item.getAttribute("data-assist-doc");
    if (!docId) return;
    var container = showDocument(docId);
    if (!container) return;
    var a = locate(container, +item.getAttribute("data-assist-start"));
    var b = locate(container, +item.getAttribute("data-assist-end"));
    var range = document.createRange();
    range.setStart(a.node, a.offset);
    range.setEnd(b.node, b.offset);
    if (window.CSS && CSS.highlights && window.Highlight) {
      CSS.highlights.set("assist-current", new Highlight(range));
    } else {
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    var mark = range.startContainer.parentElement;
    if (mark && mark.scrollIntoView) mark.scrollIntoView({ block: "center", behavior: "smooth" });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-assist-jump]");
    if (button) jump(button.closest("[data-suggestion]"));
  });

  document.addEventListener("keydown", function (event) {
    var item = event.target;
    if (!item.matches || !item.matches("[data-suggestion]")) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key.toLowerCase();
    if (key === "a") {
      var accept = item.querySelector("[data-assist-accept]");
      if (!accept) return;
      event.preventDefault();
      event.stopPropagation();
      accept.requestSubmit();
    } else if (key === "r") {
      var reason = item.querySelector("[data-assist-reason]");
      if (!reason) return;
      event.preventDefault();
      event.stopPropagation();
      reason.focus();  // Enter rejects, with or without a reason
    } else if (key === "enter" || key === " ") {
      event.preventDefault();
      jump(item);
    } else if (key === "arrowdown" || key === "arrowup" || key === "j" || key === "k") {
      var items = Array.from(document.querySelectorAll("[data-suggestion]"));
      var next = items[items.indexOf(item) + (key === "arrowdown" || key === "j" ? 1 : -1)];
      if (next) { event.preventDefault(); event.stopPropagation(); next.focus(); }
    }
  }, true);

  // Focusing a suggestion shows its evidence.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-suggestion]")) jump(event.target);
  });

  // The accept form sends the workspace's current version (it changes with every save).
  document.body.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches("[data-assist-accept]")) return;
    var current = document.getElementById("ws-version");
    if (current) event.detail.parameters.version = current.value;
  });
})();

/* After a reject the panel is replaced: keep the keyboard in the list. */
document.body.addEventListener("htmx:afterSwap", function (event) {
  if (!event.detail.target || event.detail.target.id !== "assist-panel") return;
  var panel = document.getElementById("assist-panel");
  var first = panel && panel.querySelector("[data-suggestion]");
  if (first && event.detail.requestConfig && event.detail.requestConfig.verb === "post") first.focus();
});
