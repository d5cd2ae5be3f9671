/* Coding workspace: document tabs, find-in-document, evidence from a text selection,
   keyboard shortcuts, drag to reorder, and keeping every htmx change on the page's version.

   Offsets sent to the server are counted in Unicode code points into Document.text (Python
   string indices). The document text is rendered as one pre-wrap block whose only children
   are text nodes, so a DOM Range's toString() is exactly a slice of Document.text.
   Highlights use the CSS Custom Highlight API: no DOM changes, so offsets never drift. */
(function () {
  "use strict";

  var root;

  function $(sel, scope) { return (scope || document).querySelector(sel); }
  function $$(sel, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(sel)); }

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function codePoints(text) { return Array.from(text).length; }

  function version() {
    var input = document.getElementById("ws-version");
    return input ? input.value : "";
  }

  function csrfToken() {
    var input = root && root.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  /* ---------- text positions and highlights ---------- */

  // DOM position of a character offset into the container's text. `unit` "cp" counts code
  // points (server offsets), "u16" counts UTF-16 units (String.indexOf results).
  function locate(container, offset, unit) {
    var walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
    var node, last = null, remaining = offset;
    while ((node = walker.nextNode())) {
      var length = unit === "cp" ? codePoints(node.data) : node.data.length;
      if (remaining <= length) {
        var inNode = unit === "cp" ? Array.from(node.data).slice(0, remaining).join("").length : remaining;
        return { node: node, offset: inNode };
      }
      remaining -= length;
      last = node;
    }
    return last ? { node: last, offset: last.data.length } : { node: container, offset: 0 };
  }

  function rangeOf(container, start, end, unit) {
    var a = locate(container, start, unit);
    var b = locate(container, end, unit);
    var range = document.createRange();
    range.setStart(a.node, a.offset);
    range.setEnd(b.node, b.offset);
    return range;
  }

  var canHighlight = !!(window.CSS && CSS.highlights && window.Highlight);

  function setHighlight(name, ranges) {
    if (!canHighlight) return;
    if (!ranges || !ranges.length) { CSS.highlights.delete(name); return; }
    var h = new Highlight();
    ranges.forEach(function (r) { h.add(r); });
    CSS.highlights.set(name, h);
  }

  function scroller() { return $("[data-doc-scroller]"); }

  function scrollToRange(range) {
    var box = scroller();
    var rect = range.getBoundingClientRect();
    if (box && box.scrollHeight > box.clientHeight + 4) {
      var outer = box.getBoundingClientRect();
      if (rect.top < outer.top + 24 || rect.bottom > outer.bottom - 24) {
        box.scrollTop += rect.top - outer.top - box.clientHeight / 3;
      }
    } else if (rect.top < 80 || rect.bottom > window.innerHeight - 40) {
      window.scrollBy(0, rect.top - window.innerHeight / 3);
    }
  }

  /* ---------- document tabs ---------- */

  function tabs() { return $$("[data-doc-tab]"); }

  function activeText() {
    var panel = $$(".doc-panel").filter(function (p) { return !p.hidden; })[0];
    return panel ? panel.querySelector("[data-doc-text]") : null;
  }

  function activate(tab, focus) {
    tabs().forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(t.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
    if (focus) tab.focus();
    var url = new URL(window.location.href);
    url.searchParams.set("doc", tab.id.replace(/^tab-/, ""));
    window.history.replaceState(window.history.state, "", url);
    var find = $("[data-doc-find]");
    if (find) find.hidden = !activeText();
    refreshEvidenceMarks();
    runFind(false);
  }

  function initTabs() {
    var list = $("[role=tablist]", root);
    if (!list) return;
    list.addEventListener("click", function (event) {
      var tab = event.target.closest("[data-doc-tab]");
      if (!tab || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      activate(tab, true);
    });
    list.addEventListener("keydown", function (event) {
      var all = tabs();
      var i = all.indexOf(document.activeElement);
      if (i < 0) return;
      var next = null;
      if (event.key === "ArrowRight") next = all[(i + 1) % all.length];
      else if (event.key === "ArrowLeft") next = all[(i - 1 + all.length) % all.length];
      else if (event.key === "Home") next = all[0];
      else if (event.key === "End") next = all[all.length - 1];
      if (next) { event.preventDefault(); activate(next, true); }
    });
  }

  function showDocument(docId) {
    var tab = document.getElementById("tab-" + docId);
    if (tab && tab.getAttribute("aria-selected") !== "true") activate(tab, false);
    return $('[data-doc-text][data-doc-id="' + docId + '"]');
  }

  /* ---------- find in document ---------- */

  var find = { ranges: [], index: -1 };

  function runFind(moveToFirst) {
    var input = $("[data-doc-find-input]");
    var count = $("[data-doc-find-count]");
    var container = activeText();
    find.ranges = [];
    find.index = -1;
    var needle = input ? input.value.trim().toLowerCase() : "";
    if (needle && container) {
      var hay = container.textContent.toLowerCase();
      var at = hay.indexOf(needle);
      while (at !== -1 && find.ranges.length < 2000) {
        find.ranges.push(rangeOf(container, at, at + needle.length, "u16"));
        at = hay.indexOf(needle, at + needle.length);
      }
    }
    setHighlight("doc-find", find.ranges);
    setHighlight("doc-find-current", []);
    if (count) {
      count.textContent = !needle ? "" : find.ranges.length ? find.ranges.length + " found" : "No matches";
    }
    if (moveToFirst && find.ranges.length) step(1);
  }

  function step(delta) {
    if (!find.ranges.length) return;
    find.index = (find.index + delta + find.ranges.length) % find.ranges.length;
    var range = find.ranges[find.index];
    setHighlight("doc-find-current", [range]);
    var count = $("[data-doc-find-count]");
    if (count) count.textContent = (find.index + 1) + " of " + find.ranges.length;
    if (!canHighlight) {
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
    scrollToRange(range);
  }

  function initFind() {
    var form = $("[data-doc-find]");
    if (!form) return;
    form.hidden = !activeText();
    var input = $("[data-doc-find-input]", form);
    var timer;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { runFind(true); }, 120);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); step(event.shiftKey ? -1 : 1); }
      if (event.key === "Escape") { input.value = ""; runFind(false); }
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    $("[data-doc-find-next]", form).addEventListener("click", function () { step(1); });
    $("[data-doc-find-prev]", form).addEventListener("click", function () { step(-1); });
  }

  /* ---------- evidence: from a selection, and back to it ---------- */

  function evidenceItems() { return $$(".code-item[data-evidence-doc]"); }

  function refreshEvidenceMarks() {
    var container = activeText();
    if (!container) { setHighlight("evidence", []); return; }
    var id = container.getAttribute("data-doc-id");
    var ranges = evidenceItems()
      .filter(function (li) { return li.getAttribute("data-evidence-doc") === id; })
      .map(function (li) {
        return rangeOf(container, +li.getAttribute("data-evidence-start"), +li.getAttribute("data-evidence-end"), "cp");
      });
    setHighlight("evidence", ranges);
  }

  function jumpToEvidence(item) {
    var container = showDocument(item.getAttribute("data-evidence-doc"));
    if (!container) return;
    var range = rangeOf(container, +item.getAttribute("data-evidence-start"), +item.getAttribute("data-evidence-end"), "cp");
    setHighlight("evidence-current", [range]);
    scrollToRange(range);
    if (!canHighlight) {
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
    }
  }

  function readSelection() {
    var form = $("[data-evidence-form]");
    if (!form) return;
    var sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return;
    var range = sel.getRangeAt(0);
    var container = range.commonAncestorContainer.nodeType === 1
      ? range.commonAncestorContainer.closest("[data-doc-text]")
      : range.commonAncestorContainer.parentElement.closest("[data-doc-text]");
    if (!container) return;
    var before = document.createRange();
    before.selectNodeContents(container);
    before.setEnd(range.startContainer, range.startOffset);
    var chars = Array.from(container.textContent);
    var start = codePoints(before.toString());
    var end = start + codePoints(range.toString());
    while (start < end && /\s/.test(chars[start])) start++;
    while (end > start && /\s/.test(chars[end - 1])) end--;
    if (end <= start) return;
    var quote = chars.slice(start, end).join("");
    function field(name) { return $('[data-evidence-field="' + name + '"]', form); }
    field("document_id").value = container.getAttribute("data-doc-id");
    field("start").value = start;
    field("end").value = end;
    var preview = $("[data-evidence-preview]", form);
    preview.classList.remove("muted");
    preview.textContent = "“" + (quote.length > 160 ? quote.slice(0, 157) + "…" : quote) + "”";
    preview.title = container.getAttribute("data-doc-title") + ", characters " + start + "–" + end;
    $("[data-evidence-submit]", form).disabled = false;
    form.classList.add("has-selection");
  }

  function resetEvidenceForm() {
    var form = $("[data-evidence-form]");
    if (!form) return;
    $$("[data-evidence-field]", form).forEach(function (f) { f.value = ""; });
    var preview = $("[data-evidence-preview]", form);
    preview.classList.add("muted");
    preview.textContent = "Select a passage in the document to attach it to a code.";
    preview.removeAttribute("title");
    $("[data-evidence-submit]", form).disabled = true;
    form.classList.remove("has-selection");
  }

  function initEvidence() {
    var form = $("[data-evidence-form]");
    if (form) form.hidden = false;
    var timer;
    document.addEventListener("selectionchange", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(readSelection, 80);
    });
    root.addEventListener("click", function (event) {
      var jump = event.target.closest("[data-evidence-jump]");
      if (jump) { jumpToEvidence(jump.closest(".code-item")); return; }
      var ref = event.target.closest("[data-code-ref]");
      if (ref) {
        var item = $$(".code-item").filter(function (li) {
          return li.getAttribute("data-code") === ref.getAttribute("data-code-ref");
        })[0];
        if (!item) return;
        event.preventDefault();
        item.scrollIntoView({ block: "center", behavior: "smooth" });
        item.classList.remove("flash");
        void item.offsetWidth;
        item.classList.add("flash");
        var link = item.querySelector("a.code");
        if (link) link.focus({ preventScroll: true });
      }
    });
  }

  /* ---------- code entry ---------- */

  function initCodeEntry() {
    // A row chosen in the typeahead (Enter or click) is added at once.
    root.addEventListener("typeahead:pick", function (event) {
      var form = event.target.closest("[data-code-add]");
      if (!form) return;
      var input = $("[data-typeahead-input]", form);
      input.value = event.detail.code;
      form.requestSubmit();
    });
    $$("[data-code-add]").forEach(function (form) {
      form.addEventListener("click", function (event) {
        var row = event.target.closest("tr[data-hit]");
        if (!row || event.ctrlKey || event.metaKey) return;
        event.preventDefault();
        form.__typeahead_pick = true;
        $("[data-typeahead-input]", form).value = row.getAttribute("data-code");
        form.requestSubmit();
      });
    });
    // Single-key shortcuts when not typing: d diagnosis, p procedure, f find.
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      if (isTyping(document.activeElement)) return;
      var el = document.querySelector('[data-shortcut-key="' + event.key + '"]');
      if (!el || el.offsetParent === null) return;
      event.preventDefault();
      el.focus();
      if (el.select) el.select();
    });
  }

  /* ---------- drag to reorder ---------- */

  function initSortable() {
    var dragged = null, origin = null, dropped = false;
    root.addEventListener("dragstart", function (event) {
      var item = event.target.closest && event.target.closest("[data-sortable] > li[data-id]");
      if (!item || event.target.closest("input, select, textarea, button, a, details")) {
        if (item) event.preventDefault();
        return;
      }
      dragged = item;
      origin = { list: item.parentNode, next: item.nextSibling, index: items(item.parentNode).indexOf(item) };
      dropped = false;
      item.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", item.getAttribute("data-code") || "");
    });
    root.addEventListener("dragover", function (event) {
      if (!dragged) return;
      var over = event.target.closest && event.target.closest("[data-sortable] > li[data-id]");
      if (!over || over.parentNode !== origin.list) return;
      event.preventDefault();
      if (over === dragged) return;
      var rect = over.getBoundingClientRect();
      var after = event.clientY > rect.top + rect.height / 2;
      over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
    });
    root.addEventListener("drop", function (event) {
      if (!dragged) return;
      event.preventDefault();
      dropped = true;
      var list = origin.list;
      var position = items(list).indexOf(dragged) + 1;
      if (position - 1 === origin.index) return;
      var values = { version: version(), position: position, csrfmiddlewaretoken: csrfToken() };
      values[list.getAttribute("data-id-field")] = dragged.getAttribute("data-id");
      htmx.ajax("POST", list.getAttribute("data-move-url"), { source: list, values: values, swap: "none" });
    });
    root.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      if (!dropped) origin.list.insertBefore(dragged, origin.next);
      dragged = null;
    });
    function items(list) { return $$(":scope > li[data-id]", list); }
  }

  /* ---------- htmx: version, CSRF, focus, and after-save tidying ---------- */

  var refocus = null;

  function initHtmx() {
    document.body.addEventListener("htmx:configRequest", function (event) {
      if (event.detail.verb === "get" || !root.contains(event.detail.elt)) return;
      event.detail.parameters.version = version();
      event.detail.headers["X-CSRFToken"] = csrfToken();
    });
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      refocus = null;
      var active = document.activeElement;
      var item = active && active.closest && active.closest(".code-item");
      if (item && event.detail.elt && root.contains(event.detail.elt)) {
        refocus = {
          item: item.id,
          label: active.getAttribute("aria-label") || active.name || "",
          list: item.parentNode.id
        };
      }
    });
    document.body.addEventListener("codingSaved", function (event) {
      var form = event.target.closest ? event.target.closest("[data-code-add]") : null;
      ["dx-error", "px-error", "evidence-error"].forEach(function (id) {
        var slot = document.getElementById(id);
        if (slot) slot.textContent = "";
      });
      if (form) {
        var input = $("[data-typeahead-input]", form);
        input.value = "";
        var panel = $("[data-typeahead-panel]", form);
        if (panel) panel.innerHTML = "";
        if (form.__typeahead) form.__typeahead.close();
        input.focus();
      }
      if (event.target.closest && event.target.closest("[data-evidence-form]")) {
        resetEvidenceForm();
        var sel = window.getSelection();
        if (sel) sel.removeAllRanges();
      }
    });
    document.body.addEventListener("htmx:afterSettle", function () {
      $$("[data-version]").forEach(function (input) { input.value = version(); });
      refreshEvidenceMarks();
      if (refocus) {
        var target = null;
        var item = document.getElementById(refocus.item);
        if (item && refocus.label) {
          target = $$("[aria-label], [name]", item).filter(function (el) {
            return (el.getAttribute("aria-label") || el.name) === refocus.label && !el.disabled;
          })[0];
        }
        if (!target && item) target = item.querySelector("a.code");
        if (!target) {
          var list = document.getElementById(refocus.list);
          target = list && list.closest("section").querySelector("[data-typeahead-input]");
        }
        if (target && document.activeElement === document.body) target.focus();
        refocus = null;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.querySelector("[data-workspace]");
    if (!root) return;
    initTabs();
    initFind();
    initEvidence();
    initCodeEntry();
    initSortable();
    initHtmx();
    refreshEvidenceMarks();
  });
})();
