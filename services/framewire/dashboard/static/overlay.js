// framewire page, part 3 of 9: what is drawn over a frame besides detections: tracks with
// their ids and trails, zones (polygons), counting lines with their direction, and a zone or
// line being drawn. Coordinates are normalised [0, 1] (x right, y down), sizes in CSS pixels
// as displayed (``scale`` is canvas pixels per CSS pixel), like the detection boxes.
"use strict";

(() => {
  const { labelColor } = window.fw;
  const ZONE_COLOR = "#58a6ff";
  const LINE_COLOR = "#f2cc60";
  const DRAFT_COLOR = "#ffffff";
  const FONT_CSS_PX = 12;

  const trackColor = (id) => labelColor(`track-${id}`);
  const rgb = ([r, g, b], a = 1) => `rgba(${r},${g},${b},${a})`;

  function tag(ctx, text, x, y, color, scale, width) {
    const fontPx = Math.max(8, Math.round(FONT_CSS_PX * scale));
    const pad = Math.round(3 * scale);
    ctx.font = `600 ${fontPx}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    const w = ctx.measureText(text).width + 2 * pad, h = fontPx + 2 * pad;
    const tx = Math.max(0, Math.min(x, width - w)), ty = Math.max(0, y - h);
    ctx.fillStyle = color;
    ctx.fillRect(tx, ty, w, h);
    ctx.fillStyle = "#000";
    ctx.fillText(text, tx + pad, ty + pad);
  }

  // Each track: its box, "#id label" above it, and the trail of its bottom-centre points.
  function drawTracks(ctx, tracks, width, height, scale = 1) {
    ctx.save();
    for (const t of tracks) {
      const color = rgb(trackColor(t.id));
      const [x1, y1, x2, y2] = t.box;
      ctx.lineWidth = Math.max(1, Math.round(2 * scale));
      ctx.strokeStyle = color;
      ctx.strokeRect(x1 * width, y1 * height, (x2 - x1) * width, (y2 - y1) * height);
      const trail = t.trail || [];
      if (trail.length > 1) {
        ctx.lineWidth = Math.max(1, Math.round(3 * scale));
        ctx.lineJoin = "round";
        ctx.beginPath();
        trail.forEach(([x, y], i) => (i ? ctx.lineTo(x * width, y * height) : ctx.moveTo(x * width, y * height)));
        ctx.stroke();
      }
      const [px, py] = trail.length ? trail[trail.length - 1] : [(x1 + x2) / 2, y2];
      ctx.fillStyle = color;
      ctx.beginPath();
      ctx.arc(px * width, py * height, Math.max(2, 4 * scale), 0, 2 * Math.PI);
      ctx.fill();
      tag(ctx, `#${t.id} ${t.label}`, x1 * width, y1 * height, color, scale, width);
    }
    ctx.restore();
  }

  function polygonPath(ctx, points, width, height) {
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x * width, y * height) : ctx.moveTo(x * width, y * height)));
    ctx.closePath();
  }

  function arrow(ctx, from, to, scale) {
    const [fx, fy] = from, [tx, ty] = to;
    const angle = Math.atan2(ty - fy, tx - fx), head = 9 * scale;
    ctx.beginPath();
    ctx.moveTo(fx, fy);
    ctx.lineTo(tx, ty);
    ctx.moveTo(tx - head * Math.cos(angle - 0.5), ty - head * Math.sin(angle - 0.5));
    ctx.lineTo(tx, ty);
    ctx.lineTo(tx - head * Math.cos(angle + 0.5), ty - head * Math.sin(angle + 0.5));
    ctx.stroke();
  }

  // The arrows of a line's counted direction, from its midpoint. Its right side is where the
  // cross product of b - a and p - a is positive (core.zones): in picture pixels, y down,
  // that is the normal (-dy, dx), so "left_to_right" points that way.
  function lineArrows(ctx, a, b, direction, scale) {
    const dx = b[0] - a[0], dy = b[1] - a[1], len = Math.hypot(dx, dy) || 1;
    const nx = -dy / len, ny = dx / len, reach = 26 * scale;
    const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    const towards = (sign) => [mid[0] + sign * nx * reach, mid[1] + sign * ny * reach];
    if (direction !== "right_to_left") arrow(ctx, mid, towards(1), scale);
    if (direction !== "left_to_right") arrow(ctx, mid, towards(-1), scale);
  }

  function drawZone(ctx, zone, width, height, scale, lit) {
    polygonPath(ctx, zone.polygon, width, height);
    ctx.fillStyle = lit ? "rgba(255,255,255,0.28)" : "rgba(88,166,255,0.2)";
    ctx.fill();
    ctx.lineWidth = Math.max(1, Math.round((lit ? 4 : 2) * scale));
    ctx.strokeStyle = lit ? DRAFT_COLOR : ZONE_COLOR;
    ctx.stroke();
    const [x, y] = zone.polygon[0];
    tag(ctx, zone.id, x * width, y * height + 16 * scale, ZONE_COLOR, scale, width);
  }

  function drawLine(ctx, line, width, height, scale, lit) {
    const a = [line.a[0] * width, line.a[1] * height], b = [line.b[0] * width, line.b[1] * height];
    ctx.strokeStyle = lit ? DRAFT_COLOR : LINE_COLOR;
    ctx.lineWidth = Math.max(1, Math.round((lit ? 5 : 3) * scale));
    ctx.lineCap = "round";
    ctx.beginPath();
    ctx.moveTo(...a);
    ctx.lineTo(...b);
    ctx.stroke();
    ctx.lineWidth = Math.max(1, Math.round(2 * scale));
    lineArrows(ctx, a, b, line.direction || "both", scale);
    ctx.fillStyle = LINE_COLOR;
    for (const [x, y] of [a, b]) { ctx.beginPath(); ctx.arc(x, y, 4 * scale, 0, 2 * Math.PI); ctx.fill(); }
    tag(ctx, line.id, a[0] + 6 * scale, a[1] + 20 * scale, LINE_COLOR, scale, width);
  }

  function drawGeometry(ctx, geometry, width, height, scale = 1, highlight = null) {
    ctx.save();
    for (const zone of geometry.zones) drawZone(ctx, zone, width, height, scale, zone.id === highlight);
    for (const line of geometry.lines) drawLine(ctx, line, width, height, scale, line.id === highlight);
    ctx.restore();
  }

  // A zone or line being drawn: {kind: "zone"|"line", points: [[x, y]...], cursor: [x, y]|null}.
  function drawDraft(ctx, draft, width, height, scale = 1) {
    const points = draft.cursor ? [...draft.points, draft.cursor] : draft.points;
    if (!points.length) return;
    ctx.save();
    ctx.strokeStyle = DRAFT_COLOR;
    ctx.fillStyle = DRAFT_COLOR;
    ctx.lineWidth = Math.max(1, Math.round(2 * scale));
    ctx.setLineDash([6 * scale, 4 * scale]);
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x * width, y * height) : ctx.moveTo(x * width, y * height)));
    ctx.stroke();
    ctx.setLineDash([]);
    draft.points.forEach(([x, y], i) => {
      const r = (i === 0 && draft.kind === "zone" ? 6 : 4) * scale;
      ctx.fillRect(x * width - r, y * height - r, 2 * r, 2 * r);
    });
    ctx.restore();
  }

  const overlay = { drawTracks, drawGeometry, drawDraft, trackColor };
  Object.assign(window.fw, { overlay, trackColor });
})();
