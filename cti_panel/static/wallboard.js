// Supervisor wallboard: redrawn from each SSE snapshot (textContent only).
"use strict";
(() => {
  const C = Centralita;
  const root = document.getElementById("wallboard");
  if (!root) return;

  function header(table, keys) {
    const tr = C.el("tr");
    for (const k of keys) tr.appendChild(C.el("th", C.t(k)));
    const thead = C.el("thead");
    thead.appendChild(tr);
    table.appendChild(thead);
  }

  function cell(tr, text, level, colors, cls) {
    const td = C.el("td", text, cls);
    if (level) {
      td.dataset.level = level;
      if (colors && colors[level]) td.style.color = colors[level];  // CSSOM, allowed by the CSP
    }
    tr.appendChild(td);
    return td;
  }

  function drawQueues(rows) {
    const table = document.getElementById("wb-queues");
    C.clear(table);
    header(table, ["queue", "waiting", "longest", "offered", "answered", "abandoned", "short_abandoned", "sl", "asa", "aht", "agents_logged"]);
    const body = C.el("tbody");
    for (const q of rows) {
      const tr = C.el("tr");
      tr.dataset.queue = q.queue;
      cell(tr, q.queue, null, null, "name");
      cell(tr, q.waiting, q.levels.waiting, q.colors, "waiting");
      cell(tr, C.duration(q.longest_wait_s), q.levels.longest_wait, q.colors, "longest");
      cell(tr, q.offered, null, null, "offered");
      cell(tr, q.answered, null, null, "answered");
      cell(tr, q.abandoned, null, null, "abandoned");
      cell(tr, q.short_abandoned, null, null, "short_abandoned");
      cell(tr, q.service_level === null ? "—" : `${q.service_level} %`, q.levels.service_level, q.colors, "sl");
      cell(tr, C.duration(q.asa_s), null, null, "asa");
      cell(tr, C.duration(q.aht_s), null, null, "aht");
      cell(tr, `${q.logged_in} / ${q.available_agents}`, null, null, "agents");
      body.appendChild(tr);
    }
    table.appendChild(body);
  }

  function drawAgents(rows) {
    const table = document.getElementById("wb-agents");
    C.clear(table);
    header(table, ["agent", "state", "reason", "time_in_state", "queue"]);
    const body = C.el("tbody");
    const order = { oncall: 0, ringing: 1, wrapup: 2, available: 3, paused: 4, logged_out: 5 };
    rows.sort((a, b) => (order[a.state] ?? 9) - (order[b.state] ?? 9) || a.login.localeCompare(b.login));
    for (const a of rows) {
      const tr = C.el("tr", null, "state-" + a.state);
      tr.dataset.login = a.login;
      cell(tr, `${a.name} (${a.login})`, null, null, "name");
      cell(tr, C.t("state." + a.state), null, null, "state");
      cell(tr, a.pause_reason ? C.t("pause." + a.pause_reason) : "", null, null, "reason");
      cell(tr, C.duration(a.in_state_s), null, null, "time");
      cell(tr, a.queues.join(", "), null, null, "queues");
      body.appendChild(tr);
    }
    table.appendChild(body);
  }

  function drawIncidents(byPrio) {
    const table = document.getElementById("wb-incidents");
    C.clear(table);
    header(table, ["priority", "at_risk", "breached"]);
    const body = C.el("tbody");
    for (const [prio, v] of Object.entries(byPrio || {})) {
      const tr = C.el("tr");
      tr.dataset.priority = prio;
      cell(tr, C.t("prio." + prio), null, null, "name");
      cell(tr, v.at_risk, v.at_risk ? "warn" : null, null, "at_risk");
      cell(tr, v.breached, v.breached ? "crit" : null, null, "breached");
      body.appendChild(tr);
    }
    table.appendChild(body);
  }

  const source = new EventSource(root.dataset.streamUrl);
  source.addEventListener("open", () => C.setText("sse-status", C.t("connected")));
  source.addEventListener("error", () => C.setText("sse-status", C.t("reconnecting")));
  source.addEventListener("wallboard", (ev) => {
    const snap = JSON.parse(ev.data);
    drawQueues(snap.queues);
    drawAgents(snap.agents);
    drawIncidents(snap.incidents);
    C.setText("wb-updated", new Date(snap.at).toLocaleTimeString());
    root.dataset.updates = String(Number(root.dataset.updates || 0) + 1);
  });
})();
