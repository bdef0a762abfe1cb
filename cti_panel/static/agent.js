// Agent console: queue commands, the live screen-pop over SSE, incident quick actions.
"use strict";
(() => {
  const C = Centralita;
  const root = document.getElementById("console");
  if (!root) return;
  let current = null;       // the pop fields of the call on screen
  let source = null;

  function showResults(results) {
    const list = document.getElementById("command-results");
    C.clear(list);
    for (const r of results || []) {
      const text = `${r.action} ${r.queue || "*"}: ${r.response === "Pending" ? C.t("pending") : r.response} ${r.message || ""}`;
      list.appendChild(C.el("li", text, r.response === "Success" ? "ok" : r.response === "Pending" ? "" : "error"));
    }
  }

  async function refreshState() {
    const res = await C.get("/api/agent/state");
    if (!res.ok) return;
    const st = res.data.state || {};
    const state = st.state || "logged_out";
    const badge = document.getElementById("agent-state");
    badge.textContent = C.t("state." + state);
    badge.dataset.state = state;
    C.setText("agent-pause-reason", st.pause_reason ? "(" + C.t("pause." + st.pause_reason) + ")" : "");
    let queues = {};
    try { queues = JSON.parse(st.queues || "{}"); } catch (e) { queues = {}; }
    const names = Object.keys(queues);
    C.setText("agent-queues", names.length ? names.map((q) => `${q} (${queues[q]})`).join(", ") : "—");
  }

  async function command(url, body) {
    showResults([{ action: "…", queue: "", response: "Pending" }]);
    const res = await C.post(url, body);
    if (!res.ok) { showResults([{ action: C.t("error"), queue: "", response: res.data.error || res.status }]); return; }
    showResults(res.data.results);
    refreshState();
    if ((res.data.results || []).some((r) => r.response === "Pending")) {
      setTimeout(refreshState, 1500);  // the listener is busy: its state update follows
      setTimeout(refreshState, 4000);
    }
  }

  document.getElementById("join").addEventListener("click", () => command("/api/agent/queues/join"));
  document.getElementById("leave").addEventListener("click", () => command("/api/agent/queues/leave"));
  document.getElementById("pause").addEventListener("click", () =>
    command("/api/agent/pause", { paused: true, reason: document.getElementById("pause-reason").value }));
  document.getElementById("unpause").addEventListener("click", () => command("/api/agent/pause", { paused: false }));

  function parseIvr(raw) {
    if (!raw) return {};
    try { const v = JSON.parse(raw); return v && typeof v === "object" ? v : {}; } catch (e) { return {}; }
  }

  function renderCard(card) {
    const contact = card.contact;
    C.setText("pop-contact", contact ? contact.name : C.t("unknown_caller"));
    C.setText("pop-org", card.organisation ? card.organisation.name : "—");
    document.getElementById("pop-vip").classList.toggle("hidden", !(card.vip || (current && current.vip === "1")));
    const contractNode = document.getElementById("pop-contract");
    const table = document.getElementById("pop-allotment");
    C.clear(table);
    if (card.contract) {
      contractNode.textContent = `${card.contract.number} · ${card.contract.plan}`;
      for (const [prio, u] of Object.entries(card.contract.usage || {})) {
        const tr = C.el("tr");
        tr.appendChild(C.el("td", C.t("prio." + prio)));
        tr.appendChild(C.el("td", `${u.used} ${C.t("of")} ${u.allowed}`, u.used >= u.allowed ? "over" : ""));
        table.appendChild(tr);
      }
    } else {
      contractNode.textContent = C.t("no_contract");
    }
    if (card.keyed_incident) {
      const k = card.keyed_incident;
      C.setText("pop-incident", `${k.display} · ${C.t("status." + k.status)} · ${k.title}`);
    }
    const list = document.getElementById("pop-open-incidents");
    C.clear(list);
    if (!card.open_incidents || !card.open_incidents.length) list.appendChild(C.el("li", C.t("no_open_incidents")));
    for (const inc of card.open_incidents || []) {
      const li = C.el("li");
      const a = C.el("a", inc.display);
      a.href = "/incidents/" + encodeURIComponent(inc.number);
      li.appendChild(a);
      li.appendChild(C.el("span", ` ${C.t("prio." + inc.priority)} · ${C.t("status." + inc.status)} · ${inc.title} `));
      const btn = C.el("button", C.t("link_call"), "link-call");
      btn.type = "button";
      btn.dataset.number = inc.number;
      btn.addEventListener("click", () => linkCall(inc.number));
      li.appendChild(btn);
      list.appendChild(li);
    }
  }

  async function linkCall(number) {
    if (!current) return;
    const res = await C.post(`/api/incidents/${encodeURIComponent(number)}/link-call`, { call_id: current.call_id });
    C.setText("incident-result", res.ok ? `${C.t("linked")} ${res.data.display}` : `${C.t("error")} ${res.data.error}`);
  }

  function showPop(pop) {
    const isNewCall = !current || current.call_id !== pop.call_id;
    current = Object.assign(isNewCall ? {} : current, pop);
    const status = document.getElementById("pop-status");
    status.textContent = C.t("pop." + pop.type);
    status.dataset.state = pop.type;
    C.setText("pop-caller-name", pop.caller_name || pop.contact_name || C.t("unknown_caller"));
    C.setText("pop-caller-num", pop.caller_num);
    C.setText("pop-contact", pop.contact_name || C.t("unknown_caller"));
    C.setText("pop-org", pop.organisation || "—");
    C.setText("pop-queue", pop.queue);
    C.setText("pop-language", pop.language);
    C.setText("pop-wait", C.duration(pop.wait_s));
    C.setText("pop-category", pop.category);
    C.setText("pop-priority", pop.priority ? C.t("prio." + pop.priority) : "—");
    C.setText("pop-incident", pop.incident || "—");
    document.getElementById("pop-vip").classList.toggle("hidden", pop.vip !== "1");
    const dl = document.getElementById("pop-ivr");
    C.clear(dl);
    for (const [k, v] of Object.entries(parseIvr(pop.ivr))) {
      dl.appendChild(C.el("dt", k));
      dl.appendChild(C.el("dd", v));
    }
    if (isNewCall) {
      document.getElementById("inc-call-id").value = pop.call_id || "";
      document.getElementById("inc-contact-id").value = pop.contact_id || "";
      const cat = document.getElementById("inc-category");
      if (pop.category && [...cat.options].some((o) => o.value === pop.category)) cat.value = pop.category;
      C.setText("incident-result", "");
      C.setText("wrapup-result", "");
    }
    const log = document.getElementById("pop-log");
    const li = C.el("li", `${pop.at || ""} ${pop.type} ${pop.call_id} ${pop.caller_num || ""}`);
    li.dataset.callId = pop.call_id || "";
    li.dataset.type = pop.type || "";
    log.appendChild(li);
    if (pop.type !== "end") {
      const q = new URLSearchParams({ contact_id: pop.contact_id || "", incident: pop.incident || "" });
      C.get("/api/caller?" + q.toString()).then((res) => { if (res.ok && current && current.call_id === pop.call_id) renderCard(res.data); });
    }
    refreshState();
  }

  function connect() {
    source = new EventSource(root.dataset.popsUrl);
    source.addEventListener("open", () => C.setText("sse-status", C.t("connected")));
    source.addEventListener("error", () => C.setText("sse-status", C.t("reconnecting")));
    source.addEventListener("pop", (ev) => {
      root.dataset.lastEventId = ev.lastEventId;
      showPop(JSON.parse(ev.data));
    });
  }

  document.getElementById("incident-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = Object.fromEntries(new FormData(ev.target).entries());
    const res = await C.post("/api/incidents", body);
    C.setText("incident-result", res.ok ? `${C.t("created")} ${res.data.display} (${C.t("prio." + res.data.priority)})` : `${C.t("error")} ${res.data.error}`);
    if (res.ok) document.getElementById("incident-result").dataset.number = res.data.number;
  });

  document.getElementById("wrapup-save").addEventListener("click", async () => {
    if (!current) return;
    const code = document.getElementById("wrapup-code").value;
    const res = await C.post(`/api/calls/${encodeURIComponent(current.call_id)}/wrapup`, { code });
    C.setText("wrapup-result", res.ok ? C.t("saved") : `${C.t("error")} ${res.data.error}`);
  });

  refreshState();
  setInterval(refreshState, 5000);
  connect();
})();
