/* streamlearn dashboard: the state of the page, the event stream, the run-level panels. */
"use strict";
(() => {
  const $ = (s) => document.querySelector(s);
  const S = { rows: [], seq: 0, now: null, trails: {}, lastTs: null, reports: 0, error: null,
    seconds: 900, sections: {}, connected: null, series: [] };

  /* ---- theme: the OS preference, or the last choice ---------------------------------- */
  const root = document.documentElement;
  const stored = localStorage.getItem("sl-theme");
  root.dataset.theme = stored ||
    (matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark");
  $("#theme").addEventListener("click", () => {
    root.dataset.theme = root.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem("sl-theme", root.dataset.theme);
    for (const c of allCharts()) c.rebuild();
    render();
  });

  /* ---- run-level charts --------------------------------------------------------------- */
  const lagKeys = () => Object.keys((S.now && S.now.lag) || {}).sort();
  const runCharts = [
    new SL.Line($("#chart-throughput"), { fmt: SL.fmtSI, defs: () => [
      { key: "in_rate", label: "in", colorIndex: 0 },
      { key: "out_rate", label: "out", colorIndex: 2 },
      { key: "dead_lettered", label: "dead-lettered", rate: true, colorIndex: 4 }] }),
    new SL.Line($("#chart-latency"), { fmt: (v) => SL.fmtMs(v), defs: () => {
      const d = [{ key: "last_batch_ms", label: "batch", colorIndex: 1 }];
      if (S.rows.some((r) => r.v.e2e_p50_ms != null)) {
        d.push({ key: "e2e_p50_ms", label: "end-to-end p50", colorIndex: 2 },
          { key: "e2e_p99_ms", label: "end-to-end p99", colorIndex: 3 });
      }
      return d;
    } }),
    new SL.Line($("#chart-lag"), { fmt: SL.fmtSI, defs: () => lagKeys().map((k, i) => ({
      key: `lag:${k}`, label: k, colorIndex: i })) }),
  ];
  const allCharts = () => [...runCharts,
    ...Object.values(S.sections).flatMap((s) => s.charts)];

  /* ---- applying an update from the server -------------------------------------------- */
  function apply(d) {
    for (const r of d.rows) {
      const last = S.rows[S.rows.length - 1];
      if (!last || r.t > last.t) S.rows.push(r);
      else {
        const i = S.rows.findIndex((x) => x.t === r.t);
        if (i >= 0) S.rows[i] = r;
      }
    }
    S.seconds = d.seconds || S.seconds;
    const newest = S.rows.length ? S.rows[S.rows.length - 1].t : 0;
    while (S.rows.length && S.rows[0].t < newest - S.seconds) S.rows.shift();
    Object.assign(S, { seq: d.seq, now: d.now, trails: d.trails || {}, lastTs: d.last_ts,
      reports: d.reports, error: d.error, series: d.series || [] });
    render();
  }

  function render() {
    const n = S.now;
    status();
    series();
    $("#reports").textContent = SL.fmtInt(S.reports);
    $("#range").textContent = `last ${Math.round(S.seconds / 60)} min`;
    if (!n) return;
    $("#members").textContent = `${n.members.length} member${n.members.length === 1 ? "" : "s"}`;
    const lag = Object.values(n.lag || {}).reduce((a, v) => a + v, 0);
    SL.setStat($("#stat-in"), SL.fmtInt(n.records_in),
      `out ${SL.fmtInt(n.records_out)} · filtered ${SL.fmtInt(n.records_filtered)}` +
      ` · buffered ${SL.fmtInt(n.records_buffered)}`);
    SL.setStat($("#stat-in-rate"), SL.fmtSI(n.in_rate) + "<small>rec/s</small>",
      "records read per second");
    SL.setStat($("#stat-out-rate"), SL.fmtSI(n.out_rate) + "<small>rec/s</small>",
      "records written per second", "blue");
    const e2e = n.e2e_p99_ms != null;
    const ms = SL.fmtMs(e2e ? n.e2e_p99_ms : n.last_batch_ms).split(" ");
    $("#stat-latency h2").textContent = e2e ? "End-to-end latency p99" : "Batch latency";
    SL.setStat($("#stat-latency"), `${ms[0]}<small>${ms[1] || ""}</small>`,
      e2e ? `end-to-end p99 · batch ${SL.fmtMs(n.last_batch_ms)}` : "last batch",
      (e2e ? n.e2e_p99_ms : n.last_batch_ms) > 1000 ? "warn" : null);
    SL.setStat($("#stat-lag"), SL.fmtCount(lag) + "<small>records</small>",
      `behind, over ${Object.keys(n.lag || {}).length} partition(s)`,
      lag > 100000 ? "bad" : lag > 10000 ? "warn" : null);
    SL.setStat($("#stat-dead"), SL.fmtInt(n.dead_lettered), "records sent to the dead letters",
      n.dead_lettered > 0 ? "bad" : null);
    SL.bars($("#lag-bars"), lagKeys().map((k, i) => ({ label: k, value: n.lag[k],
      colorIndex: i })), { fmt: SL.fmtInt, empty: "no partition assigned yet" });
    for (const c of runCharts) c.update(S.rows);
    steps();
  }

  // output topics over time (--series): one section each, fed the buckets that moved
  function series() {
    const box = $("#series");
    for (const m of S.series) {
      const id = `series:${m.id}`;
      (S.sections[id] = S.sections[id] || SL.seriesSection(box, m)).update(m);
      m.points = [];  // merged: a re-render must not merge them again
    }
  }

  function steps() {
    const { groups, models } = SL.groupSteps(S.now.steps);
    const box = $("#steps");
    for (const md of Object.values(models)) {
      const id = `model:${md.name}`;
      (S.sections[id] = S.sections[id] || SL.modelSection(box, md)).update(md, S.rows);
    }
    for (const g of Object.values(groups)) {
      const kind = SL.kindOf(g), id = `step:${g.name}`;
      const make = { kmeans: SL.kmeansSection, classifier: (r, x) => SL.learnerSection(r, x, false),
        regressor: (r, x) => SL.learnerSection(r, x, true), other: SL.otherSection }[kind];
      (S.sections[id] = S.sections[id] || make(box, g)).update(g, S.rows, S.trails);
      if (g.parts.some((p) => isObj(p.fig.drift))) {
        const did = `drift:${g.name}`;
        (S.sections[did] = S.sections[did] || SL.driftSection(box, g)).update(g);
      }
    }
  }
  const isObj = (v) => v !== null && typeof v === "object";

  function status() {
    const el = $("#status");
    const age = S.lastTs != null ? Date.now() / 1000 - S.lastTs : null;
    let cls = "pill-wait", text = "connecting…";
    if (S.error && !S.reports) { cls = S.error.startsWith("waiting") ? "pill-wait" : "pill-error"; text = S.error; }
    else if (S.connected === false) { cls = "pill-error"; text = "dashboard server unreachable"; }
    else if (S.error) { cls = "pill-error"; text = S.error; }
    else if (age == null) text = "waiting for the first report";
    else if (age < 5) { cls = "pill-live"; text = "● live"; }
    else { cls = "pill-stale"; text = `no report for ${age < 120 ? Math.round(age) + " s"
      : Math.round(age / 60) + " min"}`; }
    el.className = `pill ${cls}`;
    el.textContent = text;
    el.title = text;
  }
  setInterval(status, 1000);

  /* ---- the event stream (reconnects with what it has) -------------------------------- */
  function connect() {
    const es = new EventSource(`events?since=${S.seq}`);
    es.addEventListener("update", (e) => { S.connected = true; apply(JSON.parse(e.data)); });
    es.onerror = () => {
      es.close();
      S.connected = false;
      status();
      setTimeout(connect, 2000);
    };
  }
  render();
  connect();
})();
