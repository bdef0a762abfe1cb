// Agent console: queue commands, the live screen-pop over SSE, incident quick actions.
"use strict";
(() => {
  const C = Centralita;
  const root = document.getElementById("console");
  if (!root) return;
  const PRIORITIES = ["critical", "high", "medium", "low", "planned"];
  let current = null;       // the pop fields of the call on screen
  let source = null;

  function showResults(results) {
    const list = document.getElementById("command-results");
    C.clear(list);
    for (const r of results || []) {
      const text = r.text || C.t("pending");
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
    const labels = JSON.parse(root.dataset.queueNames || "{}");
    C.setText("agent-queues", names.length ? names.map((q) => labels[q] || q).join(", ") : "—");
    // only what makes sense now: join when in no queue; leave and pause when in queues
    // and not paused; resume when paused
    const inQueues = names.length > 0 && state !== "logged_out";
    const paused = state === "paused";
    document.getElementById("join").hidden = inQueues;
    document.getElementById("leave").hidden = !inQueues;
    document.getElementById("pause").hidden = !inQueues || paused;
    document.getElementById("pause-reason").closest("label").hidden = !inQueues || paused;
    document.getElementById("unpause").hidden = !paused;
  }

  async function command(url, body) {
    showResults([{ text: C.t("pending"), response: "Pending" }]);
    const res = await C.post(url, body);
    if (!res.ok) { showResults([{ text: `${C.t("error")} ${res.data.error || res.status}`, response: "Error" }]); return; }
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

  function renderCard(card) {
    const contact = card.contact;
    C.setText("pop-contact", contact ? contact.name : C.t("unknown_caller"));
    C.setText("pop-org", card.organisation ? card.organisation.name : "—");
    document.getElementById("pop-vip").classList.toggle("hidden", !(card.vip || (current && current.vip === "1")));
    const contractNode = document.getElementById("pop-contract");
    const table = document.getElementById("pop-allotment");
    C.clear(table);
    if (card.contract) {
      contractNode.textContent = `${card.contract.number} · ${C.t("plan")} ${card.contract.plan_label || card.contract.plan}`;
      const usage = card.contract.usage || {};
      for (const prio of PRIORITIES.filter((p) => usage[p])) {
        const u = usage[prio];
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
    if (!card.open_incidents || !card.open_incidents.length) list.appendChild(C.el("li", C.t("no_open_incidents"), "empty"));
    for (const inc of card.open_incidents || []) list.appendChild(openIncidentItem(inc));
  }

  function openIncidentItem(inc) {
      const li = C.el("li");
      li.dataset.number = inc.number;
      const a = C.el("a", inc.display);
      a.href = "/incidents/" + encodeURIComponent(inc.number);
      li.appendChild(a);
      li.appendChild(C.el("span", ` ${C.t("prio." + inc.priority)} · ${C.t("status." + inc.status)} · ${inc.title} `));
      const btn = C.el("button", C.t("link_call"), "link-call");
      btn.type = "button";
      btn.dataset.number = inc.number;
      btn.addEventListener("click", () => linkCall(inc.number));
      li.appendChild(btn);
      return li;
  }

  async function linkCall(number) {
    if (!current) return;
    const res = await C.post(`/api/incidents/${encodeURIComponent(number)}/link-call`, { call_id: current.call_id });
    if (res.ok) showIncidentLink(C.t("linked"), res.data);
    else C.setText("incident-result", `${C.t("error")} ${res.data.error}`);
  }

  function showPop(pop) {
    const isNewCall = !current || current.call_id !== pop.call_id;
    current = Object.assign(isNewCall ? {} : current, pop);
    document.dispatchEvent(new CustomEvent("centralita:pop", { detail: { type: pop.type } }));
    const status = document.getElementById("pop-status");
    status.textContent = C.t("pop." + pop.type);
    status.dataset.state = pop.type;
    C.setText("pop-caller-name", pop.caller_name || pop.contact_name || C.t("unknown_caller"));
    C.setText("pop-caller-num", (pop.words || {}).caller_num || pop.caller_num);
    C.setText("pop-contact", pop.contact_name || C.t("unknown_caller"));
    C.setText("pop-org", pop.organisation || "—");
    const words = pop.words || {};
    C.setText("pop-queue", words.queue || "—");
    document.getElementById("pop-queue").dataset.queue = pop.queue || "";
    document.getElementById("pop-category").dataset.category = pop.category || "";
    C.setText("pop-language", words.language || "—");
    C.setText("pop-wait", C.duration(pop.wait_s));
    C.setText("pop-category", words.category || "—");
    C.setText("pop-priority", words.priority || "—");
    C.setText("pop-incident", pop.incident ? "INC-" + String(pop.incident).padStart(6, "0") : "—");
    document.getElementById("pop-vip").classList.toggle("hidden", pop.vip !== "1");
    C.setText("pop-ivr", words.ivr || "—");
    if (isNewCall) {
      document.getElementById("inc-call-id").value = pop.call_id || "";
      document.getElementById("pop-reporter").dispatchEvent(new CustomEvent("contact-set", {
        detail: { id: pop.contact_id, name: pop.contact_name || "", organisation: pop.organisation || "" },
      }));
      const cat = document.getElementById("inc-category");
      if (pop.category && [...cat.options].some((o) => o.value === pop.category)) cat.value = pop.category;
      C.setText("incident-result", "");
      C.setText("wrapup-result", "");
    }
    const log = document.getElementById("pop-log");
    const who = pop.contact_name || pop.caller_name || C.t("unknown_caller");
    const li = C.el("li", `${words.at || ""} · ${C.t("pop." + pop.type)} · ${who} ${words.caller_num || ""}`);
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
    if (!res.ok) { C.setText("incident-result", `${C.t("error")} ${res.data.error}`); return; }
    showIncidentLink(C.t("created"), res.data);
    document.getElementById("incident-result").dataset.number = res.data.number;
    // clear what the agent typed, keep the call and caller it belongs to
    for (const id of ["inc-title", "inc-description"]) document.getElementById(id).value = "";
    const list = document.getElementById("pop-open-incidents");
    const empty = list.querySelector("li.empty");
    if (empty) empty.remove();
    if (res.data.incident) list.prepend(openIncidentItem(res.data.incident));
  });

  function showIncidentLink(prefix, data) {
    const node = document.getElementById("incident-result");
    C.clear(node);
    node.appendChild(document.createTextNode(prefix + " "));
    const a = C.el("a", data.display);
    a.href = data.url || "/incidents/" + encodeURIComponent(data.number);
    a.id = "incident-result-link";
    node.appendChild(a);
    if (data.priority) node.appendChild(document.createTextNode(` (${C.t("prio." + data.priority)})`));
  }

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
