/* Code typeahead: the top-bar search and the code search page share it.

   Markup (see base.html and codesets/search.html):
     [data-typeahead]            root; add data-typeahead-popup for a dropdown, and
                                 data-typeahead-pick to fire "typeahead:pick" instead of opening
       [data-typeahead-input]    the search box (htmx fetches codesets/search.html#results)
       [data-typeahead-panel]    the dropdown (popup only)
       [data-typeahead-status]   polite live region: "12 codes found"
       table[data-hits] tr[data-hit]   rows from the partial, first cell holds the link

   Pattern: ARIA combobox with a grid popup. Focus stays in the box; ArrowDown/ArrowUp move
   the active row (aria-activedescendant), Enter opens it, Escape closes the dropdown.
   Without JavaScript the form submits and the page lists results as a plain table. */
(function () {
  "use strict";

  var instances = [];
  var counter = 0;

  function normalizeCode(text) {
    return String(text || "").trim().toUpperCase().replace(/\./g, "").replace(/-+$/, "");
  }

  function Typeahead(root) {
    this.root = root;
    this.input = root.querySelector("[data-typeahead-input]");
    this.panel = root.querySelector("[data-typeahead-panel]");
    this.status = root.querySelector("[data-typeahead-status]");
    this.popup = root.hasAttribute("data-typeahead-popup");
    this.active = -1;
    if (!root.id) root.id = "typeahead-" + (++counter);
    if (!this.input) return;

    var input = this.input;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-haspopup", "grid");
    input.setAttribute("aria-expanded", "false");
    var container = this.panel || root.querySelector("[data-typeahead-results]");
    if (container) {
      if (!container.id) container.id = root.id + "-results";
      input.setAttribute("aria-controls", container.id);
    }

    input.addEventListener("keydown", this.onKeydown.bind(this));
    input.addEventListener("focus", this.onFocus.bind(this));
    root.addEventListener("focusout", this.onFocusout.bind(this));
    this.refresh(false);
  }

  Typeahead.prototype.table = function () {
    return this.root.querySelector("table[data-hits]");
  };

  Typeahead.prototype.rows = function () {
    return Array.prototype.slice.call(this.root.querySelectorAll("table[data-hits] tr[data-hit]"));
  };

  Typeahead.prototype.isOpen = function () {
    return this.popup ? !!this.panel && !this.panel.hidden : this.rows().length > 0;
  };

  Typeahead.prototype.open = function () {
    if (this.popup && this.panel) {
      if (!this.panel.innerHTML.trim()) return;
      this.panel.hidden = false;
    }
    this.input.setAttribute("aria-expanded", String(this.rows().length > 0 || this.popup));
  };

  Typeahead.prototype.close = function () {
    this.setActive(-1);
    if (this.popup && this.panel) this.panel.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
  };

  // Fresh results arrived (or the page loaded): wire roles and ids, reset the active row.
  Typeahead.prototype.refresh = function (fromSwap) {
    var table = this.table();
    var rows = this.rows();
    var self = this;
    if (table) {
      table.setAttribute("role", "grid");
      if (!table.id) table.id = this.root.id + "-grid";
      this.input.setAttribute("aria-controls", table.id);
    }
    rows.forEach(function (row, i) {
      row.setAttribute("aria-selected", "false");
      row.classList.remove("is-active");
      var cell = row.cells[0];
      if (cell && !cell.id) cell.id = self.root.id + "-hit-" + i;
      if (self.popup) {
        Array.prototype.forEach.call(row.querySelectorAll("a"), function (a) { a.tabIndex = -1; });
      }
    });
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");

    if (fromSwap && this.status) {
      var summary = this.root.querySelector("[data-hits-summary]");
      this.status.textContent = summary ? summary.textContent.replace(/\s+/g, " ").trim() : "";
    }
    if (this.popup) {
      var hasQuery = this.input.value.trim() !== "";
      var focused = this.root.contains(document.activeElement);
      if (hasQuery && focused) this.open(); else this.close();
    } else {
      this.input.setAttribute("aria-expanded", String(rows.length > 0));
    }
  };

  Typeahead.prototype.setActive = function (index) {
    var rows = this.rows();
    if (index >= rows.length) index = rows.length - 1;
    if (index < -1) index = -1;
    rows.forEach(function (row, i) {
      var on = i === index;
      row.classList.toggle("is-active", on);
      row.setAttribute("aria-selected", String(on));
    });
    this.active = index;
    if (index >= 0) {
      var row = rows[index];
      this.input.setAttribute("aria-activedescendant", row.cells[0].id);
      row.scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  };

  Typeahead.prototype.hrefOf = function (row) {
    var link = row && row.querySelector("a[href]");
    return link ? link.href : row && row.getAttribute("data-href");
  };

  Typeahead.prototype.go = function (row, newTab) {
    // Pick mode (the coding workspace): the row is chosen, not opened.
    if (this.root.hasAttribute("data-typeahead-pick") && row && !newTab) {
      this.root.dispatchEvent(new CustomEvent("typeahead:pick", {
        bubbles: true,
        detail: { code: row.getAttribute("data-code"), row: row }
      }));
      return;
    }
    var href = this.hrefOf(row);
    if (!href) return;
    if (newTab) window.open(href, "_blank", "noopener");
    else window.location.assign(href);
  };

  // The first row when it is exactly the code typed: Enter opens it without arrowing.
  Typeahead.prototype.exactRow = function () {
    var table = this.table();
    var rows = this.rows();
    if (!table || !rows.length) return null;
    if (table.getAttribute("data-query") !== this.input.value.trim()) return null;
    var wanted = normalizeCode(this.input.value);
    return normalizeCode(rows[0].getAttribute("data-code")) === wanted ? rows[0] : null;
  };

  Typeahead.prototype.onKeydown = function (event) {
    if (event.altKey) return;
    var rows = this.rows();
    switch (event.key) {
      case "ArrowDown":
        if (!rows.length) return;
        event.preventDefault();
        if (this.popup && !this.isOpen()) { this.open(); return; }
        this.setActive(Math.min(this.active + 1, rows.length - 1));
        break;
      case "ArrowUp":
        if (!rows.length || this.active < 0) return;
        event.preventDefault();
        this.setActive(this.active - 1);
        break;
      case "PageDown":
        if (!rows.length || !this.isOpen()) return;
        event.preventDefault();
        this.setActive(Math.min(this.active + 10, rows.length - 1));
        break;
      case "PageUp":
        if (!rows.length || this.active < 0) return;
        event.preventDefault();
        this.setActive(Math.max(this.active - 10, 0));
        break;
      case "Enter":
        if (this.active >= 0 && rows[this.active] && this.isOpen()) {
          event.preventDefault();
          this.go(rows[this.active], event.ctrlKey || event.metaKey);
          return;
        }
        var exact = this.exactRow();
        if (exact) {
          event.preventDefault();
          this.go(exact, event.ctrlKey || event.metaKey);
        }
        // Otherwise the form submits: the full search page with every result.
        break;
      case "Escape":
        if (this.popup && this.isOpen()) {
          event.preventDefault();
          this.close();
        } else if (this.active >= 0) {
          event.preventDefault();
          this.setActive(-1);
        }
        break;
      case "Tab":
        if (this.popup) this.close();
        break;
    }
  };

  Typeahead.prototype.onFocus = function () {
    if (!this.popup) return;
    var table = this.table();
    var stale = table && table.getAttribute("data-query") !== this.input.value.trim();
    if (this.input.value.trim() && this.panel && this.panel.innerHTML.trim() && !stale) this.open();
  };

  Typeahead.prototype.onFocusout = function () {
    if (!this.popup) return;
    var self = this;
    window.setTimeout(function () {
      if (!self.root.contains(document.activeElement)) self.close();
    }, 0);
  };

  function init(scope) {
    Array.prototype.forEach.call((scope || document).querySelectorAll("[data-typeahead]"), function (root) {
      if (root.__typeahead) return;
      root.__typeahead = new Typeahead(root);
      instances.push(root.__typeahead);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);

    document.body.addEventListener("htmx:afterSettle", function (event) {
      instances.forEach(function (t) {
        if (t.root.contains(event.target) || !document.body.contains(event.target)) t.refresh(true);
      });
    });

    // A click outside a dropdown closes it.
    document.addEventListener("mousedown", function (event) {
      instances.forEach(function (t) {
        if (t.popup && !t.root.contains(event.target)) t.close();
      });
    });
  });
})();
