// framewire page, part 2 of 9: painting a frame with its detections, or its tracks, and
// the stream's zones and lines (drawn by overlay.js).
"use strict";

(() => {
  const { api } = window.fw;

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

  // Box lines and labels are sized in CSS pixels as displayed: ``scale`` is canvas pixels per
  // displayed pixel, so a 640-pixel frame on a 300-pixel tile gets labels as readable as on
  // the detail view.
  const LABEL_CSS_PX = 12;
  const LINE_CSS_PX = 2;

  function drawDetections(ctx, detections, width, height, scale = 1) {
    const line = Math.max(1, Math.round(LINE_CSS_PX * scale));
    const fontPx = Math.max(8, Math.round(LABEL_CSS_PX * scale));
    ctx.lineWidth = line;
    ctx.font = `600 ${fontPx}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    ctx.textAlign = "left"; // a tile's placeholder text leaves "center" set on this context
    for (const det of detections) {
      const [x1, y1, x2, y2] = det.box;
      const [r, g, b] = labelColor(det.label);
      const color = `rgb(${r},${g},${b})`;
      const x = x1 * width, y = y1 * height, w = (x2 - x1) * width, h = (y2 - y1) * height;
      ctx.strokeStyle = color;
      ctx.strokeRect(x, y, w, h);
      const text = `${det.label} ${Math.round(det.score * 100)}%`;
      const pad = Math.round(3 * scale), textH = fontPx + 2 * pad;
      const textW = ctx.measureText(text).width + 2 * pad;
      const ty = y - textH >= 0 ? y - textH : y;
      // Keep the label inside the picture when a box touches the right edge.
      const tx = Math.max(0, Math.min(x - line / 2, width - textW));
      ctx.fillStyle = color;
      ctx.fillRect(tx, ty, textW, textH);
      ctx.fillStyle = "#000";
      ctx.fillText(text, tx + pad, ty + pad);
    }
  }

  // While a stream's tracks keep coming, the canvas paints those (ids, trails) instead of
  // the plain detections: both name their frame, and painting both would flicker.
  const TRACKS_FRESH_MS = 2000;

  // Paints the newest frame it can: while one frame is being fetched and drawn, a newer
  // request replaces the waiting one (a page that falls behind skips frames, never lags).
  // The last picture is kept, so zones, lines and a zone being drawn repaint without a fetch.
  class Screen {
    constructor(canvas, streamId) {
      this.canvas = canvas;
      this.streamId = streamId;
      this.busy = false;
      this.pending = null;
      this.drawn = null; // what is on the canvas: {frame, result, tracks}
      this.bitmap = null;
      this.geometry = null; // {zones, lines} drawn over the frame
      this.draft = null; // a zone or line being drawn (set by the zone editor)
      this.highlight = null; // id of a zone or line to stand out
      this.tracksAt = 0;
    }

    showResult(result) {
      if (Date.now() - this.tracksAt < TRACKS_FRESH_MS) return;
      this.request({ frame: result.frame, result, tracks: null });
    }

    showTracks(tracks) {
      this.tracksAt = Date.now();
      this.request({ frame: tracks.frame, result: null, tracks });
    }

    // A fallback picture only: a frame asked for by a result or tracks (drawn, being drawn or
    // waiting) is never replaced by the newest plain frame.
    showLatest() {
      if (this.drawn || this.busy || this.pending) return;
      this.request({ frame: "latest", result: null, tracks: null });
    }

    setOverlay({ geometry = this.geometry, draft = this.draft, highlight = this.highlight }) {
      Object.assign(this, { geometry, draft, highlight });
      if (!this.busy) this.compose();
    }

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

    // Canvas pixels per displayed CSS pixel (a hidden canvas: as if shown at 640 pixels).
    displayScale(width) {
      const shown = this.canvas.getBoundingClientRect().width;
      return shown > 0 ? width / shown : Math.max(1, width / 640);
    }

    async paint(job) {
      const { frame, result, tracks } = job;
      const same = this.bitmap && frame && frame !== "latest" && this.drawn && this.drawn.frame === frame;
      let bitmap = same ? this.bitmap : null;
      if (!same && frame && !frame.startsWith("0:-") && !frame.endsWith(":-1")) {
        const path = `/api/streams/${encodeURIComponent(this.streamId)}/frames/${frame}`;
        try {
          const response = await api(path);
          if (response.ok) bitmap = await createImageBitmap(await response.blob());
        } catch (_) { /* keep the previous picture */ }
      }
      if (!bitmap && !result && !tracks) return;
      if (bitmap !== this.bitmap) {
        if (this.bitmap) this.bitmap.close();
        this.bitmap = bitmap;
      }
      this.drawn = { frame, result, tracks };
      this.compose();
    }

    // Frame (or black), then boxes or tracks, zones and lines, and any zone being drawn.
    compose() {
      const { result, tracks } = this.drawn || {};
      const bitmap = this.bitmap;
      const shapes = this.geometry ? this.geometry.zones.length + this.geometry.lines.length : 0;
      if (!this.drawn && !bitmap && !this.draft && !shapes) return; // keep the placeholder
      const width = bitmap ? bitmap.width : (result && result.width) || this.canvas.width;
      const height = bitmap ? bitmap.height : (result && result.height) || this.canvas.height;
      if (this.canvas.width !== width) this.canvas.width = width;
      if (this.canvas.height !== height) this.canvas.height = height;
      const ctx = this.canvas.getContext("2d");
      if (bitmap) ctx.drawImage(bitmap, 0, 0, width, height);
      else { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, width, height); }
      const scale = this.displayScale(width);
      const overlay = window.fw.overlay;
      if (this.geometry) overlay.drawGeometry(ctx, this.geometry, width, height, scale, this.highlight);
      if (result) drawDetections(ctx, result.detections, width, height, scale);
      if (tracks) overlay.drawTracks(ctx, tracks.tracks, width, height, scale);
      if (this.draft) overlay.drawDraft(ctx, this.draft, width, height, scale);
      const data = this.canvas.dataset;
      data.frame = (this.drawn && this.drawn.frame) || "";
      data.detections = result ? String(result.detections.length) : "0";
      data.tracks = tracks ? tracks.tracks.map((t) => t.id).join(" ") : "";
      data.zones = this.geometry ? String(this.geometry.zones.length) : "0";
      data.lines = this.geometry ? String(this.geometry.lines.length) : "0";
    }
  }

  Object.assign(window.fw, { labelColor, drawDetections, Screen });
})();
