// Keeps "(hace 3 minutos)" / "(en 2 horas)" current: every element with data-rel
// (an ISO UTC time rendered by the server) is re-worded each 30 s in the page language.
"use strict";
(() => {
  const nodes = () => document.querySelectorAll("[data-rel]");
  if (!nodes().length || !window.Intl || !Intl.RelativeTimeFormat) return;
  const fmt = new Intl.RelativeTimeFormat(document.documentElement.lang || "es", { numeric: "always" });
  const units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  function word(iso) {
    const diff = (Date.parse(iso) - Date.now()) / 1000;
    for (const [unit, s] of units) {
      if (Math.abs(diff) >= s || unit === "second") return fmt.format(Math.round(diff / s), unit);
    }
    return "";
  }
  function refresh() {
    for (const node of nodes()) {
      const t = word(node.dataset.rel);
      if (t) node.textContent = `(${t})`;
    }
  }
  setInterval(refresh, 30000);
})();
