// Agent console: blind or attended transfer to another queue (views_calling.transfer,
// .attended_transfer). Buttons are enabled only while the agent is on a call (the pops
// agent.js receives); complete/cancel only during a consultation. textContent only.
"use strict";
(() => {
  const box = document.getElementById("transfer");
  if (!box) return;
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.getAttribute("content") : "";
  const status = document.getElementById("transfer-status");
  const go = document.getElementById("transfer-go");
  const consult = document.getElementById("transfer-consult");
  const consulting = document.getElementById("transfer-consulting");
  const idle = document.getElementById("transfer-idle");
  const queue = document.getElementById("transfer-queue");

  function setState(onCall, inConsult) {
    box.dataset.onCall = onCall ? "1" : "0";
    go.disabled = !onCall || inConsult;
    consult.disabled = !onCall || inConsult;
    consulting.hidden = !(onCall && inConsult);
    idle.hidden = onCall;
  }

  async function send(url, body) {
    const resp = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await resp.json(); } catch (e) { data = { error: resp.statusText }; }
    if (!resp.ok) status.textContent = data.error || "";
    return resp.ok;
  }

  go.addEventListener("click", async () => {
    if (await send("/api/calling/transfer", { queue: queue.value })) {
      status.textContent = status.dataset.sent;
    }
  });
  consult.addEventListener("click", async () => {
    if (await send("/api/calling/atxfer", { step: "start", queue: queue.value })) {
      status.textContent = status.dataset.consulting;
      setState(true, true);
    }
  });
  document.getElementById("transfer-complete").addEventListener("click", async () => {
    if (await send("/api/calling/atxfer", { step: "complete" })) {
      status.textContent = status.dataset.completed;
      setState(true, false);
    }
  });
  document.getElementById("transfer-cancel").addEventListener("click", async () => {
    if (await send("/api/calling/atxfer", { step: "cancel" })) {
      status.textContent = status.dataset.cancelled;
      setState(true, false);
    }
  });
  // agent.js announces every pop: on a call from "answer" until "end"
  document.addEventListener("centralita:pop", (ev) => {
    const type = (ev.detail || {}).type;
    if (type === "answer") setState(true, false);
    else if (type === "end") setState(false, false);
  });
  setState(false, false);
})();
