// framewire page, part 4 of 9: what the aggregator publishes (docs/stats-format.md):
// window statistics (a compact line on each tile, a table in the detail view) and the
// alerts panel (firing and cleared transitions, with stream, rule and time, and the
// event's thumbnail, Play and Download from clips.js).
"use strict";

(() => {
  const { $, el, fmt } = window.fw;
  const KINDS = ["tumbling", "hopping"];

  // "10 s", "1 min", "90 s": how long a window is.
  function sizeLabel(seconds) {
    const s = Number(seconds);
    return s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${fmt(s, s % 1 ? 1 : 0)} s`;
  }

  const pad2 = (n) => String(n).padStart(2, "0");
  function clock(ms) {
    const d = new Date(ms);
    return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }

  function timeElement(ms) {
    const node = el("time", null, clock(ms));
    node.dateTime = new Date(ms).toISOString();
    return node;
  }

  function countsText(counts, empty) {
    const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return entries.length ? entries.map(([k, n]) => `${k} ${n}`).join(", ") : empty;
  }

  function dropsText(stats) {
    const reasons = countsText(stats.drops, "");
    return reasons ? `${stats.drops_total} (${reasons})` : String(stats.drops_total);
  }

  // ---- Tile: one line from the longest window available ------------------------------------
  function windowLine(windows) {
    const stats = windows && (windows.hopping || windows.tumbling);
    if (!stats) return null;
    const w = stats.window;
    return {
      kind: w.kind,
      text: `${sizeLabel(w.size_s)}: p95 ${fmt(stats.latency_ms.p95, 0)} ms · ` +
        `${fmt(stats.fps)} fps · drops ${stats.drops_total}`,
      title: `${w.kind} window ${clock(w.start_ms)}–${clock(w.end_ms)}; drops ${dropsText(stats)}`,
    };
  }

  // ---- Detail: both windows side by side -----------------------------------------------------
  const ROWS = [
    ["window", "window", (s) => `${clock(s.window.start_ms)}–${clock(s.window.end_ms)}`],
    ["fps", "frames · fps", (s) => `${s.frames} · ${fmt(s.fps)} fps`],
    ["latency", "latency p50 / p95 / p99", (s) =>
      `${fmt(s.latency_ms.p50)} / ${fmt(s.latency_ms.p95)} / ${fmt(s.latency_ms.p99)} ms`],
    ["detections", "detections", (s) => countsText(s.detections, "none")],
    ["drops", "drops", dropsText],
  ];

  function renderWindows(table, windows) {
    table.textContent = "";
    const have = KINDS.filter((k) => windows && windows[k]);
    const head = el("tr");
    head.append(el("th"));
    for (const kind of KINDS) {
      const stats = windows && windows[kind];
      const th = el("th", null, stats ? `${kind} ${sizeLabel(stats.window.size_s)}` : kind);
      th.dataset.kind = kind;
      head.append(th);
    }
    table.append(head);
    for (const [field, label, text] of ROWS) {
      const tr = el("tr");
      tr.append(el("th", null, label));
      for (const kind of KINDS) {
        const stats = windows && windows[kind];
        const td = el("td", null, stats ? text(stats) : "–");
        Object.assign(td.dataset, { kind, field });
        tr.append(td);
      }
      table.append(tr);
    }
    table.classList.toggle("empty-windows", !have.length);
  }

  // ---- Alerts panel ------------------------------------------------------------------------
  class AlertPanel {
    constructor(list, counter) {
      this.list = list;
      this.counter = counter;
      this.reset();
    }

    // Called with a snapshot: the server resends its recent alerts after every (re)connect.
    reset() {
      this.seen = new Set();
      this.firing = new Map(); // alert_id -> its item while firing
      window.fw.releaseClips(this.list);
      this.list.textContent = "";
      this.list.append(el("li", "muted", "none"));
      this.count();
    }

    add(alert) {
      if (alert.id && this.seen.has(alert.id)) return;
      if (alert.id) this.seen.add(alert.id);
      const first = this.list.firstElementChild;
      if (first && first.classList.contains("muted")) first.remove();
      const v = alert.value;
      const item = v && typeof v === "object" && v.rule ? this.transition(v, alert) : this.other(alert);
      this.list.prepend(item);
      while (this.list.children.length > 50) {
        window.fw.releaseClips(this.list.lastElementChild);
        this.list.lastElementChild.remove();
      }
      this.count();
    }

    transition(v, alert) {
      const firing = v.state === "firing";
      const item = el("li", `alert ${firing ? "firing" : "cleared"}`);
      Object.assign(item.dataset, { state: v.state, alertId: v.alert_id || `${v.rule}/${v.stream_id}` });
      const at = v.at_ms || (alert.time_s ? alert.time_s * 1000 : Date.now());
      const head = el("div", "alert-head");
      head.append(timeElement(at), el("span", `sev sev-${v.severity || "warning"}`, v.severity || "alert"),
        el("span", "alert-state", v.state));
      const what = el("div", "alert-what");
      what.append(el("b", "alert-rule", v.rule), " on ", el("span", "alert-stream", v.stream_id));
      const parts = [v.condition];
      if (v.value !== undefined && v.value !== null) parts.push(`value ${v.value}`);
      if (!firing && v.fired_ms) parts.push(`fired ${clock(v.fired_ms)}`);
      if (v.reason) parts.push(v.reason);
      item.append(head, what, el("div", "alert-detail", parts.filter(Boolean).join(" · ")));
      // Both transitions belong to the firing: its id is alert_id@fired_ms (docs/stats-format.md).
      if (v.alert_id && v.fired_ms) item.append(window.fw.eventClip(`${v.alert_id}@${v.fired_ms}`));
      const key = item.dataset.alertId;
      const earlier = this.firing.get(key);
      if (earlier) earlier.classList.replace("firing", "resolved");
      if (firing) this.firing.set(key, item);
      else this.firing.delete(key);
      return item;
    }

    other(alert) {
      const v = alert.value;
      return el("li", null, `${alert.key ? alert.key + ": " : ""}${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
    }

    count() {
      const n = this.firing.size;
      this.counter.hidden = n === 0;
      this.counter.textContent = `${n} firing`;
    }
  }

  Object.assign(window.fw, { windowLine, renderWindows, AlertPanel, sizeLabel, clock });
})();
