/* streamlearn dashboard: the panels of each step, made from what the feed really holds.
   A step key is "<step>[<partition>]" with a dict of figures; a bare key with a number
   (the model registry's "<step>.version", "<step>.scored.v<N>") is a model figure. */
"use strict";

const MODEL_KEY = /^(.*)\.(version|swaps|load_errors|last_load_error|scored\.v(\d+))$/;
const isDict = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// {steps: {name: {name, parts: [{part, key, fig}]}}, models: {name: {...}}}
SL.groupSteps = (steps) => {
  const groups = {}, models = {};
  for (const [key, fig] of Object.entries(steps || {})) {
    const m = key.match(/^(.*)\[(\d+)\]$/);
    const name = m ? m[1] : key, part = m ? m[2] : null;
    const r = !isDict(fig) && name.match(MODEL_KEY);
    if (r) {
      const md = models[r[1]] = models[r[1]] || { name: r[1], scored: {} };
      if (r[3]) md.scored[r[3]] = { key: `${key}:value`, value: fig };
      else md[r[2]] = fig;
      continue;
    }
    const g = groups[name] = groups[name] || { name, parts: [] };
    g.parts.push({ part, key, fig: isDict(fig) ? fig : { value: fig } });
  }
  return { groups, models };
};

SL.kindOf = (g) => {
  const f = g.parts[0].fig;
  if ("centroids" in f) return "kmeans";
  if ("accuracy" in f || "macro_f1" in f) return "classifier";
  if ("mae" in f || "rmse" in f) return "regressor";
  return "other";
};

const stat = (id, title) =>
  `<div class="panel stat" id="${id}"><h2>${SL.esc(title)}</h2><div class="big">–</div>` +
  `<div class="sub">&nbsp;</div></div>`;
SL.setStat = (el, big, sub, cls) => {
  if (!el) return;
  el.querySelector(".big").innerHTML = big;
  if (sub != null) el.querySelector(".sub").textContent = sub;
  el.classList.remove("warn", "bad", "blue", "none");
  if (cls) el.classList.add(cls);
};
const unit = (v, u) => `${v}<small>${u}</small>`;
// n-weighted mean of a figure over partitions (accuracy-like figures)
const weighted = (parts, get, getN) => {
  let s = 0, n = 0;
  for (const p of parts) {
    const v = get(p.fig), w = getN(p.fig) || 0;
    if (v != null && w > 0) { s += v * w; n += w; }
  }
  return n > 0 ? s / n : null;
};
const sum = (parts, get) => parts.reduce((a, p) => a + (get(p.fig) || 0), 0);
const pname = (p, many) => (many && p.part != null ? ` p${p.part}` : "");

/* ---- one section per step or model, created when it first appears -------------------- */
SL.Section = class {
  constructor(root, id, title, subtitle, body) {
    this.el = document.createElement("div");
    this.el.id = id;
    this.el.innerHTML = `<h3 class="section-title">${SL.esc(title)}` +
      `<span class="muted">${SL.esc(subtitle)}</span></h3>${body}`;
    root.appendChild(this.el);
    this.charts = [];
  }
  $(sel) { return this.el.querySelector(sel); }
  line(sel, opts) { const c = new SL.Line(this.$(sel), opts); this.charts.push(c); return c; }
  setSubtitle(s) { this.el.querySelector(".section-title .muted").textContent = s; }
};

SL.learnerSection = (root, g, regression) => {
  const id = `step-${g.name.replace(/\W/g, "_")}`;
  const names = regression ? ["MAE", "RMSE", "R²"] : ["Accuracy", "Macro F1", "Log-loss"];
  const s = new SL.Section(root, id, g.name, "", `
    <section class="row stats">${names.map((n, i) => stat(`${id}-s${i}`, n)).join("")}
      ${stat(`${id}-n`, "Labelled")}${stat(`${id}-wait`, "Waiting")}
      ${stat(`${id}-updates`, "Model updates")}</section>
    <section class="row">
      <div class="panel w8"><h2>${regression ? "Error over time" : "Accuracy and F1 over time"}
        <span class="unit">${regression ? "target units" : "%"}</span></h2>
        <div class="chart c-main"></div></div>
      <div class="panel w4"><h2>${regression ? "R² over time" : "F1 per class"}
        <span class="unit">${regression ? "" : "last window"}</span></h2>
        <div class="${regression ? "chart c-side" : "bars c-side"}"></div></div>
    </section>`);
  const many = () => s.parts.length > 1;
  const main = s.line(".c-main", {
    fmt: regression ? SL.fmtSI : (v) => v.toFixed(0) + "%", min0: true,
    max: regression ? null : 100,
    defs: () => s.parts.flatMap((p) => (regression
      ? [["window.mae", "MAE"], ["window.rmse", "RMSE"]]
      : [["window.accuracy", "accuracy"], ["accuracy", "accuracy since start"],
        ["window.macro_f1", "macro F1"]]).map(([f, l], i) => ({
      key: `${p.key}:${f}`, label: `${l}${pname(p, many())}`, scale: regression ? 1 : 100,
      dash: f.startsWith("window") ? undefined : [5, 4], colorIndex: (regression ? [2, 3] : [2, 2, 0])[i] + 3 * (+p.part || 0),
    }))),
  });
  const side = regression && s.line(".c-side", {
    fmt: (v) => v.toFixed(2), min0: false, max: 1,
    defs: () => s.parts.map((p, i) => ({ key: `${p.key}:window.r2`, label: `R²${pname(p, many())}`,
      colorIndex: 5 + i })),
  });
  s.update = (g2, rows) => {
    s.parts = g2.parts;
    const P = g2.parts, W = (f) => f.window || {};
    const win = P[0].fig.window ? ` · last ${SL.fmtInt(W(P[0].fig).n)} labelled` : "";
    s.setSubtitle(`${regression ? "online regressor" : "online classifier"} · partition` +
      `${P.length > 1 ? "s" : ""} ${P.map((p) => p.part ?? "–").join(", ")}`);
    const wn = (f) => W(f).n;
    if (regression) {
      [["mae", null], ["rmse", null], ["r2", null]].forEach(([f], i) => {
        const v = weighted(P, (x) => W(x)[f], wn);
        SL.setStat(s.$(`#${id}-s${i}`), v == null ? "–" : SL.fmtSI(v),
          `last window${win ? "" : ""}`, v == null ? "none" : "blue");
      });
    } else {
      const acc = weighted(P, (x) => W(x).accuracy, wn);
      const f1 = weighted(P, (x) => W(x).macro_f1, wn);
      const ll = weighted(P, (x) => W(x).log_loss, wn);
      SL.setStat(s.$(`#${id}-s0`), acc == null ? "–" : unit((100 * acc).toFixed(1), "%"),
        `last window · since start ${SL.fmtPct(100 * weighted(P, (x) => x.accuracy, (x) => x.n))}`,
        acc == null ? "none" : acc < 0.5 ? "warn" : null);
      SL.setStat(s.$(`#${id}-s1`), f1 == null ? "–" : unit((100 * f1).toFixed(1), "%"),
        "last window, macro average", f1 == null ? "none" : "blue");
      SL.setStat(s.$(`#${id}-s2`), ll == null ? "–" : ll.toFixed(3),
        ll == null ? "the model gives no probabilities" : "last window",
        ll == null ? "none" : "blue");
      const cls = {};
      for (const p of P) {
        for (const [c, v] of Object.entries(W(p.fig).per_class || {})) {
          const e = cls[c] = cls[c] || { f: 0, n: 0 };
          e.f += (v.f1 || 0) * (v.support || 0); e.n += v.support || 0;
        }
      }
      SL.bars(s.$(".c-side"), Object.entries(cls).map(([c, e], i) => ({
        label: `class ${c} (${SL.fmtInt(e.n)})`, value: e.n ? 100 * e.f / e.n : 0,
        colorIndex: i })), { fmt: SL.fmtPct, max: 100, empty: "no labels yet" });
    }
    SL.setStat(s.$(`#${id}-n`), SL.fmtCount(sum(P, (x) => x.n)),
      `since start${win}`, "blue");
    const waiting = sum(P, (x) => x.pending_events) + sum(P, (x) => x.waiting_labels);
    SL.setStat(s.$(`#${id}-wait`), SL.fmtCount(waiting),
      `${SL.fmtInt(sum(P, (x) => x.pending_events))} events, ` +
      `${SL.fmtInt(sum(P, (x) => x.waiting_labels))} labels`, "blue");
    SL.setStat(s.$(`#${id}-updates`), SL.fmtCount(sum(P, (x) => x.model_updates)),
      `${SL.fmtInt(sum(P, (x) => x.learned))} rows learned`, "blue");
    main.update(rows);
    if (side) side.update(rows);
  };
  return s;
};

SL.kmeansSection = (root, g) => {
  const id = `step-${g.name.replace(/\W/g, "_")}`;
  const s = new SL.Section(root, id, g.name, "", `
    <section class="row">
      <div class="panel w8"><h2>Centroids <span class="unit c-axes"></span></h2>
        <canvas class="scatter"></canvas>
        <div class="legend c-legend"></div></div>
      <div class="panel w4"><h2>Records per cluster <span class="unit">since start</span></h2>
        <div class="bars c-counts"></div></div>
    </section>`);
  const canvas = s.$("canvas");
  s.update = (g2, rows, trails) => {
    const P = g2.parts, many = P.length > 1, f0 = P[0].fig;
    const feats = f0.features || [];
    const k = (f0.centroids || []).length;
    s.setSubtitle(`online k-means · k=${k} · features ${feats.join(", ") || "?"}`);
    s.$(".c-axes").textContent = feats.length > 2
      ? `${feats[0]} × ${feats[1]} (first 2 of ${feats.length} features)`
      : feats.join(" × ");
    const groups = [], counts = [];
    P.forEach((p, pi) => {
      const cs = p.fig.centroids || [], n = p.fig.counts || [];
      const trail = trails[p.key] || [];
      cs.forEach((c, j) => {
        groups.push({ colorIndex: j + pi * k,
          label: `${many ? `p${p.part} ` : ""}c${j} · ${SL.fmtSI(n[j] || 0)}`,
          now: c.slice(0, 2), trail: trail.map((t) => (t[1][j] || c).slice(0, 2)) });
      });
      n.forEach((v, j) => counts.push({ label: `${many ? `p${p.part} ` : ""}cluster ${j}`,
        value: v, colorIndex: j + pi * k }));
    });
    s.lastDraw = () => SL.scatter(canvas, groups, { xLabel: feats[0] || "", yLabel: feats[1] || "" });
    s.lastDraw();
    const total = counts.reduce((a, c) => a + c.value, 0) || 1;
    SL.bars(s.$(".c-counts"), counts, {
      fmt: (v) => `${SL.fmtSI(v)} · ${(100 * v / total).toFixed(0)}%`, empty: "no records yet" });
    s.$(".c-legend").textContent =
      `big dots: the centroids now; thin lines: where they were (last ${
        Math.max(0, ...P.map((p) => (trails[p.key] || []).length))} changes)`;
  };
  new ResizeObserver(() => s.lastDraw && s.lastDraw()).observe(canvas);
  return s;
};

SL.modelSection = (root, md) => {
  const id = `model-${md.name.replace(/\W/g, "_")}`;
  const s = new SL.Section(root, id, md.name, "model served from the registry", `
    <section class="row">
      ${stat(`${id}-v`, "Model version").replace('class="panel stat"', 'class="panel stat w3"')}
      <div class="panel w5"><h2>Traffic split <span class="unit">share of records scored,
        last minute</span></h2><div class="split c-split"></div><div class="legend c-leg"></div>
      </div>
      ${stat(`${id}-sw`, "Swaps").replace('class="panel stat"', 'class="panel stat w2"')}
      ${stat(`${id}-err`, "Load errors").replace('class="panel stat"', 'class="panel stat w2"')}
    </section>
    <section class="row"><div class="panel w12"><h2>Scored by version
      <span class="unit">records/s</span></h2><div class="chart c-rate"></div></div></section>`);
  const versions = () => Object.keys(s.md.scored).sort((a, b) => a - b);
  const rate = s.line(".c-rate", { fmt: SL.fmtSI, defs: () => versions().map((v, i) => ({
    key: s.md.scored[v].key, label: `v${v}`, rate: true, colorIndex: i })) });
  s.update = (md2, rows) => {
    s.md = md2;
    SL.setStat(s.$(`#${id}-v`), md2.version != null ? `v${md2.version}` : "–",
      "serving now", md2.version != null ? "blue" : "none");
    SL.setStat(s.$(`#${id}-sw`), SL.fmtInt(md2.swaps || 0), "since start", "blue");
    SL.setStat(s.$(`#${id}-err`), SL.fmtInt(md2.load_errors || 0),
      md2.last_load_error || "none", md2.load_errors ? "bad" : null);
    const last = rows[rows.length - 1], first = rows.find((r) => last && r.t >= last.t - 60);
    const shares = versions().map((v, i) => {
      const k = md2.scored[v].key, now = md2.scored[v].value || 0;
      const before = first && first !== last && first.v[k] != null ? first.v[k] : 0;
      return { v, n: Math.max(0, now - before), colorIndex: i };
    });
    const tot = shares.reduce((a, x) => a + x.n, 0);
    s.$(".c-split").innerHTML = tot ? shares.filter((x) => x.n).map((x) =>
      `<div style="width:${(100 * x.n / tot).toFixed(2)}%;background:${SL.color(x.colorIndex)}">` +
      `v${x.v} ${(100 * x.n / tot).toFixed(0)}%</div>`).join("")
      : `<div class="empty" style="width:100%;color:var(--muted)">nothing scored lately</div>`;
    s.$(".c-leg").innerHTML = shares.map((x) => `<span><i style="background:${
      SL.color(x.colorIndex)}"></i>v${x.v}: ${SL.fmtInt(md2.scored[x.v].value)} since start</span>`)
      .join("");
    rate.update(rows);
  };
  return s;
};

// drift per feature, only for steps whose figures carry "drift": {feature: score|bool|{}}
SL.driftSection = (root, g) => {
  const id = `drift-${g.name.replace(/\W/g, "_")}`;
  const s = new SL.Section(root, id, `${g.name} · drift`, "per feature, as the step reports it",
    `<section class="row"><div class="panel w12"><h2>Drift per feature</h2>
      <div class="bars c-drift"></div></div></section>`);
  s.update = (g2) => {
    const items = [];
    for (const p of g2.parts) {
      for (const [f, d] of Object.entries(p.fig.drift || {})) {
        const score = isDict(d) ? (d.score ?? d.value ?? null) : typeof d === "number" ? d : null;
        const flag = isDict(d) ? !!(d.drift ?? d.flag) : d === true;
        items.push({ label: `${f}${pname(p, g2.parts.length > 1)}${flag ? " ⚠ drift" : ""}`,
          value: score ?? (flag ? 1 : 0), color: SL.css(flag ? "--red" : "--green") });
      }
    }
    SL.bars(s.$(".c-drift"), items, { fmt: (v) => v.toFixed(3), empty: "no drift figures" });
  };
  return s;
};

// any other step: its numeric figures as small stats
SL.otherSection = (root, g) => {
  const id = `step-${g.name.replace(/\W/g, "_")}`;
  const s = new SL.Section(root, id, g.name, "step figures",
    `<section class="row stats c-figs"></section>`);
  s.update = (g2) => {
    const cells = [];
    for (const p of g2.parts) {
      for (const [f, v] of Object.entries(p.fig)) {
        if (typeof v !== "number" || f === "drift") continue;
        cells.push(`<div class="panel stat blue"><h2>${SL.esc(f)}${pname(p, g2.parts.length > 1)}` +
          `</h2><div class="big">${Number.isInteger(v) ? SL.fmtCount(v) : SL.fmtSI(v)}</div><div class="sub">${SL.esc(p.key)}</div></div>`);
      }
    }
    s.$(".c-figs").innerHTML = cells.slice(0, 12).join("") ||
      `<div class="panel"><div class="empty">no numeric figures</div></div>`;
  };
  return s;
};
