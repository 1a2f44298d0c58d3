// framewire dashboard page: plain JS, no build step.
//
// Data flow: one summary event stream (/api/events) drives the grid; opening a stream's
// detail adds that stream's event stream (/api/streams/<id>/events), which resumes with
// Last-Event-ID after a reconnect. Each detection names the frame it was computed from;
// the page fetches that exact frame and paints frame and boxes together on one canvas.
// Event streams are read with fetch() rather than EventSource so the bearer token can be
// sent as a header (never in a URL, where it would end up in logs).
"use strict";

(() => {
  const TOKEN_KEY = "framewire.token";
  // With no detections for this long, a tile shows the stream's newest raw frame instead.
  const IDLE_RESULT_MS = 2000;
  const IDLE_FRAME_POLL_MS = 1000;

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const fmt = (v, digits = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));

  // ---- HTTP with the optional bearer token -------------------------------------------
  function authHeaders(extra = {}) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
  }

  async function api(path, options = {}) {
    const response = await fetch(path, { ...options, headers: authHeaders(options.headers || {}) });
    if (response.status === 401) askForToken();
    return response;
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (body.message) return body.message;
      if (typeof body.detail === "string") return body.detail;
      if (Array.isArray(body.detail)) return body.detail.map((d) => `${d.loc.slice(-1)}: ${d.msg}`).join("; ");
    } catch (_) { /* not JSON */ }
    return `${response.status} ${response.statusText}`;
  }

  function askForToken() {
    const dialog = $("token-dialog");
    if (!dialog.open) dialog.showModal();
  }

  // ---- Server-sent events over fetch, with reconnect and Last-Event-ID ----------------
  class EventStream {
    constructor(path, handlers, { resume = false, onState = () => {} } = {}) {
      this.path = path;
      this.handlers = handlers;
      this.resume = resume;
      this.onState = onState;
      this.lastId = null;
      this.closed = false;
      this.controller = null;
      this.backoffMs = 250;
      this.run();
    }

    close() {
      this.closed = true;
      if (this.controller) this.controller.abort();
    }

    async run() {
      while (!this.closed) {
        this.onState("connecting");
        try {
          await this.readOnce();
        } catch (err) {
          if (this.closed) return;
        }
        if (this.closed) return;
        this.onState("reconnecting");
        await new Promise((resolve) => setTimeout(resolve, this.backoffMs));
        this.backoffMs = Math.min(this.backoffMs * 2, 3000);
      }
    }

    async readOnce() {
      this.controller = new AbortController();
      const headers = { Accept: "text/event-stream" };
      if (this.resume && this.lastId) headers["Last-Event-ID"] = this.lastId;
      const response = await api(this.path, { headers, signal: this.controller.signal, cache: "no-store" });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      this.onState("live");
      this.backoffMs = 250;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let cut;
        while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
          this.dispatch(block);
        }
      }
    }

    dispatch(block) {
      let name = "message";
      let id = null;
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (!line || line.startsWith(":")) continue; // heartbeat or comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
      }
      if (id !== null) this.lastId = id;
      if (!data.length) return;
      const handler = this.handlers[name] || this.handlers["*"];
      if (handler) handler(JSON.parse(data.join("\n")), name, id);
    }
  }

  // ---- Drawing a frame and its detections ------------------------------------------------
  function labelColor(label) {
    let hash = 0;
    for (const ch of String(label)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    const hue = hash % 360;
    return hslToRgb(hue / 360, 0.9, 0.55);
  }

  function hslToRgb(h, s, l) {
    const f = (n) => {
      const k = (n + h * 12) % 12;
      const a = s * Math.min(l, 1 - l);
      return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
    };
    return [f(0), f(8), f(4)];
  }

  function drawDetections(ctx, detections, width, height) {
    const line = Math.max(2, Math.round(width / 220));
    ctx.lineWidth = line;
    ctx.font = `${Math.max(12, Math.round(width / 45))}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    for (const det of detections) {
      const [x1, y1, x2, y2] = det.box;
      const [r, g, b] = labelColor(det.label);
      const color = `rgb(${r},${g},${b})`;
      const x = x1 * width, y = y1 * height, w = (x2 - x1) * width, h = (y2 - y1) * height;
      ctx.strokeStyle = color;
      ctx.strokeRect(x, y, w, h);
      const text = `${det.label} ${Math.round(det.score * 100)}%`;
      const pad = 3, textH = parseInt(ctx.font, 10) + 2 * pad;
      const textW = ctx.measureText(text).width + 2 * pad;
      const ty = y - textH >= 0 ? y - textH : y;
      ctx.fillStyle = color;
      ctx.fillRect(x - line / 2, ty, textW, textH);
      ctx.fillStyle = "#000";
      ctx.fillText(text, x - line / 2 + pad, ty + pad);
    }
  }

  // Paints the newest frame it can: while one frame is being fetched and drawn, a newer
  // request replaces the waiting one (a page that falls behind skips frames, never lags).
  class Screen {
    constructor(canvas, streamId) {
      this.canvas = canvas;
      this.streamId = streamId;
      this.busy = false;
      this.pending = null;
      this.drawn = null; // what is on the canvas: {frame, result}
    }

    showResult(result) { this.request({ frame: result.frame, result }); }

    showLatest() { this.request({ frame: "latest", result: null }); }

    request(job) {
      if (this.busy) { this.pending = job; return; }
      this.busy = true;
      this.paint(job).finally(() => {
        this.busy = false;
        const next = this.pending;
        this.pending = null;
        if (next) this.request(next);
      });
    }

    async paint({ frame, result }) {
      let bitmap = null;
      if (frame && !frame.startsWith("0:-") && !frame.endsWith(":-1")) {
        const path = `/api/streams/${encodeURIComponent(this.streamId)}/frames/${frame}`;
        try {
          const response = await api(path);
          if (response.ok) bitmap = await createImageBitmap(await response.blob());
        } catch (_) { /* keep the previous picture */ }
      }
      if (!bitmap && !result) return;
      const width = bitmap ? bitmap.width : result.width || this.canvas.width;
      const height = bitmap ? bitmap.height : result.height || this.canvas.height;
      if (this.canvas.width !== width) this.canvas.width = width;
      if (this.canvas.height !== height) this.canvas.height = height;
      const ctx = this.canvas.getContext("2d");
      if (bitmap) {
        ctx.drawImage(bitmap, 0, 0, width, height);
        bitmap.close();
      } else {
        ctx.fillStyle = "#000";
        ctx.fillRect(0, 0, width, height);
      }
      if (result) drawDetections(ctx, result.detections, width, height);
      this.drawn = { frame, result };
      this.canvas.dataset.frame = frame || "";
      this.canvas.dataset.detections = result ? String(result.detections.length) : "0";
    }
  }

  // ---- The grid ---------------------------------------------------------------------------
  const tiles = new Map(); // stream id -> Tile

  class Tile {
    constructor(streamId) {
      this.streamId = streamId;
      this.lastResultAt = 0;
      this.lastFramePoll = 0;
      this.lastFrameSeen = null;
      this.root = el("article", "tile");
      this.root.dataset.stream = streamId;
      this.root.tabIndex = 0;
      const head = el("div", "tile-head");
      this.name = el("span", "tile-name", streamId);
      this.state = el("span", "pill pill-off", "unknown");
      head.append(this.name, this.state);
      const screen = el("div", "screen");
      this.canvas = el("canvas");
      this.canvas.width = 640;
      this.canvas.height = 360;
      screen.append(this.canvas);
      const blank = this.canvas.getContext("2d");
      blank.fillStyle = "#8b98a5";
      blank.font = "20px system-ui, sans-serif";
      blank.textAlign = "center";
      blank.fillText("waiting for frames…", 320, 185);
      this.stats = el("div", "stats");
      this.figures = {};
      for (const [key, label] of [["fps", "fps in/out"], ["lat", "latency p50/p99"], ["drops", "drops"], ["dets", "objects"]]) {
        const cell = el("div");
        const value = el("b", null, "–");
        cell.append(value, el("span", null, label));
        this.figures[key] = value;
        this.stats.append(cell);
      }
      this.root.append(head, screen, this.stats);
      this.screen = new Screen(this.canvas, streamId);
      this.root.addEventListener("click", () => openDetail(streamId));
      this.root.addEventListener("keydown", (e) => { if (e.key === "Enter") openDetail(streamId); });
    }

    update(info) {
      const spec = info.spec || {};
      this.name.textContent = spec.display_name || this.streamId;
      this.name.title = `${this.streamId}${spec.source_uri ? " · " + spec.source_uri : ""}`;
      if (info.status) this.setState(info.status);
      if (info.live) this.setLive(info.live);
    }

    setState(status) {
      const state = status.state || "unknown";
      this.state.textContent = state;
      this.state.title = status.reason || "";
      const cls = { running: "pill-ok", starting: "pill-warn", reconnecting: "pill-warn", failed: "pill-bad" }[state];
      this.state.className = `pill ${cls || "pill-off"}`;
    }

    setLive(live) {
      this.figures.fps.textContent = `${fmt(live.fps_in)} / ${fmt(live.fps_out)}`;
      this.figures.lat.textContent = `${fmt(live.latency_ms.p50, 0)} / ${fmt(live.latency_ms.p99, 0)}`;
      this.figures.drops.textContent = String(live.drops.total);
      this.lastFrameSeen = live.last_frame;
      const now = Date.now();
      const idle = now - this.lastResultAt > IDLE_RESULT_MS;
      if (idle && live.last_frame && now - this.lastFramePoll > IDLE_FRAME_POLL_MS) {
        this.lastFramePoll = now;
        this.screen.showLatest();
      }
    }

    showResult(result) {
      this.lastResultAt = Date.now();
      this.figures.dets.textContent = String(result.detections.length);
      this.screen.showResult(result);
    }
  }

  function tileFor(streamId) {
    let tile = tiles.get(streamId);
    if (!tile) {
      tile = new Tile(streamId);
      tiles.set(streamId, tile);
      const grid = $("grid");
      const after = [...grid.children].find((n) => n.dataset.stream > streamId);
      grid.insertBefore(tile.root, after || null);
      refreshEmpty();
    }
    return tile;
  }

  function removeTile(streamId) {
    const tile = tiles.get(streamId);
    if (tile) { tile.root.remove(); tiles.delete(streamId); }
    refreshEmpty();
    if (detail && detail.streamId === streamId) closeDetail();
  }

  function refreshEmpty() {
    $("empty").hidden = tiles.size > 0;
    $("totals").textContent = tiles.size ? `${tiles.size} stream${tiles.size > 1 ? "s" : ""}` : "";
  }

  // ---- Panels: alerts and aggregator stats (extensible) -----------------------------------
  // Another part of the page (e.g. richer aggregator views) can add a renderer with
  // window.framewire.registerPanel("aggregate", (payload) => {...}); kinds: "aggregate"
  // (fw.stats records), "alert" (fw.alerts records) and "result" (every detection event).
  const panels = { alert: [renderAlert], aggregate: [], result: [] };

  function registerPanel(kind, render) {
    (panels[kind] = panels[kind] || []).push(render);
  }

  function renderAlert(alert) {
    const list = $("alerts");
    if (list.firstElementChild && list.firstElementChild.classList.contains("muted")) list.textContent = "";
    const v = alert.value;
    let text;
    if (v && typeof v === "object" && v.rule) {
      // framewire.alert/1 from the aggregator (docs/stats-format.md)
      text = `${v.severity || "alert"} ${v.state}: ${v.rule} on ${v.stream_id} (${v.condition}` +
        `${v.value !== undefined && v.value !== null ? ", value " + v.value : ""})`;
    } else {
      text = `${alert.key ? alert.key + ": " : ""}${typeof v === "object" ? JSON.stringify(v) : String(v)}`;
    }
    const item = el("li", v && v.state === "firing" ? "firing" : null, text);
    list.prepend(item);
    while (list.children.length > 50) list.lastElementChild.remove();
  }

  function firePanels(kind, payload) {
    for (const render of panels[kind] || []) {
      try { render(payload); } catch (err) { console.error("panel", kind, err); }
    }
  }

  // ---- Summary stream: the grid's live feed -------------------------------------------------
  function setConnection(state) {
    const pill = $("connection");
    pill.dataset.state = state;
    pill.textContent = { live: "live", connecting: "connecting…", reconnecting: "reconnecting…" }[state] || state;
    pill.className = `pill ${state === "live" ? "pill-ok" : state === "reconnecting" ? "pill-warn" : "pill-off"}`;
  }

  function applySnapshot(snapshot) {
    const seen = new Set();
    for (const info of snapshot.streams) {
      seen.add(info.stream_id);
      tileFor(info.stream_id).update(info);
    }
    for (const id of [...tiles.keys()]) if (!seen.has(id)) removeTile(id);
    for (const [id, result] of Object.entries(snapshot.latest || {})) {
      if (seen.has(id)) tileFor(id).showResult(result);
    }
    for (const alert of snapshot.alerts || []) firePanels("alert", alert);
    for (const [key, value] of Object.entries(snapshot.aggregates || {})) firePanels("aggregate", { key, value });
  }

  function startSummary() {
    return new EventStream("/api/events", {
      snapshot: applySnapshot,
      result: (r) => { tileFor(r.stream_id).showResult(r); firePanels("result", r); },
      status: (s) => tileFor(s.stream_id).setState(s),
      stream: (info) => tileFor(info.stream_id).update(info),
      stream_deleted: (d) => removeTile(d.stream_id),
      summary: (s) => {
        for (const [id, live] of Object.entries(s.streams)) if (tiles.has(id)) tiles.get(id).setLive(live);
        if (detail && s.streams[detail.streamId]) detail.setLive(s.streams[detail.streamId]);
      },
      alert: (a) => firePanels("alert", a),
      aggregate: (a) => firePanels("aggregate", a),
    }, { onState: setConnection });
  }

  // ---- Detail view -------------------------------------------------------------------------
  let detail = null;

  class Detail {
    constructor(streamId) {
      this.streamId = streamId;
      this.history = [];
      this.screen = new Screen($("detail-canvas"), streamId);
      $("detail-title").textContent = streamId;
      $("detail-delete").textContent = "Delete stream";
      $("detail-delete").dataset.armed = "";
      $("detail").hidden = false;
      this.events = new EventStream(`/api/streams/${encodeURIComponent(streamId)}/events`, {
        hello: (info) => this.hello(info),
        result: (r) => this.screen.showResult(r),
        stats: (s) => this.stats(s),
        status: (s) => this.setState(s),
        stream: (info) => this.setSpec(info.spec),
        stream_deleted: () => closeDetail(),
        gap: (g) => console.warn("events lost", g),
      }, { resume: true });
    }

    close() { this.events.close(); $("detail").hidden = true; }

    hello(info) {
      this.setSpec(info.spec);
      this.setState(info.status);
      this.setLive(info.live);
      if (!this.history.length) this.history = info.history || [];
      this.drawChart();
      if (info.last_result && !this.screen.drawn) this.screen.showResult(info.last_result);
      else if (!this.screen.drawn && info.live.last_frame) this.screen.showLatest();
    }

    stats({ live, point }) {
      this.setLive(live);
      if (point && (!this.history.length || this.history[this.history.length - 1].t < point.t)) {
        this.history.push(point);
        if (this.history.length > 300) this.history.shift();
        this.drawChart();
      }
    }

    setState(status) {
      const pill = $("detail-state");
      pill.textContent = status.state;
      pill.title = status.reason || "";
      pill.className = `pill ${status.state === "running" ? "pill-ok" : status.state === "failed" ? "pill-bad" : "pill-off"}`;
    }

    setSpec(spec) {
      const dl = $("detail-spec");
      dl.textContent = "";
      if (!spec) { dl.append(el("dt", null, "spec"), el("dd", null, "none (data only)")); return; }
      if (spec.display_name) $("detail-title").textContent = `${spec.display_name} (${this.streamId})`;
      for (const key of ["source_uri", "model", "target_fps", "width", "height", "enabled"]) {
        dl.append(el("dt", null, key), el("dd", null, String(spec[key] === "" ? "default" : spec[key])));
      }
    }

    setLive(live) {
      const dl = $("detail-figures");
      dl.textContent = "";
      const rows = [
        ["fps in / out", `${fmt(live.fps_in)} / ${fmt(live.fps_out)}`],
        ["latency p50 / p95 / p99", `${fmt(live.latency_ms.p50)} / ${fmt(live.latency_ms.p95)} / ${fmt(live.latency_ms.p99)} ms`],
        ["drops", `${live.drops.total}${Object.keys(live.drops.by_reason).length ? " (" + Object.entries(live.drops.by_reason).map(([k, v]) => `${k} ${v}`).join(", ") + ")" : ""}`],
        ["frames / results seen", `${live.frames_seen} / ${live.results_seen}`],
      ];
      for (const [k, v] of rows) dl.append(el("dt", null, k), el("dd", null, v));
      const bars = $("class-counts");
      bars.textContent = "";
      const entries = Object.entries(live.classes);
      const top = Math.max(1, ...entries.map(([, n]) => n));
      for (const [label, count] of entries) {
        const li = el("li");
        const fill = el("div", "fill");
        fill.style.width = `${(100 * count) / top}%`;
        const [r, g, b] = labelColor(label);
        fill.style.background = `rgb(${r},${g},${b})`;
        li.append(el("span", null, label), fill, el("span", null, String(count)));
        bars.append(li);
      }
      if (!entries.length) bars.append(el("li", "muted", "no detections"));
    }

    drawChart() {
      const canvas = $("latency-chart");
      const ctx = canvas.getContext("2d");
      const W = canvas.width, H = canvas.height, padL = 40, padB = 20, padT = 8;
      ctx.clearRect(0, 0, W, H);
      const pts = this.history.filter((p) => p.p50 !== null);
      ctx.fillStyle = "#8b98a5";
      ctx.font = "11px system-ui, sans-serif";
      if (!pts.length) { ctx.fillText("no latency samples yet", padL, H / 2); return; }
      const t0 = pts[0].t, t1 = Math.max(pts[pts.length - 1].t, t0 + 1);
      const top = Math.max(1, ...pts.map((p) => p.p99 ?? p.p50)) * 1.1;
      const x = (t) => padL + ((t - t0) / (t1 - t0)) * (W - padL - 6);
      const y = (v) => H - padB - (v / top) * (H - padB - padT);
      ctx.strokeStyle = "#2a3541";
      ctx.lineWidth = 1;
      for (let i = 0; i <= 4; i++) {
        const v = (top / 4) * i;
        ctx.beginPath(); ctx.moveTo(padL, y(v)); ctx.lineTo(W, y(v)); ctx.stroke();
        ctx.fillText(v.toFixed(0), 4, y(v) - 2);
      }
      ctx.fillText(`${t1 - t0}s`, W - 30, H - 5);
      for (const [key, color] of [["p50", "#58a6ff"], ["p99", "#d29922"]]) {
        ctx.strokeStyle = color;
        ctx.lineWidth = 2;
        ctx.beginPath();
        pts.forEach((p, i) => (i ? ctx.lineTo(x(p.t), y(p[key])) : ctx.moveTo(x(p.t), y(p[key]))));
        ctx.stroke();
      }
    }
  }

  function openDetail(streamId) {
    closeDetail();
    detail = new Detail(streamId);
  }

  function closeDetail() {
    if (detail) detail.close();
    detail = null;
  }

  async function deleteCurrent() {
    const button = $("detail-delete");
    if (!detail) return;
    if (!button.dataset.armed) { button.dataset.armed = "1"; button.textContent = "Confirm delete"; return; }
    const response = await api(`/api/streams/${encodeURIComponent(detail.streamId)}`, { method: "DELETE" });
    if (response.ok || response.status === 404) { removeTile(detail ? detail.streamId : ""); closeDetail(); }
    else button.textContent = `Failed: ${await errorText(response)}`;
  }

  // ---- Form and models ---------------------------------------------------------------------
  async function addStream(event) {
    event.preventDefault();
    const form = event.target;
    const message = $("form-message");
    const data = new FormData(form);
    const body = {
      stream_id: data.get("stream_id").trim(),
      source_uri: data.get("source_uri").trim(),
      target_fps: Number(data.get("target_fps") || 0),
      model: data.get("model") || "",
      display_name: data.get("display_name").trim(),
    };
    message.className = "message";
    message.textContent = "saving…";
    const response = await api("/api/streams", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (response.ok) {
      const info = await response.json();
      tileFor(info.stream_id).update(info);
      message.className = "message ok";
      message.textContent = `added ${info.stream_id}`;
      form.reset();
    } else {
      message.className = "message error";
      message.textContent = await errorText(response);
    }
  }

  async function loadModels() {
    const response = await api("/api/models");
    if (!response.ok) { $("models-message").textContent = await errorText(response); return; }
    const listing = await response.json();
    $("models-message").textContent = listing.available ? "" : listing.message;
    const list = $("models");
    const select = document.querySelector("#add-form select[name=model]");
    list.textContent = "";
    for (const m of listing.models) {
      const parts = [m.model_id];
      if (m.labels && m.labels.length) parts.push(`${m.labels.length} classes`);
      if (m.input_width) parts.push(`${m.input_width}×${m.input_height}`);
      if (m.description) parts.push(m.description);
      list.append(el("li", null, parts.join(" · ")));
      const option = el("option", null, m.model_id);
      option.value = m.model_id;
      select.append(option);
    }
  }

  // ---- Start ----------------------------------------------------------------------------------
  let summary = null;

  function start() {
    $("add-form").addEventListener("submit", addStream);
    $("detail-close").addEventListener("click", closeDetail);
    $("detail-delete").addEventListener("click", deleteCurrent);
    $("token-button").addEventListener("click", askForToken);
    $("token-dialog").addEventListener("close", () => {
      const dialog = $("token-dialog");
      const input = dialog.querySelector("input[name=token]");
      if (dialog.returnValue === "save" && input.value) {
        sessionStorage.setItem(TOKEN_KEY, input.value);
        input.value = "";
        if (summary) summary.close();
        summary = startSummary();
        loadModels();
      }
    });
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDetail(); });
    refreshEmpty();
    summary = startSummary();
    loadModels();
  }

  window.framewire = { registerPanel, labelColor, tiles: () => [...tiles.keys()] };
  document.addEventListener("DOMContentLoaded", start);
})();
