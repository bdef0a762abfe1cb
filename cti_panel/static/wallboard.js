// Supervisor wallboard: tiles per skill group and queue, totals, today's chart,
// incidents at risk, agents by state. Fed by SSE parts (queues, groups, totals,
// agents, incidents, chart) and `tick`s; every value goes in with textContent.
// Waits and times in state tick here every second from the server's `*_since`
// epochs, corrected by the server clock each tick carries.
"use strict";
(() => {
  const C = Centralita;
  const root = document.getElementById("wallboard");
  if (!root) return;
  const cfg = JSON.parse(document.getElementById("wb-config").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const LEVELS = ["ok", "warn", "crit"];
  const STATE_ORDER = ["oncall", "ringing", "wrapup", "available", "paused", "logged_out"];
  const STALE_MS = 6000;
  const locale = cfg.lang === "en" ? "en-US" : "es-MX";
  const timeOpts = { timeZone: cfg.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit" };
  if (cfg.lang !== "en") timeOpts.hourCycle = "h23";
  const clockFmt = new Intl.DateTimeFormat(locale, timeOpts);
  const dateFmt = new Intl.DateTimeFormat(locale, { timeZone: cfg.timezone, weekday: "long", day: "numeric", month: "long" });
  const numFmt = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });

  const state = { parts: {}, offset: 0, tileTicks: [], agentTicks: [], lastMessage: 0, source: null };

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (_m, k) => (values[k] === undefined ? "" : String(values[k])));
  }
  function serverNow() { return Date.now() / 1000 + state.offset; }
  function pct(v) { return v === null || v === undefined ? "—" : `${numFmt.format(v)} %`; }
  function dur(s) {
    if (s === null || s === undefined) return "—";
    s = Math.max(0, Math.floor(Number(s)));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    if (h) return `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}`;
    return m ? `${m}:${String(r).padStart(2, "0")}` : `${r} ${C.t("seconds")}`;
  }
  function level(value, warn, crit) {  // higher is worse
    if (value === null || value === undefined) return "ok";
    return value >= crit ? "crit" : value >= warn ? "warn" : "ok";
  }

  // Text on a level colour: black or white, whichever contrasts more (≥ 4.5:1 for any colour).
  function luminance(hex) {
    const m = /^#?([0-9a-f]{6})$/i.exec(hex || "");
    if (!m) return null;
    const n = parseInt(m[1], 16);
    const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  }
  function inkFor(hex) {
    const L = luminance(hex);
    if (L === null) return "";
    return (L + 0.05) / 0.05 >= 1.05 / (L + 0.05) ? "#000000" : "#ffffff";
  }
  function paint(box, lvl, colors) {
    box.dataset.level = lvl;
    const colour = colors ? colors[lvl] : null;
    const isMetric = box.classList.contains("wb-metric");
    box.style.backgroundColor = "";
    box.style.color = "";
    box.style.borderLeftColor = "";
    if (colour && isMetric) box.style.borderLeftColor = colour;
    if (colour && lvl !== "ok") {
      box.style.backgroundColor = colour;
      box.style.color = inkFor(colour);
    }
    const cue = box.querySelector(".wb-cue");
    if (cue) cue.textContent = C.t("wb.level." + lvl);
  }

  // --- tiles ---------------------------------------------------------------------
  function metric(parent, key, label, text, lvl, colors, big, sub) {
    const box = C.el("div", null, "wb-metric " + key + (big ? " wb-big" : ""));
    box.appendChild(C.el("span", label, "wb-label"));
    box.appendChild(C.el("span", text, "wb-value"));
    if (sub) box.appendChild(C.el("span", sub, "wb-sub"));
    box.appendChild(C.el("span", "", "wb-cue wb-sr"));
    paint(box, lvl || "ok", colors);
    parent.appendChild(box);
    return box;
  }

  function tickingWait(box, row) {
    state.tileTicks.push(() => {
      const s = row.longest_wait_since === null ? 0 : serverNow() - row.longest_wait_since;
      box.querySelector(".wb-value").textContent = row.longest_wait_since === null ? "—" : dur(s);
      paint(box, row.longest_wait_since === null ? "ok" : level(s, row.thresholds.wait_warn_s, row.thresholds.wait_crit_s), row.colors);
    });
  }

  function metrics(parent, row, big) {
    const L = row.levels, c = row.colors;
    const strip = C.el("div", null, "wb-metrics");
    metric(strip, "sl", C.t("wb.sl"), pct(row.service_level), L.service_level, c, big);
    metric(strip, "waiting", C.t("wb.waiting"), row.waiting, L.waiting, c, big);
    tickingWait(metric(strip, "longest", C.t("wb.longest"), "—", "ok", c, big), row);
    metric(strip, "available", C.t("wb.available"), `${row.available_agents}`, L.available, c, big, fill(C.t("wb.logged_in"), { n: row.logged_in }));
    metric(strip, "abandon", C.t("wb.abandon"), pct(row.abandon_rate), L.abandon_rate, c, big);
    metric(strip, "asa", C.t("wb.asa"), dur(row.asa_s), L.asa, c, big);
    parent.appendChild(strip);
  }

  function tileHead(tile, title, row, withCounts) {
    const head = C.el("div", null, "wb-tile-head");
    const h3 = C.el("h3", title);
    h3.title = title;
    head.appendChild(h3);
    head.appendChild(C.el("p", fill(C.t("wb.target"), { pct: `${numFmt.format(row.target_percent)}\u00a0%`, sec: row.servicelevel_s }), "wb-target"));
    const counts = C.el("p", null, "wb-counts");
    if (withCounts) {  // a group's counts are its queue rows' (offered, answered columns)
      counts.appendChild(C.el("span", `${C.t("wb.offered")} ${row.offered}`, "offered"));
      counts.appendChild(C.el("span", `${C.t("wb.answered")} ${row.answered}`, "answered"));
    }
    // callbacks, apart from abandons: requested today, by where they stand (a narrow
    // tile hides its queue table's callbacks column, so a group says it here too)
    if (row.callbacks && (withCounts || row.callbacks.requested > 0)) {
      const cb = row.callbacks;  // short on the tile, the sentence on hover and for readers
      const span = C.el("span", null, "callbacks");
      const abbr = C.el("abbr", C.t("wb.short.callbacks"));
      abbr.title = C.t("wb.callbacks");
      span.appendChild(abbr);
      span.appendChild(document.createTextNode(` ${cb.pending} · ${cb.done} · ${cb.failed}`));
      span.title = `${C.t("wb.callbacks")}: ${fill(C.t("wb.callbacks_detail"), cb)}`;
      counts.appendChild(span);
    }
    if (counts.childNodes.length) head.appendChild(counts);
    tile.appendChild(head);
  }

  function queueTable(tile, group) {
    const table = C.el("table", null, "wb-qtable");
    const thead = C.el("thead");
    const hr = C.el("tr");
    const cols = ["queue", "sl", "waiting", "longest", "available", "abandon", "asa", "offered", "answered", "callbacks"];
    for (const k of cols) {
      const th = C.el("th", null, k);
      th.scope = "col";
      if (k === "queue") {
        th.textContent = C.t("queue");
      } else {  // short headings, the full words for assistive technology and on hover
        const abbr = C.el("abbr", C.t("wb.short." + k));
        abbr.title = C.t("wb." + k);
        th.appendChild(abbr);
      }
      hr.appendChild(th);
    }
    thead.appendChild(hr);
    table.appendChild(thead);
    const body = C.el("tbody");
    for (const name of group.queues) {
      const q = (state.parts.queues || []).find((r) => r.queue === name);
      if (!q) continue;
      const tr = C.el("tr");
      tr.dataset.queue = q.queue;
      const label = cfg.queues[q.queue] ? cfg.queues[q.queue].language : q.queue;
      const th = C.el("th", label, "name");
      th.scope = "row";
      tr.appendChild(th);
      const cell = (cls, text, lvl) => {
        const td = C.el("td", text, cls);
        if (lvl) paint(td, lvl, q.colors);
        tr.appendChild(td);
        return td;
      };
      cell("sl", pct(q.service_level), q.levels.service_level);
      cell("waiting", q.waiting, q.levels.waiting);
      const longest = cell("longest", "—", "ok");
      state.tileTicks.push(() => {
        const s = q.longest_wait_since === null ? null : serverNow() - q.longest_wait_since;
        longest.textContent = s === null ? "—" : dur(s);
        paint(longest, s === null ? "ok" : level(s, q.thresholds.wait_warn_s, q.thresholds.wait_crit_s), q.colors);
      });
      cell("available", q.available_agents, q.levels.available);
      cell("abandon", pct(q.abandon_rate), q.levels.abandon_rate);
      cell("asa", dur(q.asa_s), q.levels.asa);
      cell("offered", q.offered, null);
      cell("answered", q.answered, null);
      const cb = q.callbacks || { pending: 0, done: 0, failed: 0 };
      cell("callbacks", `${cb.pending} · ${cb.done} · ${cb.failed}`, null).title = fill(C.t("wb.callbacks_detail"), cb);
      body.appendChild(tr);
    }
    table.appendChild(body);
    tile.appendChild(table);
  }

  function drawTiles() {
    const host = document.getElementById("wb-queues");
    const { totals, groups } = state.parts;
    if (!totals || !groups || !state.parts.queues) return;
    state.tileTicks = [];
    C.clear(host);
    const total = C.el("article", null, "wb-tile wb-total");
    total.dataset.group = "all";
    tileHead(total, C.t("wb.all_queues"), totals, true);
    metrics(total, totals, true);
    const chips = C.el("ul", null, "wb-summary wb-total-agents");
    chips.setAttribute("aria-label", C.t("wb.agents"));
    fillChips(chips);
    total.appendChild(chips);
    host.appendChild(total);
    for (const g of groups) {
      const tile = C.el("article", null, "wb-tile");
      tile.dataset.group = g.skill;
      tileHead(tile, cfg.skills[g.skill] || g.skill, g);
      metrics(tile, g, false);
      queueTable(tile, g);
      host.appendChild(tile);
    }
    tick();
  }

  // --- chart ---------------------------------------------------------------------
  function svg(tag, attrs, text) {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = String(text);
    return n;
  }

  function drawChart() {
    const data = state.parts.chart;
    const host = document.getElementById("wb-chart");
    const table = document.getElementById("wb-chart-table");
    if (!data) return;
    C.clear(host);
    C.clear(table);
    const rows = data.intervals || [];
    if (!rows.length) {
      host.appendChild(C.el("p", C.t("wb.chart_empty"), "wb-muted"));
      return;
    }
    // contiguous 15-minute slots up to the current one, from the first with calls but at
    // least three hours' worth (every zone offset is a whole number of quarter hours)
    const step = data.minutes * 60;
    const last = Math.max(rows[rows.length - 1].epoch, Math.floor(serverNow() / step) * step);
    const first = Math.min(rows[0].epoch, last - 11 * step);
    const byEpoch = new Map(rows.map((r) => [r.epoch, r]));
    const slots = [];
    for (let t = first; t <= last + 1; t += step) {
      slots.push(byEpoch.get(t) || { epoch: t, offered: 0, service_level: null, start: clockFmt.format(new Date(t * 1000)).slice(0, 5) });
    }
    // drawn at the box's own pixel size, so its text is as large as the page's
    const em = parseFloat(getComputedStyle(host).fontSize) || 16;
    const W = Math.max(280, Math.round(host.clientWidth || 640));
    const H = Math.round(Math.min(10 * em, Math.max(7.5 * em, W * 0.3)));
    const left = 2.6 * em, right = 3.4 * em, top = 1.0 * em, bottom = 2.0 * em;
    const plotW = W - left - right, plotH = H - top - bottom;
    const maxOffered = Math.max(1, ...slots.map((s) => s.offered));
    const bw = plotW / slots.length;
    const last1 = rows[rows.length - 1];
    const summary = fill(C.t("wb.chart_summary"), { n: rows.length, start: last1.start, offered: last1.offered, sl: pct(last1.service_level) });
    const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `${C.t("wb.chart_title")}: ${summary}`, class: "wb-svg" });
    const y = (v) => top + plotH - (v / maxOffered) * plotH;
    const ySl = (v) => top + plotH - (v / 100) * plotH;
    chart.appendChild(svg("line", { x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH, class: "axis" }));
    slots.forEach((s, i) => {
      const h = (s.offered / maxOffered) * plotH;
      chart.appendChild(svg("rect", { x: left + i * bw + bw * 0.15, y: top + plotH - h, width: Math.max(1, bw * 0.7), height: h, class: "bar" }));
      const d = new Date(s.epoch * 1000);
      const label = clockFmt.format(d).slice(0, 5);
      if (label.endsWith(":00") || slots.length <= 8) {
        chart.appendChild(svg("text", { x: left + i * bw + bw / 2, y: H - 0.5 * em, class: "tick", "text-anchor": "middle" }, label));
      }
    });
    if (data.target !== null && data.target !== undefined) {
      chart.appendChild(svg("line", { x1: left, x2: left + plotW, y1: ySl(data.target), y2: ySl(data.target), class: "target" }));
    }
    let path = "";
    slots.forEach((s, i) => {
      if (s.service_level === null || s.service_level === undefined) return;
      path += `${path ? "L" : "M"}${(left + i * bw + bw / 2).toFixed(1)},${ySl(s.service_level).toFixed(1)} `;
    });
    if (path) chart.appendChild(svg("path", { d: path.trim(), class: "sl" }));
    slots.forEach((s, i) => {
      if (s.service_level === null || s.service_level === undefined) return;
      chart.appendChild(svg("circle", { cx: left + i * bw + bw / 2, cy: ySl(s.service_level), r: 3.5, class: "sl-dot" }));
    });
    chart.appendChild(svg("text", { x: left - 6, y: top + 0.6 * em, class: "tick", "text-anchor": "end" }, maxOffered));
    chart.appendChild(svg("text", { x: left - 6, y: top + plotH, class: "tick", "text-anchor": "end" }, 0));
    chart.appendChild(svg("text", { x: W - right + 6, y: top + 0.6 * em, class: "tick" }, "100 %"));
    chart.appendChild(svg("text", { x: W - right + 6, y: top + plotH, class: "tick" }, "0 %"));
    host.appendChild(chart);
    const legend = C.el("ul", null, "wb-legend");
    legend.appendChild(C.el("li", C.t("wb.chart_offered"), "bar"));
    legend.appendChild(C.el("li", C.t("wb.sl"), "sl"));
    legend.appendChild(C.el("li", `${C.t("wb.chart_target")} ${pct(data.target)}`, "target"));
    host.appendChild(legend);
    const head = C.el("tr");
    for (const k of ["wb.interval", "wb.offered", "wb.answered", "wb.sl"]) {
      const th = C.el("th", C.t(k));
      th.scope = "col";
      head.appendChild(th);
    }
    const thead = C.el("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    const body = C.el("tbody");
    for (const r of rows) {
      const tr = C.el("tr");
      tr.appendChild(C.el("td", r.start));
      tr.appendChild(C.el("td", r.offered));
      tr.appendChild(C.el("td", r.answered));
      tr.appendChild(C.el("td", pct(r.service_level)));
      body.appendChild(tr);
    }
    table.appendChild(body);
  }

  // --- incidents -------------------------------------------------------------------
  function drawIncidents() {
    const byPrio = state.parts.incidents;
    if (!byPrio) return;
    const table = document.getElementById("wb-incidents");
    C.clear(table);
    const thead = C.el("thead");
    const hr = C.el("tr");
    for (const k of ["wb.priority", "wb.at_risk", "wb.breached"]) {
      const th = C.el("th", C.t(k));
      th.scope = "col";
      hr.appendChild(th);
    }
    thead.appendChild(hr);
    table.appendChild(thead);
    const body = C.el("tbody");
    const colors = state.parts.totals ? state.parts.totals.colors : null;
    for (const prio of cfg.priorities) {
      const v = byPrio[prio];
      if (!v) continue;
      const tr = C.el("tr");
      tr.dataset.priority = prio;
      const th = C.el("th", C.t("prio." + prio), "name");
      th.scope = "row";
      tr.appendChild(th);
      const risk = C.el("td", v.at_risk, "at_risk");
      paint(risk, v.at_risk ? "warn" : "ok", colors);
      const breached = C.el("td", v.breached, "breached");
      paint(breached, v.breached ? "crit" : "ok", colors);
      tr.appendChild(risk);
      tr.appendChild(breached);
      body.appendChild(tr);
    }
    table.appendChild(body);
  }

  // --- agents ----------------------------------------------------------------------
  function fillChips(ul) {  // how many agents are in each state
    C.clear(ul);
    const counts = {};
    for (const a of state.parts.agents || []) counts[a.state] = (counts[a.state] || 0) + 1;
    for (const s of STATE_ORDER) {
      if (s === "logged_out" || !counts[s]) continue;
      const li = C.el("li", null, "wb-chip state-" + s);
      li.dataset.state = s;
      li.appendChild(C.el("span", counts[s], "n"));
      li.appendChild(C.el("span", C.t("state." + s)));
      ul.appendChild(li);
    }
  }

  function drawAgents() {
    const rows = state.parts.agents;
    if (!rows) return;
    const list = document.getElementById("wb-agents");
    const summary = document.getElementById("wb-agent-summary");
    C.clear(list);
    state.agentTicks = [];
    fillChips(summary);
    const inTotals = document.querySelector("#wb-queues .wb-total-agents");
    if (inTotals) fillChips(inTotals);
    const shown = rows.filter((a) => a.state !== "logged_out");
    shown.sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) || (a.since || 0) - (b.since || 0));
    if (!shown.length) list.appendChild(C.el("li", C.t("wb.no_agents"), "wb-muted"));
    for (const a of shown) {
      const li = C.el("li", null, "wb-agent state-" + a.state);
      li.dataset.login = a.login;
      li.dataset.state = a.state;
      li.appendChild(C.el("span", a.name || a.login, "name"));
      const line = C.el("span", null, "line2");
      line.appendChild(C.el("span", C.t("state." + a.state), "state"));
      if (a.pause_reason) {
        line.appendChild(document.createTextNode(" · "));
        const reason = C.t("pause." + a.pause_reason);  // a reason without a label shows as typed
        line.appendChild(C.el("span", reason === "pause." + a.pause_reason ? a.pause_reason : reason, "reason"));
      }
      li.appendChild(line);
      const time = C.el("span", "—", "time");
      li.appendChild(time);
      state.agentTicks.push(() => { time.textContent = a.since === null ? "—" : dur(serverNow() - a.since); });
      list.appendChild(li);
    }
    tick();
  }

  // --- clock, ticking, staleness ----------------------------------------------------
  function tick() {
    const now = new Date(serverNow() * 1000);
    const clock = document.getElementById("wb-clock");
    clock.textContent = clockFmt.format(now);
    clock.dateTime = now.toISOString();
    clock.title = dateFmt.format(now);
    for (const f of state.tileTicks) f();
    for (const f of state.agentTicks) f();
    if (state.lastMessage && Date.now() - state.lastMessage > STALE_MS) stale(true);
  }

  function stale(on) {
    document.getElementById("wb-stale").hidden = !on;
    root.dataset.state = on ? "stale" : "live";
    C.setText("sse-status", on ? C.t("reconnecting") : C.t("connected"));
    if (on && state.source && Date.now() - state.lastMessage > STALE_MS) {
      connect();  // a silent socket: drop it and start again (the server resends everything)
    }
  }

  const draw = {
    queues: drawTiles,
    groups: drawTiles,
    totals: drawTiles,
    agents: drawAgents,
    incidents: drawIncidents,
    chart: drawChart,
  };

  function connect() {
    if (state.source) state.source.close();
    state.lastMessage = Date.now();
    const source = new EventSource(root.dataset.streamUrl);
    state.source = source;
    source.addEventListener("open", () => {
      root.dataset.connects = String(Number(root.dataset.connects) + 1);
    });
    source.addEventListener("error", () => {
      // a stream that ends on schedule reconnects by itself within a second: the board
      // turns stale only when data stops (the watchdog in tick) or the browser gives up
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
    });
    for (const part of Object.keys(draw)) {
      source.addEventListener(part, (ev) => {
        state.parts[part] = JSON.parse(ev.data);
        state.lastMessage = Date.now();
        draw[part]();
        root.dataset.updates = String(Number(root.dataset.updates) + 1);
      });
    }
    source.addEventListener("tick", (ev) => {
      const t = JSON.parse(ev.data);
      state.offset = t.now - Date.now() / 1000;
      state.lastMessage = Date.now();
      stale(!t.healthy);
      if (t.built) C.setText("wb-updated", clockFmt.format(new Date(t.built * 1000)));
      tick();
    });
  }

  connect();
  setInterval(tick, 1000);
  let resizing = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(drawChart, 200);
  });
})();
