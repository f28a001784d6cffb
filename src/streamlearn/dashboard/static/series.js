/* streamlearn dashboard: series panels, the values an output topic carries over time
   (streamlearn dashboard --series TOPIC:COL,COL[@TIME]). The server sends time buckets
   [t, c0 last, c0 min, c0 max, c1 last, ...]; each column is drawn as its last value per
   bucket (a stepped line: a reading stays a reading, a label stays a label) over a band
   from its minimum to its maximum in the bucket. Column 1 on the left axis, column 2 on
   the right one, each column on a scale of its own. */
"use strict";

const SERIES_COLORS = [3, 2, 0, 5, 6, 1];

// merge buckets (sorted by t) into the kept ones; drop those before `from`
SL.mergeBuckets = (kept, points, from) => {
  for (const p of points) {
    const last = kept[kept.length - 1];
    if (!last || p[0] > last[0]) { kept.push(p); continue; }
    let lo = 0, hi = kept.length - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (kept[mid][0] < p[0]) lo = mid + 1; else hi = mid; }
    if (kept[lo][0] === p[0]) kept[lo] = p; else kept.splice(lo, 0, p);
  }
  if (from != null) {
    let i = 0;
    while (i < kept.length && kept[i][0] < from) i++;
    if (i) kept.splice(0, i);
  }
  return kept;
};

SL.SeriesChart = class {
  constructor(el, columns, height = 260) {
    Object.assign(this, { el, columns, height, plot: null, data: null });
    new ResizeObserver(() => this.plot && this.plot.setSize(this.size())).observe(el);
  }
  size() { return { width: Math.max(200, this.el.clientWidth), height: this.height }; }
  build() {
    if (this.plot) this.plot.destroy();
    this.el.textContent = "";
    const axis = SL.css("--axis"), grid = SL.css("--grid");
    const stepped = uPlot.paths.stepped({ align: 1 });
    const scales = { x: { time: true } }, series = [{ label: "time" }], bands = [];
    const axes = [{ stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid },
      space: 80, values: (u, vals) => vals.map(SL.fmtClock) }];
    this.columns.forEach((c, j) => {
      const color = SL.color(SERIES_COLORS[j % SERIES_COLORS.length]), scale = `y${j}`;
      scales[scale] = { range: (u, lo, hi) => {
        if (lo == null || hi == null) return [0, 1];
        const pad = Math.max((hi - lo) * 0.08, 0.5);
        return [lo - pad, hi + pad];
      } };
      const base = series.length;
      series.push(
        { label: c, scale, stroke: color, width: 2, paths: stepped, spanGaps: false,
          points: { show: false } },
        { label: `${c} min`, scale, stroke: "transparent", width: 0, paths: stepped,
          points: { show: false } },
        { label: `${c} max`, scale, stroke: "transparent", width: 0, paths: stepped,
          points: { show: false } });
      bands.push({ series: [base + 2, base + 1], fill: color + "2e" });
      if (j < 2) {
        axes.push({ scale, side: j === 0 ? 3 : 1, stroke: color, size: 52,
          grid: { show: j === 0, stroke: grid, width: 1 }, ticks: { show: false },
          values: (u, vals) => vals.map((v) => Number.isInteger(v) ? String(v) : SL.fmtSI(v)) });
      }
    });
    this.plot = new uPlot({ ...this.size(), scales, series, bands, axes,
      cursor: { points: { size: 6 }, drag: { x: false, y: false } },
      legend: { show: false }, padding: [8, 8, 0, 8] }, this.cols([]), this.el);
  }
  cols(points) {
    const out = [points.map((p) => p[0])];
    for (let k = 1; k <= 3 * this.columns.length; k++) out.push(points.map((p) => p[k]));
    return out;
  }
  update(points) {
    if (!this.plot) this.build();
    this.points = points;
    this.plot.setData(this.cols(points));
  }
  rebuild() { if (this.plot) { this.build(); this.update(this.points || []); } }
};

SL.seriesSection = (root, meta) => {
  const id = `series-${meta.id.replace(/\W/g, "_")}`;
  const cols = meta.columns;
  const stats = cols.map((c, j) =>
    `<div class="panel stat series-now" id="${id}-c${j}"><h2>${SL.esc(c)}</h2>` +
    `<div class="big" style="color:${SL.color(SERIES_COLORS[j % SERIES_COLORS.length])}">–</div>` +
    `<div class="sub">newest value</div></div>`).join("");
  const s = new SL.Section(root, id, meta.topic, "", `
    <section class="row stats">${stats}
      ${"<div class=\"panel stat\" id=\"" + id + "-n\"><h2>Records plotted</h2>" +
        "<div class=\"big\">–</div><div class=\"sub\">&nbsp;</div></div>"}</section>
    <section class="row"><div class="panel w12 series-panel"><h2>${cols.map((c, j) =>
      `<span class="swatch" style="background:${SL.color(SERIES_COLORS[j % SERIES_COLORS.length])}">` +
      `</span>${SL.esc(c)}${j < 2 ? ` <span class="unit">(${j ? "right" : "left"} axis)</span>` : ""}`)
      .join(" &nbsp; ")} <span class="unit">over time: last value per bucket, band: min–max</span>
      </h2><div class="chart c-series"></div></div></section>`);
  s.kept = [];
  const chart = new SL.SeriesChart(s.$(".c-series"), cols);
  s.charts.push(chart);
  s.update = (m) => {
    SL.mergeBuckets(s.kept, m.points, m.from);
    const clock = m.time ? `column ${m.time}` : "record timestamp";
    const w = m.width >= 1 ? `${+m.width.toFixed(2)} s` : `${+(m.width * 1000).toFixed(0)} ms`;
    s.setSubtitle(`output topic · ${cols.join(", ")} over the ${clock} · last ${
      Math.round(m.seconds / 60)} min in ${w} buckets`);
    cols.forEach((c, j) => {
      const v = m.last[c];
      SL.setStat(s.$(`#${id}-c${j}`), v == null ? "–" : Number.isInteger(v) ? SL.fmtInt(v)
        : SL.fmtSI(v), s.kept.length ? `newest value · at ${SL.fmtClock(s.kept[s.kept.length - 1][0])}`
        : "newest value");
    });
    SL.setStat(s.$(`#${id}-n`), SL.fmtCount(m.records),
      m.error && !m.records ? m.error : `${SL.fmtInt(m.skipped)} skipped (no number, too old)`,
      "blue");
    chart.update(s.kept);
  };
  return s;
};
