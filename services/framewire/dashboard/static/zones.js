// framewire page, part 5 of 9: drawing and editing a stream's zones and lines with the mouse
// in its detail view. Changes stay on the page until "Save zones" replaces the stream's set
// with PUT /api/streams/<id>/zones; the API validates (a 422 says what is wrong, shown as is).
"use strict";

(() => {
  const { $, el, api, errorText } = window.fw;
  // Clicking this close (CSS pixels) to the first vertex closes a zone; a click this close to
  // the last vertex is the second click of a double-click, not a new vertex.
  const CLOSE_PX = 10, SAME_PX = 3;
  const HINTS = {
    zone: "Click the corners of the zone; double-click or click the first corner to close it. Esc cancels.",
    line: "Click the line's two ends. Its direction is seen from the first end looking to the second. Esc cancels.",
  };
  const round = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;
  const copy = (g) => JSON.parse(JSON.stringify(g || { zones: [], lines: [] }));

  class ZoneEditor {
    // onChange(geometry) is called whenever the set shown on the page changes.
    constructor(streamId, screen, onChange = () => {}) {
      this.streamId = streamId;
      this.screen = screen;
      this.onChange = onChange;
      this.work = { zones: [], lines: [] };
      this.dirty = false;
      this.mode = null;
      this.points = [];
      this.listeners = new AbortController();
      const on = (node, type, fn) => node.addEventListener(type, fn, { signal: this.listeners.signal });
      const canvas = screen.canvas;
      on(canvas, "click", (e) => this.click(e));
      on(canvas, "dblclick", (e) => { e.preventDefault(); if (this.mode === "zone") this.closeZone(); });
      on(canvas, "mousemove", (e) => this.hover(e));
      on(canvas, "contextmenu", (e) => { if (this.mode) { e.preventDefault(); this.cancel(); } });
      on($("zone-draw"), "click", () => this.begin("zone"));
      on($("line-draw"), "click", () => this.begin("line"));
      on($("zones-save"), "click", () => this.save());
      on($("zones-revert"), "click", () => this.load());
      this.say("");
      this.load();
    }

    close() { this.listeners.abort(); this.cancel(); }

    busy() { return this.mode !== null; }

    // The stored set, read again (on opening, and "Revert").
    async load() {
      const response = await api(`/api/streams/${encodeURIComponent(this.streamId)}/zones`);
      if (!response.ok) { this.say(await errorText(response), "error"); return; }
      this.apply(await response.json(), false);
    }

    // The stored set changed (a spec update on Kafka): shown unless this page has unsaved edits.
    stored(geometry) { if (!this.dirty && geometry) this.apply(geometry, false); }

    apply(geometry, dirty) {
      this.work = copy(geometry);
      this.dirty = dirty;
      $("zones-save").disabled = !dirty;
      this.renderList();
      this.screen.setOverlay({ geometry: this.work });
      this.onChange(this.work);
    }

    begin(mode) {
      this.mode = mode;
      this.points = [];
      this.screen.canvas.classList.add("drawing");
      $("zone-hint").textContent = HINTS[mode];
      this.draw(null);
    }

    cancel() {
      this.mode = null;
      this.points = [];
      this.screen.canvas.classList.remove("drawing");
      $("zone-hint").textContent = "";
      this.screen.setOverlay({ draft: null });
    }

    // Normalised position of a mouse event on the canvas, and its distance to a point in CSS px.
    at(event) {
      const box = this.screen.canvas.getBoundingClientRect();
      return [round((event.clientX - box.left) / box.width), round((event.clientY - box.top) / box.height)];
    }

    cssDistance(p, q) {
      const box = this.screen.canvas.getBoundingClientRect();
      return Math.hypot((p[0] - q[0]) * box.width, (p[1] - q[1]) * box.height);
    }

    click(event) {
      if (!this.mode) return;
      const p = this.at(event);
      const last = this.points[this.points.length - 1];
      if (last && this.cssDistance(p, last) <= SAME_PX) return;
      if (this.mode === "zone" && this.points.length >= 3 && this.cssDistance(p, this.points[0]) <= CLOSE_PX) {
        this.closeZone();
        return;
      }
      this.points.push(p);
      if (this.mode === "line" && this.points.length === 2) this.finishLine();
      else this.draw(p);
    }

    hover(event) { if (this.mode) this.draw(this.at(event)); }

    draw(cursor) { this.screen.setOverlay({ draft: { kind: this.mode, points: this.points, cursor } }); }

    closeZone() {
      if (this.points.length < 3) return;
      const zone = { id: this.newId("zone"), polygon: this.points };
      const dwell = Number($("zone-dwell").value);
      if ($("zone-dwell").value !== "" && Number.isFinite(dwell)) zone.dwell_s = dwell;
      this.cancel();
      this.work.zones.push(zone);
      this.apply(this.work, true);
    }

    finishLine() {
      const [a, b] = this.points;
      const line = { id: this.newId("line"), a, b, direction: $("line-direction").value };
      this.cancel();
      this.work.lines.push(line);
      this.apply(this.work, true);
    }

    // The id typed in (then cleared), or the first free "<kind>-<n>".
    newId(kind) {
      const typed = $("shape-id").value.trim();
      $("shape-id").value = "";
      if (typed) return typed;
      const taken = new Set([...this.work.zones, ...this.work.lines].map((s) => s.id));
      let n = 1;
      while (taken.has(`${kind}-${n}`)) n += 1;
      return `${kind}-${n}`;
    }

    remove(id) {
      this.work.zones = this.work.zones.filter((z) => z.id !== id);
      this.work.lines = this.work.lines.filter((l) => l.id !== id);
      this.screen.setOverlay({ highlight: null });
      this.apply(this.work, true);
    }

    async save() {
      this.say("saving…");
      const response = await api(`/api/streams/${encodeURIComponent(this.streamId)}/zones`, {
        method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(this.work),
      });
      if (!response.ok) { this.say(await errorText(response), "error"); return; }
      this.apply(await response.json(), false);
      this.say(`saved ${this.work.zones.length} zones, ${this.work.lines.length} lines`, "ok");
    }

    say(text, kind = "") {
      const message = $("zone-message");
      message.className = `message ${kind}`;
      message.textContent = text;
    }

    renderList() {
      const list = $("zone-list");
      list.textContent = "";
      const items = [...this.work.zones.map((z) => ["zone", z]), ...this.work.lines.map((l) => ["line", l])];
      for (const [kind, shape] of items) {
        const li = el("li");
        li.dataset.id = shape.id;
        const what = kind === "zone" ? `zone, ${shape.polygon.length} corners${shape.dwell_s ? `, dwell ${shape.dwell_s} s` : ""}`
          : `line, ${shape.direction || "both"}`;
        const remove = el("button", "ghost small", "Delete");
        remove.type = "button";
        remove.addEventListener("click", () => this.remove(shape.id));
        li.append(el("b", null, shape.id), el("span", "muted", what), remove);
        li.addEventListener("mouseenter", () => this.screen.setOverlay({ highlight: shape.id }));
        li.addEventListener("mouseleave", () => this.screen.setOverlay({ highlight: null }));
        list.append(li);
      }
      if (!items.length) list.append(el("li", "muted", "no zones or lines"));
      if (this.dirty) list.append(el("li", "unsaved", "unsaved changes"));
    }
  }

  Object.assign(window.fw, { ZoneEditor });
})();
