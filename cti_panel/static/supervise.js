// Wallboard: listen / whisper / barge (views_calling.supervise). Text via textContent only.
"use strict";
(() => {
  const box = document.getElementById("supervise");
  if (!box) return;
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute("content") : "";
  const status = document.getElementById("supervise-status");
  for (const btn of box.querySelectorAll("button.spy")) {
    btn.addEventListener("click", async () => {
      const resp = await fetch("/api/calling/supervise", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ mode: btn.dataset.mode, agent: document.getElementById("supervise-agent").value }),
      });
      let data = {};
      try { data = await resp.json(); } catch (e) { data = { error: resp.statusText }; }
      status.textContent = data.error || data.status || "";
    });
  }
})();
