/* Physician queries: quote clinical indicators by selecting text in a document.

   Offsets are counted in Unicode code points into Document.text, exactly as workspace.js does
   for evidence: the document text is one pre-wrap block of text nodes ([data-doc-text]). Each
   picked passage becomes a hidden input "document_id:start:end"; the server re-reads the quote. */
(function () {
  "use strict";

  function $$(sel, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(sel)); }
  function codePoints(text) { return Array.from(text).length; }

  var current = null;

  function selectionPassage() {
    var sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
    var range = sel.getRangeAt(0);
    var node = range.commonAncestorContainer;
    var container = (node.nodeType === 1 ? node : node.parentElement).closest("[data-doc-text]");
    if (!container) return null;
    var before = document.createRange();
    before.selectNodeContents(container);
    before.setEnd(range.startContainer, range.startOffset);
    var chars = Array.from(container.textContent);
    var start = codePoints(before.toString());
    var end = start + codePoints(range.toString());
    while (start < end && /\s/.test(chars[start])) start++;
    while (end > start && /\s/.test(chars[end - 1])) end--;
    if (end <= start) return null;
    return {
      doc: container.getAttribute("data-doc-id"),
      title: container.getAttribute("data-doc-title") || "",
      start: start,
      end: end,
      quote: chars.slice(start, end).join("")
    };
  }

  function forms() { return $$("[data-query-form]"); }

  function refresh() {
    current = selectionPassage();
    forms().forEach(function (form) {
      var button = form.querySelector("[data-query-pick]");
      if (!button) return;
      button.disabled = !current;
      button.title = current ? "“" + current.quote.slice(0, 120) + "”" : "";
    });
  }

  function addIndicator(form, passage) {
    var list = form.querySelector("[data-query-indicators]");
    var value = passage.doc + ":" + passage.start + ":" + passage.end;
    var exists = $$("input[name=indicator]", list).some(function (i) { return i.value === value; });
    if (exists) return;
    var li = document.createElement("li");
    var input = document.createElement("input");
    input.type = "hidden"; input.name = "indicator"; input.value = value;
    var q = document.createElement("q");
    q.textContent = passage.quote.length > 200 ? passage.quote.slice(0, 197) + "…" : passage.quote;
    var where = document.createElement("span");
    where.className = "muted small";
    where.textContent = " " + passage.title + " ";
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "icon-btn"; remove.textContent = "×";
    remove.setAttribute("data-query-indicator-remove", "");
    remove.setAttribute("aria-label", "Remove this indicator");
    li.append(input, q, where, remove);
    list.appendChild(li);
  }

  function toggleOptions(form) {
    var checked = form.querySelector("[data-query-kind]:checked");
    var options = form.querySelector("[data-query-options]");
    if (options) options.hidden = !checked || checked.value !== "multiple_choice";
  }

  function init() {
    forms().forEach(function (form) {
      var button = form.querySelector("[data-query-pick]");
      var hint = form.querySelector("[data-query-pick-hint]");
      if (button) button.hidden = false;
      if (hint) hint.hidden = false;
      // Keep the document selection when the button is pressed.
      if (button) button.addEventListener("mousedown", function (e) { e.preventDefault(); });
      form.addEventListener("click", function (event) {
        if (event.target.closest("[data-query-pick]") && current) {
          addIndicator(form, current);
          window.getSelection().removeAllRanges();
          refresh();
        }
        var remove = event.target.closest("[data-query-indicator-remove]");
        if (remove) remove.closest("li").remove();
      });
      form.addEventListener("change", function (event) {
        if (event.target.matches("[data-query-kind]")) toggleOptions(form);
      });
      toggleOptions(form);
    });
    var timer;
    document.addEventListener("selectionchange", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 80);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
