// Agent console: blind transfer to another queue (views_calling.transfer). textContent only.
"use strict";
(() => {
  const box = document.getElementById("transfer");
  if (!box) return;
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute("content") : "";
  const status = document.getElementById("transfer-status");
  document.getElementById("transfer-go").addEventListener("click", async () => {
    const resp = await fetch("/api/calling/transfer", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ queue: document.getElementById("transfer-queue").value }),
    });
    let data = {};
    try { data = await resp.json(); } catch (e) { data = { error: resp.statusText }; }
    status.textContent = resp.ok ? status.dataset.sent : (data.error || "");
  });
})();
