// framewire page, part 6 of 9: a stream's zone and line events, newest first, and the
// counters per zone or line (enters, leaves, dwells, crossings by direction), in its detail
// view. The stream's event stream sends them as `zone_event`; `hello` carries the recent
// ones and the counters, so a reconnect starts from the dashboard's own figures.
"use strict";

(() => {
  const { el } = window.fw;
  const MAX_SHOWN = 50;
  const COLUMNS = [["enter", "enters"], ["leave", "leaves"], ["dwell", "dwells"],
    ["left_to_right", "crosses L→R"], ["right_to_left", "crosses R→L"]];
  const ZONE_KEYS = new Set(["enter", "leave", "dwell"]);

  function clock(ns) {
    if (!ns) return "";
    const d = new Date(ns / 1e6);
    return d.toLocaleTimeString([], { hour12: false }) + `.${String(d.getMilliseconds()).padStart(3, "0")}`;
  }

  function describe(e) {
    const what = e.kind === "cross" ? `crossed ${e.zone_or_line} ${(e.direction || "").replaceAll("_", " ")}`
      : { enter: "entered", leave: "left", dwell: "dwells in" }[e.kind] + ` ${e.zone_or_line}`;
    return `#${e.track_id} ${e.label || "object"} ${what}`;
  }

  class ZoneEventPanel {
    constructor(list, table) {
      this.list = list;
      this.table = table;
      this.counters = {};
      this.geometry = { zones: [], lines: [] };
      this.shown = new Set();
    }

    // A (re)connect: the dashboard's recent events (newest first) and counters.
    reset(tracking) {
      this.list.textContent = "";
      this.shown.clear();
      for (const e of [...(tracking.events || [])].reverse()) this.prepend(e);
      this.counters = { ...(tracking.counters || {}) };
      this.renderCounters();
      this.placeholder();
    }

    setGeometry(geometry) { this.geometry = geometry || { zones: [], lines: [] }; this.renderCounters(); }

    add({ event, counters }) {
      if (this.shown.has(event.id)) return;
      this.prepend(event);
      Object.assign(this.counters, counters);
      this.renderCounters();
      this.placeholder();
    }

    prepend(e) {
      const li = el("li", `zone-event kind-${e.kind}`);
      li.dataset.id = e.id;
      li.dataset.kind = e.kind;
      li.dataset.zone = e.zone_or_line;
      li.append(el("time", null, clock(e.capture_time_ns)), el("span", "event-kind", e.kind), el("span", null, describe(e)));
      this.list.prepend(li);
      this.shown.add(e.id);
      while (this.list.children.length > MAX_SHOWN) {
        const old = this.list.lastElementChild;
        this.shown.delete(old.dataset.id);
        old.remove();
      }
    }

    placeholder() {
      const empty = this.list.querySelector(".muted");
      if (this.shown.size && empty) empty.remove();
      if (!this.shown.size && !empty) this.list.append(el("li", "muted", "no zone or line events yet"));
    }

    // One row per zone and line of the stream, plus ids that have counts but are gone.
    renderCounters() {
      const rows = new Map();
      for (const z of this.geometry.zones) rows.set(z.id, "zone");
      for (const l of this.geometry.lines) rows.set(l.id, "line");
      for (const id of Object.keys(this.counters)) if (!rows.has(id)) rows.set(id, "removed");
      this.table.textContent = "";
      const head = el("tr");
      head.append(el("th", null, "zone / line"), ...COLUMNS.map(([, title]) => el("th", null, title)));
      this.table.append(head);
      for (const [id, kind] of rows) {
        const tr = el("tr");
        tr.dataset.id = id;
        tr.append(el("th", null, kind === "removed" ? `${id} (removed)` : id));
        const counts = this.counters[id] || {};
        for (const [key] of COLUMNS) {
          const fits = kind === "removed" || (kind === "zone") === ZONE_KEYS.has(key);
          const td = el("td", null, fits ? String(counts[key] || 0) : "–");
          td.dataset.key = key;
          tr.append(td);
        }
        this.table.append(tr);
      }
      if (!rows.size) this.table.append(el("tr", "muted", "no zones or lines"));
    }
  }

  Object.assign(window.fw, { ZoneEventPanel });
})();
