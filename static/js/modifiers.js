/* Modifier picker and MUE-aware units of the workspace's procedure lines.

   Markup (templates/encounters/_modifier_fields.html):
     fieldset[data-modpick]        data-options-url, data-guidance-url, data-guidance-target
       input[data-modpick-input]   the four modifier slots (name="modifiers")
       button[data-modpick-open]   "Pick…": opens the list for the first empty slot
       [data-modpick-panel]        popup, filled from encounters:modifier_options
     input[data-mue]               units; data-mue-others = units of the other lines of the day

   Pattern: each slot is an ARIA combobox over one shared listbox. Focus stays in the slot;
   ArrowDown/ArrowUp move the active option (aria-activedescendant), Enter or a click puts
   the code in the slot, Escape closes. Typing filters (code or words). Picking refreshes the
   NCCI/MUE guidance under the line with the unsaved values; "Save line" saves through the
   ordinary line form. Without JavaScript the slots are plain text inputs. */
(function () {
  "use strict";

  var timer = null;
  var guidanceTimer = null;
  var current = null; // {fieldset, input, panel, active}

  function $$(sel, scope) { return Array.prototype.slice.call((scope || document).querySelectorAll(sel)); }

  function slots(fieldset) { return $$("[data-modpick-input]", fieldset); }

  function options(panel) { return $$("[role=option]", panel); }

  function lineValues(fieldset, skip) {
    var params = new URLSearchParams();
    slots(fieldset).forEach(function (input) {
      if (input !== skip && input.value.trim()) params.append("modifiers", input.value.trim().toUpperCase());
    });
    if (!params.has("modifiers")) params.append("modifiers", "");
    var form = fieldset.closest("form");
    var units = form && form.querySelector("input[name=units]");
    if (units && units.value) params.append("units", units.value);
    return params;
  }

  function setExpanded(fieldset, open) {
    slots(fieldset).forEach(function (input) { input.setAttribute("aria-expanded", "false"); });
    var button = fieldset.querySelector("[data-modpick-open]");
    if (button) button.setAttribute("aria-expanded", String(open));
    if (open && current) current.input.setAttribute("aria-expanded", "true");
  }

  function close() {
    if (!current) return;
    current.panel.hidden = true;
    current.input.removeAttribute("aria-activedescendant");
    setExpanded(current.fieldset, false);
    current = null;
  }

  function setActive(index) {
    var list = options(current.panel);
    list.forEach(function (o) { o.setAttribute("aria-selected", "false"); o.classList.remove("is-active"); });
    current.active = -1;
    current.input.removeAttribute("aria-activedescendant");
    if (!list.length || index < 0) return;
    index = Math.max(0, Math.min(index, list.length - 1));
    var option = list[index];
    option.setAttribute("aria-selected", "true");
    option.classList.add("is-active");
    option.scrollIntoView({ block: "nearest" });
    current.input.setAttribute("aria-activedescendant", option.id);
    current.active = index;
  }

  function load(fieldset, input) {
    var panel = fieldset.querySelector("[data-modpick-panel]");
    var params = lineValues(fieldset, input);
    params.append("q", input.value.trim());
    params.append("slot", input.getAttribute("data-slot") || "");
    var url = fieldset.getAttribute("data-options-url") + "&" + params.toString();
    fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        if (!current || current.input !== input) return; // focus moved on meanwhile
        panel.innerHTML = html;
        panel.hidden = false;
        var list = panel.querySelector("[role=listbox]");
        slots(fieldset).forEach(function (slot) { if (list) slot.setAttribute("aria-controls", list.id); });
        setExpanded(fieldset, true);
        setActive(input.value.trim() ? 0 : -1);
      })
      .catch(function () { /* the slot still takes typed text; the edits check it on save */ });
  }

  function open(fieldset, input) {
    if (current && current.input !== input) close();
    current = { fieldset: fieldset, input: input, panel: fieldset.querySelector("[data-modpick-panel]"), active: -1 };
    load(fieldset, input);
  }

  function refreshGuidance(fieldset) {
    var target = document.getElementById(fieldset.getAttribute("data-guidance-target"));
    if (!target) return;
    var url = fieldset.getAttribute("data-guidance-url") + "&" + lineValues(fieldset, null).toString();
    window.clearTimeout(guidanceTimer);
    guidanceTimer = window.setTimeout(function () {
      fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          var fresh = document.createElement("div");
          fresh.innerHTML = html.trim();
          if (fresh.firstElementChild && target.isConnected) target.replaceWith(fresh.firstElementChild);
        })
        .catch(function () {});
    }, 150);
  }

  function pick(option) {
    if (!current || !option) return;
    var input = current.input;
    var fieldset = current.fieldset;
    input.value = option.getAttribute("data-code");
    close();
    input.focus();
    input.select();
    refreshGuidance(fieldset);
  }

  function updateMue(units) {
    var max = parseInt(units.getAttribute("data-mue"), 10);
    var others = parseInt(units.getAttribute("data-mue-others") || "0", 10);
    var value = parseInt(units.value, 10) || 0;
    var total = value + others;
    var over = total > max;
    units.classList.toggle("over-mue", over);
    if (over) units.setAttribute("aria-invalid", "true"); else units.removeAttribute("aria-invalid");
    var hint = document.getElementById(units.getAttribute("aria-describedby"));
    if (!hint) return;
    hint.classList.toggle("is-over", over);
    var warn = hint.querySelector("[data-mue-warn]");
    if (warn) {
      warn.textContent = over
        ? ": " + total + (others ? " with the other lines of the day" : "") + " is above it"
        : "";
    }
  }

  document.addEventListener("focusin", function (event) {
    var input = event.target.closest && event.target.closest("[data-modpick-input]");
    if (!input) return;
    var fieldset = input.closest("[data-modpick]");
    if (!current || current.input !== input) open(fieldset, input);
  });

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-modpick-input]")) {
      var fieldset = target.closest("[data-modpick]");
      if (!current || current.input !== target) open(fieldset, target);
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { if (current) load(fieldset, target); }, 120);
      if (target.value.length === 2 || target.value === "") refreshGuidance(fieldset);
    } else if (target.matches && target.matches("input[data-mue]")) {
      updateMue(target);
      var form = target.closest("form");
      var set = form && form.querySelector("[data-modpick]");
      if (set) refreshGuidance(set);
    }
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target.closest && event.target.closest("[data-modpick-input]");
    if (!input) return;
    var fieldset = input.closest("[data-modpick]");
    var isOpen = current && current.input === input && !current.panel.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!isOpen) { open(fieldset, input); return; }
      var step = event.key === "ArrowDown" ? 1 : -1;
      var count = options(current.panel).length;
      if (!count) return;
      var next = current.active < 0 ? (step > 0 ? 0 : count - 1) : (current.active + step + count) % count;
      setActive(next);
    } else if (event.key === "Enter" && isOpen && current.active >= 0) {
      event.preventDefault(); // pick, do not submit the line form
      pick(options(current.panel)[current.active]);
    } else if (event.key === "Escape" && isOpen) {
      event.preventDefault();
      event.stopPropagation();
      close();
    } else if (event.key === "Tab" && isOpen) {
      close();
    }
  });

  // focus left the line's modifier slots (Tab, a click elsewhere, a script): close the list
  document.addEventListener("focusout", function (event) {
    if (!current || !current.fieldset.contains(event.target)) return;
    var set = current.fieldset;
    window.setTimeout(function () {
      if (current && current.fieldset === set && !set.contains(document.activeElement)) close();
    }, 0);
  });

  // mousedown, not click: keeps the focus in the slot so the combobox stays in charge
  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest("[data-modpick-panel] [role=option]");
    if (option) {
      event.preventDefault();
      pick(option);
      return;
    }
    if (current && !current.fieldset.contains(event.target)) close();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-modpick-open]");
    if (!button) return;
    var fieldset = button.closest("[data-modpick]");
    var all = slots(fieldset);
    var empty = all.filter(function (input) { return !input.value.trim(); })[0] || all[all.length - 1];
    empty.focus();
    if (!current || current.input !== empty) open(fieldset, empty);
  });

  function enhance() {
    $$("[data-modpick-open]").forEach(function (button) { button.hidden = false; });
    $$("[data-modpick-input]").forEach(function (input) {
      // typing words ("left", "distinct") needs more than two characters; the picked code is
      // two, and the line form still refuses anything else with a clear message
      input.removeAttribute("maxlength");
      input.setAttribute("role", "combobox");
      input.setAttribute("aria-autocomplete", "list");
      input.setAttribute("aria-haspopup", "listbox");
      if (!input.hasAttribute("aria-expanded")) input.setAttribute("aria-expanded", "false");
    });
  }

  document.addEventListener("DOMContentLoaded", enhance);
  // the procedure list is swapped out-of-band after every save: enhance the new lines
  document.addEventListener("htmx:afterSettle", function () { current = null; enhance(); });
})();
