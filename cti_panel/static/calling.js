// Click-to-call and verification of closure by phone (views_calling.py).
// Server texts are shown with textContent only.
"use strict";
(() => {
  const box = document.getElementById("calling");
  if (!box) return;
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute("content") : "";
  const status = document.getElementById("calling-status");
  const verdict = document.getElementById("calling-verdict");
  let current = null;

  async function post(url, body) {
    const resp = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await resp.json(); } catch (e) { data = { error: resp.statusText }; }
    return { ok: resp.ok, data };
  }

  function show(view) {
    status.textContent = view.error || view.status_text || "";
    verdict.hidden = !view.can_record_verdict;
  }

  async function poll() {
    if (!current) return;
    const resp = await fetch(`/api/calling/calls/${encodeURIComponent(current)}`, { credentials: "same-origin" });
    if (!resp.ok) return;
    const view = await resp.json();
    show(view);
    if (!["agent_unreachable", "no_answer", "busy", "failed"].includes(view.status) && !view.verdict) {
      setTimeout(poll, 1000);
    }
  }

  for (const btn of box.querySelectorAll("button.call-number")) {
    btn.addEventListener("click", async () => {
      const r = await post("/api/calling/dial", {
        number: btn.dataset.number, incident: box.dataset.incident, purpose: box.dataset.purpose,
      });
      show(r.data);
      if (r.ok) { current = r.data.request_id; setTimeout(poll, 500); }
    });
  }
  for (const [id, accepted] of [["calling-accept", true], ["calling-reject", false]]) {
    document.getElementById(id).addEventListener("click", async () => {
      const note = document.getElementById("calling-note").value;
      const r = await post(`/api/calling/calls/${encodeURIComponent(current)}/verdict`, { accepted, note });
      show(r.data);
      if (r.ok) window.location.reload();
    });
  }
})();
