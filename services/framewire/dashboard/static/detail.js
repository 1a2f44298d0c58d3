// framewire page, part 8 of 9: one stream's detail view (its own event stream, resumed with
// Last-Event-ID after a reconnect), tracks, zones and lines with their editor, zone events
// and counters, aggregator windows, latency chart, counts per class, spec.
"use strict";

(() => {
  const { $, el, fmt, EventStream, Screen, labelColor, renderWindows, ZoneEditor, ZoneEventPanel } = window.fw;

  class Detail {
    // onGone() is called when the stream is deleted while its detail is open.
    constructor(streamId, onGone) {
      this.streamId = streamId;
      this.history = [];
      this.windows = { tumbling: null, hopping: null };
      this.screen = new Screen($("detail-canvas"), streamId);
      this.zoneEvents = new ZoneEventPanel($("zone-events"), $("zone-counters"));
      this.editor = new ZoneEditor(streamId, this.screen, (g) => this.zoneEvents.setGeometry(g));
      $("detail-title").textContent = streamId;
      $("detail-delete").textContent = "Delete stream";
      $("detail-delete").dataset.armed = "";
      $("detail").hidden = false;
      this.events = new EventStream(`/api/streams/${encodeURIComponent(streamId)}/events`, {
        hello: (info) => this.hello(info),
        result: (r) => this.screen.showResult(r),
        tracks: (t) => this.screen.showTracks(t),
        zone_event: (z) => this.zoneEvents.add(z),
        stats: (s) => this.stats(s),
        window_stats: (w) => this.setWindow(w),
        status: (s) => this.setState(s),
        stream: (info) => { this.setSpec(info.spec); this.editor.stored(info.geometry); },
        stream_deleted: () => onGone(),
        gap: (g) => console.warn("events lost", g),
      }, { resume: true });
    }

    close() { this.events.close(); this.editor.close(); $("detail").hidden = true; }

    hello(info) {
      this.setSpec(info.spec);
      this.setState(info.status);
      this.setLive(info.live);
      for (const [kind, stats] of Object.entries(info.windows || {})) if (stats) this.windows[kind] = stats;
      renderWindows($("detail-windows"), this.windows);
      if (!this.history.length) this.history = info.history || [];
      this.drawChart();
      const tracking = info.tracking || {};
      this.zoneEvents.reset(tracking);
      this.editor.stored(info.geometry);
      if (this.screen.drawn) return;
      if (tracking.tracks) this.screen.showTracks(tracking.tracks);
      else if (info.last_result) this.screen.showResult(info.last_result);
      else if (info.live.last_frame) this.screen.showLatest();
    }

    stats({ live, point }) {
      this.setLive(live);
      if (point && (!this.history.length || this.history[this.history.length - 1].t < point.t)) {
        this.history.push(point);
        if (this.history.length > 300) this.history.shift();
        this.drawChart();
      }
    }

    // A newer aggregator window of one kind (window_stats event).
    setWindow({ kind, stats }) {
      this.windows[kind] = stats;
      renderWindows($("detail-windows"), this.windows);
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
      // A stream without detections or tracks still gets a picture to draw zones on.
      if (!this.screen.drawn && live.last_frame) this.screen.showLatest();
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

  Object.assign(window.fw, { Detail });
})();
