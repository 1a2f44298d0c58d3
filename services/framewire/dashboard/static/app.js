// framewire dashboard page: plain JS, no build step.
//
// Data flow: one summary event stream (/api/events) drives the grid; opening a stream's
// detail adds that stream's event stream (/api/streams/<id>/events), which resumes with
// Last-Event-ID after a reconnect. Each detection names the frame it was computed from;
// the page fetches that exact frame and paints frame and boxes together on one canvas.
// Event streams are read with fetch() rather than EventSource so the bearer token can be
// sent as a header (never in a URL, where it would end up in logs).
//
// This file (part 9 of 9): the grid (summary event stream), panels, the add-stream form,
// models, start-up. Parts 1-8 (core.js, draw.js, overlay.js, aggregator.js, zones.js,
// zoneevents.js, clips.js, detail.js) are loaded first and shared through window.fw.
"use strict";

(() => {
  const { $, el, fmt, api, errorText, askForToken, EventStream, TOKEN_KEY, Screen, Detail, labelColor,
    windowLine, AlertPanel } = window.fw;
  // With no detections for this long, a tile shows the stream's newest raw frame instead.
  const IDLE_RESULT_MS = 2000;
  const IDLE_FRAME_POLL_MS = 1000;

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
      // The aggregator's newest window (1 min when available): filled by setWindows.
      this.window = el("div", "tile-window");
      this.window.hidden = true;
      this.windows = { tumbling: null, hopping: null };
      this.root.append(head, screen, this.stats, this.window);
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
      if (info.windows) this.setWindows(info.windows);
      if (info.geometry) this.screen.setOverlay({ geometry: info.geometry });
    }

    setWindows(windows) {
      for (const [kind, stats] of Object.entries(windows)) if (stats) this.windows[kind] = stats;
      const line = windowLine(this.windows);
      this.window.hidden = !line;
      if (!line) return;
      this.window.textContent = line.text;
      this.window.title = line.title;
      this.window.dataset.kind = line.kind;
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

    showTracks(tracks) {
      this.lastResultAt = Date.now();
      this.screen.showTracks(tracks);
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
  // ({key, value}: fw.stats records, JSON or a hex preview), "alert" (fw.alerts records) and
  // "result" (every detection event).
  let alertPanel = null;
  const panels = { alert: [(alert) => alertPanel.add(alert)], aggregate: [], result: [] };

  function registerPanel(kind, render) {
    (panels[kind] = panels[kind] || []).push(render);
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
    for (const [id, tracks] of Object.entries(snapshot.tracks || {})) {
      if (seen.has(id)) tileFor(id).showTracks(tracks);
    }
    alertPanel.reset();
    for (const alert of snapshot.alerts || []) firePanels("alert", alert);
    for (const info of snapshot.streams) {
      for (const value of Object.values(info.windows || {})) {
        if (value) firePanels("aggregate", { key: info.stream_id, value });
      }
    }
    for (const [key, value] of Object.entries(snapshot.aggregates || {})) firePanels("aggregate", { key, value });
  }

  function startSummary() {
    return new EventStream("/api/events", {
      snapshot: applySnapshot,
      result: (r) => { tileFor(r.stream_id).showResult(r); firePanels("result", r); },
      tracks: (t) => { if (tiles.has(t.stream_id)) tiles.get(t.stream_id).showTracks(t); },
      status: (s) => tileFor(s.stream_id).setState(s),
      stream: (info) => tileFor(info.stream_id).update(info),
      stream_deleted: (d) => removeTile(d.stream_id),
      summary: (s) => {
        for (const [id, live] of Object.entries(s.streams)) if (tiles.has(id)) tiles.get(id).setLive(live);
        if (detail && s.streams[detail.streamId]) detail.setLive(s.streams[detail.streamId]);
      },
      alert: (a) => firePanels("alert", a),
      aggregate: (a) => firePanels("aggregate", a),
      window_stats: (w) => {
        if (tiles.has(w.stream_id)) tiles.get(w.stream_id).setWindows({ [w.kind]: w.stats });
        firePanels("aggregate", { key: w.stream_id, value: w.stats });
      },
    }, { onState: setConnection });
  }


  // ---- Detail view -------------------------------------------------------------------------
  let detail = null;

  function openDetail(streamId) {
    closeDetail();
    detail = new Detail(streamId, closeDetail);
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
    alertPanel = new AlertPanel($("alerts"), $("alerts-firing"));
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
    document.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      // Escape first ends a zone or line being drawn, then closes the detail view.
      if (detail && detail.editor.busy()) detail.editor.cancel();
      else closeDetail();
    });
    refreshEmpty();
    summary = startSummary();
    loadModels();
  }

  window.framewire = { registerPanel, labelColor, trackColor: window.fw.trackColor, tiles: () => [...tiles.keys()] };
  document.addEventListener("DOMContentLoaded", start);
})();

