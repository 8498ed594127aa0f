// flightring dashboard: plain DOM code, no dependencies. Every piece of data goes in
// through textContent or setAttribute, never parsed as markup, so no recorded text can run.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const SVGNS = "http://www.w3.org/2000/svg";
  const state = {
    token: sessionStorage.getItem("flightring.token"),
    askPending: null,
    features: {},
    rates: [],
    tailPaused: false,
    tailAbort: null,
    openRecording: null,
  };

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function showError(msg) { $("error-line").textContent = msg || ""; }

  // --- the bearer token: asked for on a 401, kept for the session ---
  function askToken(message) {
    if (state.askPending) return state.askPending;
    state.askPending = new Promise((resolve) => {
      const dlg = $("token-dialog");
      $("token-error").textContent = message || "";
      $("token-input").value = "";
      const form = $("token-form");
      form.onsubmit = (ev) => {
        ev.preventDefault();
        const t = $("token-input").value;
        if (!t) return;
        state.token = t;
        sessionStorage.setItem("flightring.token", t);
        dlg.close();
        state.askPending = null;
        resolve(t);
      };
      if (!dlg.open) dlg.showModal();
    });
    return state.askPending;
  }
  function headers(extra) {
    const h = Object.assign({}, extra || {});
    if (state.token) h["Authorization"] = "Bearer " + state.token;
    return h;
  }
  async function api(path, opts) {
    opts = opts || {};
    for (;;) {
      const init = { method: opts.method || "GET", headers: headers(opts.body !== undefined ? { "Content-Type": "application/json" } : {}), signal: opts.signal };
      if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
      const resp = await fetch(path, init);
      if (resp.status === 401) {
        await askToken(state.token ? "That token was refused; try again." : "");
        continue;
      }
      if (opts.raw) return resp;
      let body = null;
      try { body = await resp.json(); } catch (_) { body = null; }
      if (!resp.ok) {
        const err = new Error((body && body.message) || (path + ": HTTP " + resp.status));
        err.status = resp.status;
        err.body = body;
        throw err;
      }
      return body;
    }
  }

  // --- health, counters, sparkline, latency, peers ---
  function renderHealth(h) {
    const badge = $("health-badge");
    const status = String(h.status || "unknown").toLowerCase();
    badge.className = "badge status-" + status;
    badge.dataset.status = status;
    $("health-status").textContent = h.status;
    $("health-message").textContent = h.message || "";
    const ul = $("health-reasons");
    clear(ul);
    for (const r of h.reasons || []) ul.appendChild(el("li", typeof r === "string" ? r : JSON.stringify(r)));
  }
  function stat(dl, name, value) {
    const d = el("div");
    d.appendChild(el("dt", name));
    const dd = el("dd", value);
    dd.dataset.counter = name;
    d.appendChild(dd);
    dl.appendChild(d);
  }
  function renderStats(s) {
    const dl = $("counters");
    clear(dl);
    stat(dl, "recorded", s.total_recorded);
    stat(dl, "retained", s.retained + " / " + s.capacity);
    stat(dl, "overwritten", s.overwritten);
    stat(dl, "dropped", s.dropped);
    stat(dl, "truncated", s.truncated);
    for (const sev in s.by_severity || {}) stat(dl, sev, s.by_severity[sev]);
    renderSparkline();
    renderLatency(s.histograms || {});
    $("peer-count").textContent = String(s.active_peers);
    const ul = $("peers");
    clear(ul);
    for (const p of (s.active_peer_ids || []).slice(0, 30)) ul.appendChild(el("li", p));
  }
  function renderSparkline() {
    const g = $("sparkline");
    clear(g);
    const r = state.rates;
    if (r.length < 2) return;
    const max = Math.max(1, ...r);
    const pts = r.map((v, i) => (i * 600 / (r.length - 1)).toFixed(1) + "," + (58 - v * 56 / max).toFixed(1));
    g.appendChild(svg("polyline", { points: pts.join(" "), fill: "none", stroke: "#1a73e8", "stroke-width": 1.5 }));
  }
  const PCTS = [["p50", "#8ab4f8"], ["p90", "#4285f4"], ["p99", "#1a56c4"], ["p999", "#0b2e6b"]];
  function ms(ns) { return (ns / 1e6).toFixed(ns < 1e7 ? 3 : 1); }
  function renderLatency(hs) {
    const tb = $("latency").tBodies[0];
    clear(tb);
    const names = Object.keys(hs);
    const chart = $("latency-chart");
    clear(chart);
    const rowH = 18, left = 150, width = 600;
    chart.setAttribute("viewBox", "0 0 " + width + " " + Math.max(rowH, names.length * rowH));
    chart.style.height = Math.max(rowH, names.length * rowH) + "px";
    let max = 1;
    for (const n of names) max = Math.max(max, hs[n].p999 || 0);
    const scale = (v) => (Math.log10(1 + v / 1e3) / Math.log10(1 + max / 1e3)) * (width - left - 4);
    names.forEach((n, i) => {
      const h = hs[n];
      const tr = el("tr");
      tr.appendChild(el("td", n));
      tr.appendChild(el("td", h.count));
      for (const [k] of PCTS) tr.appendChild(el("td", ms(h[k] || 0)));
      tb.appendChild(tr);
      const label = svg("text", { x: 0, y: i * rowH + 13, "font-size": 11 });
      label.textContent = n;
      chart.appendChild(label);
      for (let j = PCTS.length - 1; j >= 0; j--) {
        const [k, colour] = PCTS[j];
        const rect = svg("rect", { x: left, y: i * rowH + 3, height: rowH - 6, width: Math.max(1, scale(h[k] || 0)), fill: colour });
        const t = svg("title", {});
        t.textContent = n + " " + k + " " + ms(h[k] || 0) + " ms";
        rect.appendChild(t);
        chart.appendChild(rect);
      }
    });
  }
  async function pollOverview() {
    try {
      const [h, s] = await Promise.all([api("/health"), api("/stats")]);
      renderHealth(h);
      // The rate over the health window, as the recorder's sampler measured it.
      const rate = (h.figures && h.figures.events_per_sec) || 0;
      state.rates.push(rate);
      if (state.rates.length > 300) state.rates.shift();
      $("rate-now").textContent = Math.round(rate).toLocaleString() + " /s";
      renderStats(s);
      $("conn-state").textContent = "";
    } catch (e) {
      $("conn-state").textContent = "disconnected: " + e.message;
    }
  }

  // --- events table, filters, details ---
  function eventRow(e, first) {
    const tr = el("tr");
    const sev = String(e.severity).toLowerCase();
    tr.dataset.severity = sev;
    tr.dataset.id = e.id;
    tr.appendChild(el("td", first));
    tr.appendChild(el("td", sev, "sev-" + sev));
    tr.appendChild(el("td", e.event_type));
    tr.appendChild(el("td", e.peer_id || ""));
    tr.appendChild(el("td", e.message));
    tr.addEventListener("click", () => {
      for (const s of document.querySelectorAll("tr.selected")) s.classList.remove("selected");
      tr.classList.add("selected");
      $("details").textContent = JSON.stringify(e, null, 2);
    });
    return tr;
  }
  function timeOf(e) { return String(e.timestamp).replace("T", " ").replace("Z", ""); }
  function filterQuery() {
    const q = new URLSearchParams();
    const pairs = [["min_severity", "f-severity"], ["kind", "f-kind"], ["peer", "f-peer"], ["text", "f-text"]];
    for (const [k, id] of pairs) { const v = $(id).value.trim(); if (v) q.set(k, v); }
    if (q.has("text")) q.set("ignore_case", "true");
    return q;
  }
  async function loadEvents() {
    const q = filterQuery();
    q.set("limit", "100");
    try {
      const body = await api("/events?" + q.toString());
      const tb = $("events").tBodies[0];
      clear(tb);
      for (const e of body.events) tb.appendChild(eventRow(e, timeOf(e)));
      $("events-count").textContent = body.count + " shown";
      showError("");
    } catch (e) { showError(e.message); }
  }

  // --- live tail over /events/stream (fetch, so the token goes in a header) ---
  const TAIL_MAX = 200;
  // Frames are buffered and drawn four times a second, at most TAIL_MAX of them: a node
  // recording at full speed cannot flood the page (the rest is counted as not drawn).
  const tailBuf = [];
  let tailSeen = 0, tailSkipped = 0;
  function onFrame(type, data) {
    if (type === "event" || type === "lost") {
      tailBuf.push({ type, data });
      if (type === "event") tailSeen++;
      if (tailBuf.length > 4 * TAIL_MAX) {
        const cut = tailBuf.length - TAIL_MAX;
        const dropped = tailBuf.splice(0, cut);
        // Lost notices are never dropped.
        for (const f of dropped) if (f.type === "lost") tailBuf.unshift(f); else tailSkipped++;
      }
    } else if (type === "end") {
      $("tail-state").textContent = "ended: " + JSON.parse(data).reason;
    }
  }
  function flushTail() {
    if (!tailBuf.length) return;
    const frames = tailBuf.splice(0);
    let events = 0;
    const keep = [];
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i];
      if (f.type === "lost" || events < TAIL_MAX) { keep.push(f); if (f.type === "event") events++; }
      else tailSkipped++;
    }
    const frag = document.createDocumentFragment();
    for (const f of keep) {
      if (f.type === "event") {
        const e = JSON.parse(f.data);
        frag.appendChild(eventRow(e, timeOf(e)));
      } else {
        const d = JSON.parse(f.data);
        const tr = el("tr", undefined, "lost");
        const td = el("td", "lost " + d.lost + " events (" + d.total_lost + " in all): the tail fell behind");
        td.colSpan = 5;
        tr.appendChild(td);
        frag.appendChild(tr);
        $("tail-lost").textContent = td.textContent;
      }
    }
    const tb = $("tail").tBodies[0];
    tb.insertBefore(frag, tb.firstChild);
    while (tb.rows.length > TAIL_MAX) tb.deleteRow(tb.rows.length - 1);
    $("tail-count").textContent = tailSeen + " received" + (tailSkipped ? ", " + tailSkipped + " too fast to draw" : "");
  }
  async function startTail() {
    stopTail();
    const ctrl = new AbortController();
    state.tailAbort = ctrl;
    $("tail-state").textContent = "following";
    try {
      const q = filterQuery();
      const resp = await api("/events/stream?" + q.toString(), { raw: true, signal: ctrl.signal });
      if (!resp.ok) { $("tail-state").textContent = "stream refused: HTTP " + resp.status; return; }
      const reader = resp.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let type = "message", data = "";
          for (const line of frame.split("\n")) {
            if (line.startsWith("event: ")) type = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data) onFrame(type, data);
        }
      }
    } catch (e) {
      if (e.name !== "AbortError") $("tail-state").textContent = "stream error: " + e.message;
    }
  }
  function stopTail() {
    if (state.tailAbort) { state.tailAbort.abort(); state.tailAbort = null; }
  }
  function toggleTail() {
    state.tailPaused = !state.tailPaused;
    $("tail-toggle").textContent = state.tailPaused ? "Resume" : "Pause";
    if (state.tailPaused) { stopTail(); $("tail-state").textContent = "paused"; }
    else startTail();
  }

  // --- blocks and alerts (with a monitor / alert manager attached) ---
  async function pollMonitor() {
    try {
      if (state.features.monitor) {
        const s = await api("/blocks");
        const dl = $("block-stats");
        clear(dl);
        for (const k of ["head", "processed", "missed", "recovered", "current_streak", "longest_streak", "reorgs", "delayed"]) stat(dl, k, s[k] === null ? "–" : s[k]);
        stat(dl, "missed rate", (100 * s.missed_rate).toFixed(2) + "%");
        const m = await api("/blocks/missed?format=json&limit=20");
        const tb = $("missed").tBodies[0];
        clear(tb);
        for (const b of m.missed) {
          const tr = el("tr");
          for (const v of [b.block_number, b.reason, b.severity, b.recovered ? "yes" : "no", b.recovery_attempts]) tr.appendChild(el("td", v));
          tb.appendChild(tr);
        }
      }
      if (state.features.alerts) {
        const a = await api("/alerts");
        const tb = $("alerts").tBodies[0];
        clear(tb);
        for (const r of a.recent.slice(-20).reverse()) {
          const tr = el("tr");
          const st = typeof r.state === "string" ? r.state : Object.keys(r.state)[0];
          for (const v of [r.channel, r.alert.rule, r.alert.message || r.alert.title || "", st]) tr.appendChild(el("td", v));
          tb.appendChild(tr);
        }
      }
    } catch (e) { showError(e.message); }
  }

  // --- recordings and replay ---
  function fmtSecs(s) { return s < 60 ? s.toFixed(1) + " s" : (s / 60).toFixed(1) + " min"; }
  async function loadRecordings() {
    try {
      const body = await api("/api/recordings");
      const tb = $("rec-list").tBodies[0];
      clear(tb);
      for (const r of body.recordings) {
        const tr = el("tr");
        tr.dataset.name = r.name;
        for (const v of [r.name, r.events, fmtSecs(r.duration_secs), r.start_time]) tr.appendChild(el("td", v));
        tr.addEventListener("click", () => openRecording(r.name));
        tb.appendChild(tr);
      }
    } catch (e) { showError(e.message); }
  }
  async function openRecording(name) {
    state.openRecording = name;
    $("rec-open").hidden = false;
    $("rec-title").textContent = name;
    try {
      const m = await api("/api/recordings/" + encodeURIComponent(name));
      $("rec-meta").textContent = m.events + " events over " + fmtSecs(m.duration_secs) + " from " + m.start_time + " (" + m.source + "), " + m.peers + " peers";
      await loadRecordingEvents();
    } catch (e) { showError(e.message); }
  }
  function recFilter() {
    const q = new URLSearchParams();
    if ($("rf-severity").value) q.set("severity", $("rf-severity").value);
    if ($("rf-kind").value.trim()) q.set("kind", $("rf-kind").value.trim());
    return q;
  }
  async function loadRecordingEvents() {
    const q = recFilter();
    q.set("limit", "500");
    const body = await api("/api/recordings/" + encodeURIComponent(state.openRecording) + "/events?" + q.toString());
    const tb = $("rec-events").tBodies[0];
    clear(tb);
    for (const x of body.events) tb.appendChild(eventRow(x.event, (x.offset_ms / 1000).toFixed(3) + " s"));
  }
  async function saveFiltered() {
    const f = {};
    if ($("rf-severity").value) f.min_severity = $("rf-severity").value;
    if ($("rf-kind").value.trim()) f.kind = $("rf-kind").value.trim();
    try {
      await api("/api/recordings", { method: "POST", body: { source: state.openRecording, name: $("rf-save-name").value.trim(), filter: f } });
      await loadRecordings();
    } catch (e) { showError(e.message); }
  }
  async function recordStart() {
    try { await api("/api/record/start", { method: "POST", body: { session_name: $("rec-name").value.trim() } }); await recordStatus(); }
    catch (e) { showError(e.message); }
  }
  async function recordStop() {
    try { await api("/api/record/stop", { method: "POST", body: {} }); await recordStatus(); await loadRecordings(); }
    catch (e) { showError(e.message); }
  }
  async function recordStatus() {
    const s = await api("/api/record/status");
    $("rec-status").textContent = s.recording ? "recording " + s.session_name + ": " + s.events + " events" : "not recording";
  }
  async function replayCmd(path, body) {
    try { await api(path, { method: "POST", body: body || {} }); await replayStatus(); showError(""); }
    catch (e) { showError(e.message); }
  }
  async function replayStatus() {
    const s = await api("/api/replay/status");
    const p = $("replay-progress");
    p.max = Math.max(1, s.total || 0);
    p.value = s.done || 0;
    const st = $("replay-status");
    st.dataset.state = s.state;
    st.textContent = s.state === "idle" ? "idle" : s.state + " " + s.name + ": " + s.done + " / " + s.total + " at " + (s.speed === null ? "max" : s.speed + "×");
  }
  async function pollRecordings() {
    try { await recordStatus(); await replayStatus(); } catch (e) { showError(e.message); }
  }

  // --- start ---
  async function start() {
    $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); loadEvents(); if (!state.tailPaused) startTail(); });
    $("tail-toggle").addEventListener("click", toggleTail);
    $("rec-filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadRecordingEvents().catch((e) => showError(e.message)); });
    $("rf-save").addEventListener("click", saveFiltered);
    $("rec-start").addEventListener("click", recordStart);
    $("rec-stop").addEventListener("click", recordStop);
    $("replay-start").addEventListener("click", () => replayCmd("/api/replay/start/" + encodeURIComponent(state.openRecording || ""), { speed: Number($("replay-speed").value) }));
    $("replay-pause").addEventListener("click", () => replayCmd("/api/replay/pause"));
    $("replay-resume").addEventListener("click", () => replayCmd("/api/replay/resume"));
    $("replay-stop").addEventListener("click", () => replayCmd("/api/replay/stop"));
    $("replay-set-speed").addEventListener("click", () => replayCmd("/api/replay/speed", { speed: Number($("replay-speed").value) }));
    try { state.features = await api("/api/info"); } catch (e) { showError(e.message); }
    $("monitor").hidden = !(state.features.monitor || state.features.alerts);
    $("recordings").hidden = !state.features.recordings;
    await pollOverview();
    await loadEvents();
    startTail();
    setInterval(pollOverview, 1000);
    setInterval(flushTail, 250);
    if (state.features.monitor || state.features.alerts) { pollMonitor(); setInterval(pollMonitor, 2000); }
    if (state.features.recordings) { loadRecordings(); pollRecordings(); setInterval(pollRecordings, 500); }
    document.body.dataset.ready = "1";
  }
  start();
})();
