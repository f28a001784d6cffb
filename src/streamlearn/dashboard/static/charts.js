/* streamlearn dashboard: formatting and the chart widgets (uPlot lines, a canvas scatter,
   HTML bars). No network, no framework: everything here ships in the package. */
"use strict";

const SL = window.SL = {};

SL.css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const PALETTE = ["--green", "--yellow", "--blue", "--orange", "--red", "--purple", "--cyan",
  "--teal"];
SL.color = (i) => SL.css(PALETTE[i % PALETTE.length]);

/* ---- numbers with their units ---------------------------------------------------------- */
SL.fmtInt = (v) => v == null ? "–" : Math.round(v).toLocaleString("en-US");
SL.fmtSI = (v) => {
  if (v == null || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e9) return (v / 1e9).toFixed(2) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(a >= 1 || a === 0 ? 2 : 3);
};
SL.fmtMs = (v) => {
  if (v == null || !isFinite(v)) return "–";
  if (v >= 10000) return (v / 1000).toFixed(1) + " s";
  return (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + " ms";
};
// counts: exact below 10k, then 12.3k, 1.23M
SL.fmtCount = (v) => v == null ? "–" : Math.abs(v) < 1e4 ? SL.fmtInt(v) : SL.fmtSI(v);
SL.fmtClock = (t) => new Date(t * 1000).toLocaleTimeString("en-GB");
SL.fmtPct = (v) => v == null || !isFinite(v) ? "–" : v.toFixed(1) + "%";
SL.esc = (s) => String(s).replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

/* ---- a time series: one uPlot, its series chosen anew at each update ----------------- */
// defs(): [{key, label, scale (multiplier), rate (per-second derivative of a counter),
//           dash}] ; the chart is rebuilt when the set of series changes.
SL.Line = class {
  constructor(el, { defs, fmt, height = 190, min0 = true, max = null }) {
    Object.assign(this, { el, defs, fmt, height, min0, max, plot: null, sig: "" });
    new ResizeObserver(() => this.plot && this.plot.setSize(this.size())).observe(el);
  }
  size() { return { width: Math.max(200, this.el.clientWidth), height: this.height }; }
  update(rows) {
    const defs = this.defs();
    const sig = defs.map((d) => d.key + (d.label || "")).join("|");
    if (sig !== this.sig || !this.plot) this.build(defs, sig);
    this.plot.setData(SL.columns(rows, defs));
    this.rows = rows;
  }
  rebuild() { if (this.plot) { this.build(this.defs(), this.sig); this.update(this.rows || []); } }
  build(defs, sig) {
    if (this.plot) this.plot.destroy();
    this.el.textContent = "";
    this.sig = sig;
    const fmt = this.fmt, axis = SL.css("--axis"), grid = SL.css("--grid");
    const min0 = this.min0, max = this.max;
    this.plot = new uPlot({
      ...this.size(),
      cursor: { points: { size: 6 }, drag: { x: false, y: false } },
      legend: { live: false }, padding: [8, 36, 0, 0],
      scales: { x: { time: true }, y: { range: (u, lo, hi) => {
        const top = max != null ? max : (hi > 0 ? hi * 1.1 : 1);
        return [min0 ? Math.min(0, lo) : lo - (hi - lo) * 0.1 || lo - 1, top];
      } } },
      axes: [
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, space: 70,
          incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600],
          values: (u, vals) => vals.map(SL.fmtClock) },
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { show: false }, size: 56,
          values: (u, vals) => vals.map((v) => fmt(v)) },
      ],
      series: [{ label: "time" }, ...defs.map((d, i) => ({
        label: d.label, stroke: d.color || SL.color(d.colorIndex ?? i), width: 2,
        dash: d.dash, spanGaps: true, points: { show: false },
        value: (u, v) => v == null ? "–" : fmt(v),
      }))],
    }, [[], ...defs.map(() => [])], this.el);
  }
};

// rows [{t, v: {key: number}}] -> uPlot columns [[t...], [series...]...]
SL.columns = (rows, defs) => {
  const xs = rows.map((r) => r.t);
  return [xs, ...defs.map((d) => rows.map((r, i) => {
    const v = r.v[d.key];
    if (v == null) return null;
    if (d.rate) {
      const prev = i > 0 ? rows[i - 1].v[d.key] : null;
      const dt = i > 0 ? r.t - rows[i - 1].t : 0;
      return prev == null || dt <= 0 ? null : Math.max(0, (v - prev) / dt);
    }
    return v * (d.scale || 1);
  }))];
};

/* ---- horizontal bars: lag per partition, records per cluster, drift per feature ------ */
SL.bars = (el, items, { fmt = SL.fmtInt, empty = "nothing yet", max = null } = {}) => {
  if (!items.length) { el.innerHTML = `<div class="empty">${SL.esc(empty)}</div>`; return; }
  const top = max != null ? max : Math.max(1, ...items.map((i) => i.value || 0));
  el.innerHTML = items.map((it, i) => {
    const w = Math.max(0, Math.min(100, 100 * (it.value || 0) / top));
    const c = it.color || SL.color(it.colorIndex ?? i);
    return `<div class="barrow"><span class="label" title="${SL.esc(it.label)}">` +
      `${SL.esc(it.label)}</span><span class="track"><span class="fill" style="display:block;` +
      `width:${w.toFixed(1)}%;background:${c}"></span></span>` +
      `<span class="val">${SL.esc(fmt(it.value))}</span></div>`;
  }).join("");
};

/* ---- the k-means view: centroid trails and current centroids on a canvas ------------- */
// groups: [{label, colorIndex, trail: [[x, y]...], now: [x, y], size}]
SL.scatter = (canvas, groups, { xLabel = "", yLabel = "" } = {}) => {
  const dpr = window.devicePixelRatio || 1;
  const W = canvas.clientWidth, H = canvas.clientHeight;
  canvas.width = W * dpr; canvas.height = H * dpr;
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, W, H);
  const pts = groups.flatMap((s) => [...s.trail, s.now]).filter((p) => p);
  const axis = SL.css("--axis"), grid = SL.css("--grid");
  g.font = "12px sans-serif";
  if (!pts.length) {
    g.fillStyle = axis; g.textAlign = "center";
    g.fillText("no centroids yet (the model is still buffering)", W / 2, H / 2);
    return;
  }
  const pad = { l: 60, r: 16, t: 12, b: 36 };
  const span = (vals) => {
    let lo = Math.min(...vals), hi = Math.max(...vals);
    const m = (hi - lo) * 0.12 || Math.abs(hi) * 0.1 || 1;
    return [lo - m, hi + m];
  };
  const [x0, x1] = span(pts.map((p) => p[0])), [y0, y1] = span(pts.map((p) => p[1]));
  const X = (v) => pad.l + (v - x0) / (x1 - x0) * (W - pad.l - pad.r);
  const Y = (v) => H - pad.b - (v - y0) / (y1 - y0) * (H - pad.t - pad.b);
  g.strokeStyle = grid; g.fillStyle = axis; g.lineWidth = 1;
  for (const [lo, hi, horiz] of [[x0, x1, false], [y0, y1, true]]) {
    for (const v of SL.ticks(lo, hi, horiz ? 5 : 7)) {
      g.beginPath();
      if (horiz) {
        g.moveTo(pad.l, Y(v)); g.lineTo(W - pad.r, Y(v)); g.stroke();
        g.textAlign = "right"; g.fillText(SL.fmtSI(v), pad.l - 6, Y(v) + 4);
      } else {
        g.moveTo(X(v), pad.t); g.lineTo(X(v), H - pad.b); g.stroke();
        g.textAlign = "center"; g.fillText(SL.fmtSI(v), X(v), H - pad.b + 16);
      }
    }
  }
  g.textAlign = "center"; g.fillText(xLabel, (pad.l + W - pad.r) / 2, H - 4);
  g.save(); g.translate(12, (pad.t + H - pad.b) / 2); g.rotate(-Math.PI / 2);
  g.fillText(yLabel, 0, 0); g.restore();
  const placed = [];
  for (const s of groups) {
    const c = SL.color(s.colorIndex);
    g.strokeStyle = c; g.globalAlpha = 0.45; g.lineWidth = 1.5; g.beginPath();
    s.trail.forEach((p, i) => (i ? g.lineTo(X(p[0]), Y(p[1])) : g.moveTo(X(p[0]), Y(p[1]))));
    g.stroke();
    g.fillStyle = c;
    for (const p of s.trail) { g.beginPath(); g.arc(X(p[0]), Y(p[1]), 2, 0, 7); g.fill(); }
    g.globalAlpha = 1;
    if (!s.now) continue;
    g.beginPath(); g.arc(X(s.now[0]), Y(s.now[1]), 7, 0, 7); g.fill();
    g.strokeStyle = SL.css("--panel"); g.lineWidth = 2; g.stroke();
    g.fillStyle = SL.css("--text"); g.textAlign = "left";
    const lx = X(s.now[0]) + 11, w = g.measureText(s.label).width;
    let ly = Y(s.now[1]) + 4;
    while (placed.some((b) => lx < b[0] + b[2] && b[0] < lx + w && Math.abs(b[1] - ly) < 14)) ly += 14;
    placed.push([lx, ly, w]);
    g.fillText(s.label, lx, ly);
  }
};

// about n round tick values between lo and hi
SL.ticks = (lo, hi, n) => {
  const raw = (hi - lo) / Math.max(1, n), mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(+v.toPrecision(12));
  return out;
};
