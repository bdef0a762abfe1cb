// Shared helpers. Every value from the server is inserted with textContent,
// never innerHTML: caller names and IVR values are untrusted input.
"use strict";
const Centralita = (() => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute("content") : "";
  const i18nNode = document.getElementById("i18n");
  const strings = i18nNode ? JSON.parse(i18nNode.textContent) : {};

  function t(key) { return Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : key; }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function setText(id, text) {
    const node = document.getElementById(id);
    if (node) node.textContent = text === undefined || text === null ? "" : String(text);
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  async function post(url, body) {
    const resp = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await resp.json(); } catch (e) { data = { error: resp.statusText }; }
    return { ok: resp.ok, status: resp.status, data };
  }

  async function get(url) {
    const resp = await fetch(url, { credentials: "same-origin" });
    return { ok: resp.ok, status: resp.status, data: resp.ok ? await resp.json() : {} };
  }

  function duration(s) {
    if (s === null || s === undefined || s === "") return "—";
    s = Math.max(0, Math.round(Number(s)));
    const m = Math.floor(s / 60), r = s % 60;
    return m ? `${m}:${String(r).padStart(2, "0")}` : `${r} ${t("seconds")}`;
  }

  return { t, el, setText, clear, post, get, duration };
})();
