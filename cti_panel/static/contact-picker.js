// Contact picker: a search box (ARIA combobox) that fills a hidden contact_id.
// Type a name, organisation or phone in any format; arrows move, Enter picks,
// Escape closes. Results are inserted with textContent (untrusted names).
"use strict";
(() => {
  const C = Centralita;

  function setup(root) {
    const input = root.querySelector("input[type=search]");
    const hidden = root.querySelector("input[type=hidden]");
    const list = root.querySelector("[role=listbox]");
    const chosen = root.querySelector(".picker-chosen");
    const status = root.querySelector(".picker-status");
    let items = [];
    let active = -1;
    let timer = null;
    let seq = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(i) {
      const options = list.querySelectorAll("[role=option]");
      options.forEach((o, j) => o.setAttribute("aria-selected", j === i ? "true" : "false"));
      active = i;
      if (i >= 0 && options[i]) {
        input.setAttribute("aria-activedescendant", options[i].id);
        options[i].scrollIntoView({ block: "nearest" });
      }
    }

    function pick(i) {
      const c = items[i];
      if (!c) return;
      hidden.value = String(c.id);
      input.value = c.name;
      C.setText(chosen.id, [c.name, c.organisation, (c.phones || [])[0]].filter(Boolean).join(" · "));
      C.setText(status.id, "");
      root.dispatchEvent(new CustomEvent("contact-picked", { detail: c, bubbles: true }));
      close();
    }

    function render(results) {
      items = results;
      C.clear(list);
      results.forEach((c, i) => {
        const li = C.el("li", null, "picker-option");
        li.id = `${list.id}-opt-${i}`;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.appendChild(C.el("strong", c.name || "—"));
        const extra = [c.organisation, (c.phones || []).join(", "), c.email].filter(Boolean).join(" · ");
        if (extra) li.appendChild(C.el("span", " " + extra, "small"));
        li.addEventListener("mousedown", (ev) => { ev.preventDefault(); pick(i); });
        list.appendChild(li);
      });
      list.hidden = results.length === 0;
      input.setAttribute("aria-expanded", results.length ? "true" : "false");
      C.setText(status.id, results.length ? C.t("picker_found").replace("%(n)s", results.length) : C.t("picker_none"));
      highlight(results.length ? 0 : -1);
    }

    async function search() {
      const q = input.value.trim();
      if (q.length < 2) { render([]); C.setText(status.id, ""); return; }
      const mine = ++seq;
      const res = await C.get("/api/contacts?" + new URLSearchParams({ q }).toString());
      if (mine !== seq) return;  // a later keystroke already asked again
      render(res.ok ? res.data.results || [] : []);
    }

    input.addEventListener("input", () => {
      hidden.value = "";
      C.setText(chosen.id, "");
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    input.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown" && items.length) { ev.preventDefault(); list.hidden = false; highlight(Math.min(items.length - 1, active + 1)); }
      else if (ev.key === "ArrowUp" && items.length) { ev.preventDefault(); highlight(Math.max(0, active - 1)); }
      else if (ev.key === "Enter" && !list.hidden && active >= 0) { ev.preventDefault(); pick(active); }
      else if (ev.key === "Escape") { close(); }
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
    root.addEventListener("contact-set", (ev) => {  // the pop fills in the caller
      const c = ev.detail || {};
      hidden.value = c.id ? String(c.id) : "";
      input.value = c.name || "";
      C.setText(chosen.id, c.id ? [c.name, c.organisation].filter(Boolean).join(" · ") : "");
    });
  }

  document.querySelectorAll("[data-contact-picker]").forEach(setup);
})();
