// The timeline above the panes: records per time bucket stacked by level, with anomaly ticks,
// incident bands and annotation flags, plus the optional host metrics strip under it. Dragging
// zooms every view (setRange); the data is cached so hover and drag only repaint, never refetch.

import { api } from "./api.js";
import { el, replace } from "./dom.js";
import { bucketFor, count, iso, levelColour, shortTime } from "./format.js";
import { emit, on, setRange, state, timeWindow } from "./state.js";

const STACK = ["debug", "info", "warning", "error", "critical"]; // bottom → top
const GROUP = { trace: "debug", debug: "debug", info: "info", notice: "info", warning: "warning",
  error: "error", critical: "critical", fatal: "critical" };
const TOP = 13; // px above the bars for incident labels and annotation flags
const AXIS = 12; // px below the bars for the time labels
const LIVE_MS = 5000;
const MARKERS_EVERY = 6; // live ticks between marker refetches: the detectors replay the range, costly

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** ISO text or ms → ms (NaN when unreadable). */
function toMs(value) {
  if (value === null || value === undefined) return NaN;
  return typeof value === "number" ? value : Date.parse(value);
}

/** Sizes a canvas's backing store to its CSS box × devicePixelRatio; the context draws in CSS px. */
function fit(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  canvas.width = Math.max(1, Math.round(w * dpr));
  canvas.height = Math.max(1, Math.round(h * dpr));
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "10px system-ui, sans-serif";
  return { ctx, w, h };
}

function centred(ctx, w, h, text) {
  Object.assign(ctx, { fillStyle: css("--fg-dim"), textAlign: "center", textBaseline: "middle" });
  ctx.fillText(text, w / 2, h / 2);
}

/** A time label that fits the span: seconds for short spans, the date for long ones. */
function tickText(ms, span) {
  const text = new Date(ms).toISOString();
  if (span > 2 * 86400e3) return text.slice(5, 10) + " " + text.slice(11, 16);
  return span > 3600e3 ? text.slice(11, 16) : text.slice(11, 19);
}

function severityColour(severity) {
  return levelColour(severity === "critical" ? "critical" : severity === "warning" ? "warning" : "info");
}

export function initTimeline({ canvas, metrics, legend }) {
  // What the last fetch returned; `win` is the window it was drawn for (x = time mapping).
  let data = { win: timeWindow(), bucketMs: 60e3, bucketText: "1m", buckets: [], anomalies: [], incidents: [], notes: [] };
  let host = null; // {every_s, samples:[{ms, …}]} or {error}
  let seq = 0;
  let loading = false;
  let ticks = 0;
  let timer = null;
  let drag = null; // {x0, x1} in CSS px while the mouse is down

  const tip = el("div", { style: { position: "absolute", display: "none", pointerEvents: "none", zIndex: "5",
    background: "var(--bg-raised)", color: "var(--fg)", border: "1px solid var(--border)", borderRadius: "4px",
    padding: "4px 6px", fontSize: "11px", whiteSpace: "nowrap", maxWidth: "420px", overflow: "hidden" } });
  canvas.parentElement.append(tip);

  const xOf = (ms, w) => ((ms - data.win.since) / (data.win.until - data.win.since)) * w;
  const msOf = (x, w) => data.win.since + (x / w) * (data.win.until - data.win.since);

  /** Stats, markers (when due) and host samples for the current window; stale answers are dropped. */
  async function refresh({ markers = true } = {}) {
    const mine = ++seq;
    loading = true;
    const win = timeWindow();
    const bucket = bucketFor(win.until - win.since);
    const span = { since: iso(win.since), until: iso(win.until) };
    try {
      // The bars first: they are one cheap query, while anomalies and incidents replay the detectors
      // over the range (seconds on a big store) and would hold the daemon's interpreter while the
      // first rows and bars wait. The markers are asked for after, and drawn over the bars.
      let stats;
      try {
        stats = await api("/api/stats", { q: state.query, ...span, bucket: bucket.text, by: "level" });
      } catch (err) {
        if (mine === seq) emit("status", { text: "timeline: " + err.message, bad: true });
      }
      if (mine !== seq) return;
      data = {
        win, bucketMs: stats?.bucket_ms || bucket.ms, bucketText: bucket.text,
        buckets: (stats?.buckets || []).map((b) => ({ ms: toMs(b.start), counts: b.counts || {} })),
        anomalies: data.anomalies, incidents: data.incidents, notes: data.notes,
      };
      draw();
      if (markers) {
        const [anomalies, incidents, notes] = await Promise.allSettled([
          api("/api/anomalies", span), api("/api/incidents", span), api("/api/annotations", span),
        ]);
        if (mine !== seq) return;
        const list = (r) => (r.status === "fulfilled" && Array.isArray(r.value) ? r.value : []);
        // 404 or an error → no flags, silently
        Object.assign(data, { anomalies: list(anomalies), incidents: list(incidents), notes: list(notes) });
      }
      if (!metrics.hidden) await refreshHost(win, mine);
      draw();
    } finally {
      if (mine === seq) loading = false;
    }
  }

  async function refreshHost(win, mine) {
    try {
      const answer = await api("/api/host", { since: iso(win.since), until: iso(win.until) });
      if (mine !== seq) return;
      const samples = (answer?.samples || []).map((s) => ({ ...s, ms: toMs(s.t) })).filter((s) => !Number.isNaN(s.ms));
      host = { every_s: answer?.every_s || 5, samples };
    } catch (err) {
      host = { error: err.message, samples: [] };
    }
  }

  function draw() {
    drawHistogram();
    if (!metrics.hidden) drawHost();
  }

  /** The stacked bars, then the markers over them, then the drag selection. */
  function drawHistogram() {
    if (!canvas.clientWidth) return; // timeline hidden: nothing to size against
    const { ctx, w, h } = fit(canvas);
    const plotH = h - TOP - AXIS;
    const colours = Object.fromEntries(STACK.map((g) => [g, levelColour(g)]));
    const stacks = data.buckets.map((b) => {
      const by = Object.fromEntries(STACK.map((g) => [g, 0]));
      for (const [level, n] of Object.entries(b.counts)) by[GROUP[level] || "debug"] += n;
      return { ms: b.ms, by, total: STACK.reduce((s, g) => s + by[g], 0) };
    });
    const max = Math.max(0, ...stacks.map((s) => s.total));
    const total = stacks.reduce((s, b) => s + b.total, 0);
    for (const s of stacks) {
      const x0 = Math.max(0, xOf(s.ms, w));
      const x1 = Math.min(w, xOf(s.ms + data.bucketMs, w));
      const bw = Math.max(1, x1 - x0 - (x1 - x0 > 3 ? 1 : 0)); // a 1px gap when bars are wide enough
      let y = TOP + plotH;
      for (const g of STACK) {
        if (!s.by[g]) continue;
        const bh = (s.by[g] / max) * plotH;
        ctx.fillStyle = colours[g];
        ctx.fillRect(x0, y - bh, bw, bh);
        y -= bh;
      }
    }
    if (!total) centred(ctx, w, h, "no records in this range");
    drawAxis(ctx, w, h);
    const bands = drawIncidents(ctx, w, h);
    drawAnomalies(ctx, w, h);
    drawNotes(ctx, w);
    if (drag && Math.abs(drag.x1 - drag.x0) > 1) {
      ctx.fillStyle = css("--accent");
      ctx.globalAlpha = 0.25;
      ctx.fillRect(Math.min(drag.x0, drag.x1), 0, Math.abs(drag.x1 - drag.x0), h);
      ctx.globalAlpha = 1;
    }
    canvas.dataset.buckets = String(stacks.filter((s) => s.total > 0).length);
    canvas.dataset.incidents = String(bands);
    canvas.dataset.total = String(total);
    fillLegend(total);
  }

  function drawAxis(ctx, w, h) {
    const span = data.win.until - data.win.since;
    ctx.fillStyle = css("--fg-dim");
    ctx.textBaseline = "bottom";
    for (let i = 0; i <= 4; i++) {
      const x = (i / 4) * w;
      ctx.textAlign = i === 0 ? "left" : i === 4 ? "right" : "center";
      ctx.fillText(tickText(msOf(x, w), span), x, h);
    }
  }

  /** Incident bands over the whole plot, labelled with the root-cause service; returns how many. */
  function drawIncidents(ctx, w, h) {
    let drawn = 0;
    for (const inc of data.incidents) {
      const [x0, x1] = incidentSpan(inc, w);
      if (x1 < 0 || x0 > w) continue;
      ctx.fillStyle = severityColour(inc.severity);
      ctx.globalAlpha = 0.15;
      ctx.fillRect(x0, 0, x1 - x0, h - AXIS);
      ctx.globalAlpha = 1;
      ctx.fillRect(x0, 0, x1 - x0, 2);
      ctx.textAlign = "left";
      ctx.textBaseline = "top";
      ctx.fillText(inc.root_cause?.service || inc.services?.[0] || "incident", Math.max(0, x0) + 2, 2, Math.max(20, x1 - x0 + 60));
      drawn++;
    }
    return drawn;
  }

  function incidentSpan(inc, w) {
    const start = toMs(inc.start);
    const end = Number.isNaN(toMs(inc.end)) ? data.win.until : toMs(inc.end); // open incident: to now
    const x0 = xOf(start, w);
    return [x0, Math.max(x0 + 3, xOf(end, w))]; // at least 3px so a short incident stays clickable
  }

  function drawAnomalies(ctx, w, h) {
    for (const a of data.anomalies) {
      const x = Math.round(xOf(toMs(a.start), w)) + 0.5;
      if (x < 0 || x > w) continue;
      ctx.strokeStyle = severityColour(a.severity);
      ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(x, TOP - 3); ctx.lineTo(x, h - AXIS); ctx.stroke();
    }
  }

  /** Annotations as small flags on a pole (a bar along the top when they span a range). */
  function drawNotes(ctx, w) {
    ctx.fillStyle = css("--accent");
    ctx.strokeStyle = ctx.fillStyle;
    for (const n of data.notes) {
      const x = Math.round(xOf(toMs(n.since), w)) + 0.5;
      if (x < 0 || x > w) continue;
      const end = toMs(n.until);
      if (!Number.isNaN(end)) ctx.fillRect(x, TOP - 2, Math.max(1, xOf(end, w) - x), 2);
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, TOP + 8); ctx.stroke(); // the pole
      ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x + 7, 3); ctx.lineTo(x, 6); ctx.fill(); // the flag
    }
  }

  function fillLegend(total) {
    replace(legend,
      STACK.map((g) => el("span", {}, el("span", { class: "swatch", style: { background: levelColour(g) } }), g)),
      el("span", {}, `${count(total)} records`),
      el("span", {}, `bucket ${data.bucketText}`),
      el("span", {}, "drag to zoom, double-click to reset"));
  }

  /** CPU and memory on a 0–100 scale, disk and network thin and scaled to their own maximum. */
  function drawHost() {
    if (!metrics.clientWidth) return;
    const { ctx, w, h } = fit(metrics);
    const samples = host?.samples || [];
    metrics.dataset.samples = String(samples.length);
    if (!samples.length) {
      centred(ctx, w, h, host?.error ? "host metrics unavailable: " + host.error : "no host samples in this range");
      return;
    }
    const gapMs = (host.every_s || 5) * 3000; // a missing stretch breaks the line rather than bridging it
    const series = [
      { key: "cpu", label: "cpu %", colour: css("--lvl-info"), width: 1.5, max: 100 },
      { key: "mem", label: "mem %", colour: "#c39af8", width: 1.5, max: 100 },
      { key: "disk_read", label: "disk r", colour: css("--fg-dim"), width: 0.75 },
      { key: "disk_write", label: "disk w", colour: "#f7b267", width: 0.75 },
      { key: "net_in", label: "net in", colour: "#7bd88f", width: 0.75 },
      { key: "net_out", label: "net out", colour: css("--lvl-warning"), width: 0.75 },
    ];
    for (const s of series) {
      const max = s.max || Math.max(1, ...samples.map((p) => Number(p[s.key]) || 0));
      ctx.strokeStyle = s.colour;
      ctx.lineWidth = s.width;
      ctx.beginPath();
      let last = null;
      for (const p of samples) {
        const v = Number(p[s.key]);
        if (!Number.isFinite(v)) { last = null; continue; }
        const x = xOf(p.ms, w);
        const y = h - 1 - (Math.min(v, max) / max) * (h - 2);
        if (last === null || p.ms - last > gapMs) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
        last = p.ms;
      }
      ctx.stroke();
    }
    ctx.textAlign = "left";
    ctx.textBaseline = "top";
    let x = 4;
    for (const s of series) {
      ctx.fillStyle = s.colour;
      ctx.fillText(s.label, x, 2);
      x += ctx.measureText(s.label).width + 8;
    }
  }

  // --- pointer: hover tooltip, drag to zoom, click an incident, double-click to reset ---

  const localX = (event) => event.clientX - canvas.getBoundingClientRect().left;

  function incidentAt(x) {
    return data.incidents.find((inc) => {
      const [x0, x1] = incidentSpan(inc, canvas.clientWidth);
      return x >= x0 && x <= x1;
    });
  }

  /** The tooltip's lines for the point under the mouse: a flag, an anomaly, or the bucket (+ incident). */
  function describe(x, y) {
    const w = canvas.clientWidth;
    const near = (ms) => Math.abs(xOf(toMs(ms), w) - x) <= 4;
    const note = y < TOP + 8 && data.notes.find((n) => near(n.since));
    if (note) return [`${note.kind || "note"}${note.service ? " · " + note.service : ""}`, note.text || "", shortTime(note.since)];
    const hits = data.anomalies.filter((a) => near(a.start));
    if (hits.length) {
      return hits.slice(0, 6).map((a) => `${a.severity} ${a.kind} · ${a.service} · ${shortTime(a.start)}: ${a.detail || ""}`);
    }
    const lines = [];
    const inc = incidentAt(x);
    if (inc) lines.push(`${inc.id} (${inc.severity}) root cause ${inc.root_cause?.service || "?"} — click to open`);
    const at = msOf(x, w);
    const bucket = data.buckets.find((b) => at >= b.ms && at < b.ms + data.bucketMs);
    const start = Math.floor(at / data.bucketMs) * data.bucketMs;
    lines.push(`${shortTime(iso(start))} – ${shortTime(iso(start + data.bucketMs))}`);
    const counts = Object.entries(bucket?.counts || {}).filter(([, n]) => n > 0);
    if (!counts.length) lines.push("no records");
    for (const [level, n] of counts.sort((a, b) => (STACK.indexOf(GROUP[b[0]]) - STACK.indexOf(GROUP[a[0]])))) {
      lines.push(`${level}: ${count(n)}`);
    }
    return lines;
  }

  function showTip(event) {
    const x = localX(event);
    const y = event.clientY - canvas.getBoundingClientRect().top;
    replace(tip, describe(x, y).map((line) => el("div", {}, line)));
    tip.style.display = "block";
    // Keep the tip inside the wrap: flip to the left of the cursor near the right edge.
    const left = canvas.offsetLeft + x + 12;
    const fitsRight = left + tip.offsetWidth < canvas.parentElement.clientWidth;
    tip.style.left = (fitsRight ? left : Math.max(0, canvas.offsetLeft + x - tip.offsetWidth - 12)) + "px";
    tip.style.top = canvas.offsetTop + Math.min(y + 12, canvas.clientHeight - 4) + "px";
  }

  canvas.addEventListener("mousedown", (event) => {
    if (event.button !== 0) return;
    const x = localX(event);
    drag = { x0: x, x1: x };
    event.preventDefault(); // no text selection while dragging
  });
  canvas.addEventListener("mousemove", (event) => {
    if (drag) {
      drag.x1 = Math.max(0, Math.min(canvas.clientWidth, localX(event)));
      tip.style.display = "none";
      drawHistogram();
    } else showTip(event);
  });
  canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  // On window, so a drag released outside the canvas still ends (and zooms).
  window.addEventListener("mouseup", (event) => {
    if (!drag) return;
    const { x0 } = drag;
    const x1 = Math.max(0, Math.min(canvas.clientWidth, localX(event)));
    drag = null;
    const w = canvas.clientWidth;
    if (Math.abs(x1 - x0) > 5) {
      setRange({ since: Math.round(msOf(Math.min(x0, x1), w)), until: Math.round(msOf(Math.max(x0, x1), w)) });
      return;
    }
    drawHistogram(); // clear a 2–5px selection
    if (event.target !== canvas || event.detail > 1) return; // the second click of a double-click resets
    const inc = incidentAt(x1);
    if (inc) emit("open-incident", inc.id);
  });
  canvas.addEventListener("dblclick", () => setRange({ relative: "1h" }));

  // --- refreshing ---

  /** One 5 s timer while the range is live; a tick is skipped while a fetch is still running. */
  function syncTimer() {
    const live = timeWindow().live;
    if (live && !timer) {
      timer = setInterval(() => {
        if (loading || !canvas.clientWidth) return;
        ticks++;
        refresh({ markers: ticks % MARKERS_EVERY === 0 });
      }, LIVE_MS);
    } else if (!live && timer) { clearInterval(timer); timer = null; }
  }

  on("range", () => { syncTimer(); refresh(); });
  on("query", () => refresh({ markers: false })); // markers do not depend on the filter
  on("theme", () => draw());
  on("resize", () => draw());
  on("toggle-metrics", async () => {
    metrics.hidden = !metrics.hidden;
    if (metrics.hidden) return;
    const mine = seq;
    drawHost(); // the cached samples at once (or the empty message), then the fresh ones
    await refreshHost(data.win, mine);
    drawHost();
  });
}
