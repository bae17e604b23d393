// The heatmap pane: one row per service (or level), one column per time bucket of the current
// range, shaded by volume or by error rate. A cell click opens those records in the search pane.

import { api } from "./api.js";
import { el, replace } from "./dom.js";
import { bucketFor, count, iso, LEVELS, shortTime } from "./format.js";
import { register } from "./panes.js";
import { emit, on, state, timeWindow } from "./state.js";

const ROW_H = 20;
const AXIS_H = 18;
const LIVE_MS = 10000;

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

/** A CSS colour → [r, g, b], letting the canvas normalise whatever syntax the theme uses. */
function rgb(ctx, colour) {
  ctx.fillStyle = "#000";
  ctx.fillStyle = colour;
  const text = ctx.fillStyle; // "#rrggbb" or "rgba(r, g, b, a)"
  if (text.startsWith("#")) return [1, 3, 5].map((i) => parseInt(text.slice(i, i + 2), 16));
  return (text.match(/[\d.]+/g) || [0, 0, 0]).slice(0, 3).map(Number);
}

const mix = (a, b, t) => `rgb(${a.map((v, i) => Math.round(v + (b[i] - v) * t)).join(",")})`;

/** A field term for the query language: quoted when the value has characters it would read. */
function term(field, value) {
  const plain = /^[A-Za-z0-9._\-]+$/.test(value);
  return plain ? `${field}:${value}` : `${field}:"${value.replace(/[\\"]/g, (c) => "\\" + c)}"`;
}

/** `extra` AND the filter; the filter is parenthesised when an OR in it would otherwise swallow `extra`. */
function combine(extra, query) {
  const q = (query || "").trim();
  if (!q) return extra;
  return /\bOR\b|\|/.test(q) ? `${extra} (${q})` : `${extra} ${q}`;
}

function tickText(ms, span) {
  const text = new Date(ms).toISOString();
  if (span > 2 * 86400e3) return text.slice(5, 10) + " " + text.slice(11, 16);
  return span > 3600e3 ? text.slice(11, 16) : text.slice(11, 19);
}

let root = null;
let canvas = null;
let tip = null;
let note = null;
let byField = null; // <select> service | level
let measure = null; // <select> volume | rate
let shown = false;
let timer = null;
let seq = 0;
let loading = false;
// The last answer: rows [{key, cells: [n…], errors: [n…]|null}], column starts in ms, bucket length.
let grid = { by: "service", measure: "volume", since: 0, until: 0, bucketMs: 60e3, columns: [], rows: [] };
let layout = { labelW: 80, colW: 1 };

/** Per-key counts for each column, from a stats answer. */
function cellsOf(answer, columns, bucketMs) {
  const first = columns[0];
  const rows = new Map();
  for (const b of answer?.buckets || []) {
    const col = Math.round((Date.parse(b.start) - first) / bucketMs);
    if (col < 0 || col >= columns.length) continue;
    for (const [key, n] of Object.entries(b.counts || {})) {
      if (!rows.has(key)) rows.set(key, new Array(columns.length).fill(0));
      rows.get(key)[col] += n;
    }
  }
  return rows;
}

async function refresh() {
  const mine = ++seq;
  loading = true;
  const win = timeWindow();
  const bucket = bucketFor(win.until - win.since, 60);
  const by = byField.value;
  const wantRate = measure.value === "rate";
  const params = { since: iso(win.since), until: iso(win.until), bucket: bucket.text, by };
  replace(note, "loading…");
  try {
    const [volume, errors] = await Promise.all([
      api("/api/stats", { ...params, q: state.query }),
      wantRate ? api("/api/stats", { ...params, q: combine("level:>=error", state.query) }) : null,
    ]);
    if (mine !== seq) return;
    const bucketMs = volume.bucket_ms || bucket.ms;
    // Columns on the server's bucket grid (aligned to multiples of the bucket), covering the range.
    const columns = [];
    for (let t = Math.floor(win.since / bucketMs) * bucketMs; t < win.until; t += bucketMs) columns.push(t);
    const counts = cellsOf(volume, columns, bucketMs);
    const errorCounts = wantRate ? cellsOf(errors, columns, bucketMs) : null;
    const total = (cells) => cells.reduce((s, n) => s + n, 0);
    const keys = [...counts.keys()].sort(by === "level"
      ? (a, b) => LEVELS.indexOf(b) - LEVELS.indexOf(a) // most severe on top
      : (a, b) => total(counts.get(b)) - total(counts.get(a)) || a.localeCompare(b));
    grid = {
      by, measure: wantRate ? "rate" : "volume", since: win.since, until: win.until, bucketMs, columns,
      rows: keys.map((key) => ({ key, cells: counts.get(key), errors: errorCounts ? errorCounts.get(key) || columns.map(() => 0) : null })),
    };
    const noun = { level: "levels", service: "services", category: "categories" }[by] || by;
    replace(note, `${grid.rows.length} ${noun} × ${columns.length} buckets of ${bucket.text}`
      + (wantRate ? " · shade = share of error+ records" : " · shade = volume (log scale)"));
    draw();
  } catch (err) {
    if (mine === seq) replace(note, el("span", { class: "error-text" }, err.message));
  } finally {
    if (mine === seq) loading = false;
  }
}

/** A cell's shade in 0…1: log volume against the busiest cell, or the error share (sqrt, so a few % shows). */
function shade(row, col, maxLog) {
  const n = row.cells[col];
  if (!n) return 0;
  if (grid.measure === "rate") return Math.sqrt(Math.min(1, (row.errors[col] || 0) / n));
  return Math.log1p(n) / maxLog;
}

function draw() {
  const w = canvas.parentElement.clientWidth - 20; // minus the wrap's 10px side padding
  if (!shown || w <= 0) return;
  const dpr = window.devicePixelRatio || 1;
  const rows = grid.rows;
  const h = Math.max(rows.length, 1) * ROW_H + AXIS_H + 4;
  canvas.style.width = w + "px";
  canvas.style.height = h + "px";
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.font = "11px system-ui, sans-serif";
  const labelW = Math.min(160, Math.max(40, ...rows.map((r) => ctx.measureText(r.key).width)) + 12);
  const colW = (w - labelW) / Math.max(grid.columns.length, 1);
  layout = { labelW, colW };
  canvas.dataset.rows = String(rows.length);
  canvas.dataset.columns = String(grid.columns.length);
  const fg = css("--fg");
  const dim = css("--fg-dim");
  if (!rows.length) {
    ctx.fillStyle = dim;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText("no records in this range", w / 2, ROW_H / 2 + 2);
    return;
  }
  const bg = rgb(ctx, css("--bg"));
  const hot = rgb(ctx, css(grid.measure === "rate" ? "--lvl-error" : "--accent"));
  const maxLog = Math.log1p(Math.max(1, ...rows.flatMap((r) => r.cells)));
  rows.forEach((row, r) => {
    const y = r * ROW_H;
    ctx.fillStyle = fg;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText(row.key, labelW - 6, y + ROW_H / 2, labelW - 8);
    row.cells.forEach((n, c) => {
      ctx.fillStyle = mix(bg, hot, shade(row, c, maxLog));
      // Cells overlap by a pixel rather than leave hairline seams at fractional widths.
      ctx.fillRect(labelW + c * colW, y + 1, Math.ceil(colW), ROW_H - 2);
    });
  });
  drawAxis(ctx, labelW, colW, rows.length * ROW_H, dim);
}

function drawAxis(ctx, labelW, colW, y, colour) {
  const cols = grid.columns;
  const span = grid.until - grid.since;
  ctx.fillStyle = colour;
  ctx.textBaseline = "top";
  const every = Math.max(1, Math.ceil(cols.length / 6)); // about 6 labels, whatever the width
  for (let c = 0; c < cols.length; c += every) {
    const x = labelW + c * colW;
    ctx.fillRect(x, y, 1, 4);
    ctx.textAlign = c === 0 ? "left" : "center";
    ctx.fillText(tickText(cols[c], span), x, y + 5);
  }
}

/** The row and column under a mouse event, or null outside the cells. */
function cellAt(event) {
  const box = canvas.getBoundingClientRect();
  const x = event.clientX - box.left;
  const y = event.clientY - box.top;
  const r = Math.floor(y / ROW_H);
  const c = Math.floor((x - layout.labelW) / layout.colW);
  if (x < layout.labelW || r < 0 || r >= grid.rows.length || c < 0 || c >= grid.columns.length) return null;
  return { row: grid.rows[r], col: c, x, y };
}

function onMove(event) {
  const hit = cellAt(event);
  canvas.style.cursor = hit ? "pointer" : "default";
  if (!hit) { tip.style.display = "none"; return; }
  const start = grid.columns[hit.col];
  const n = hit.row.cells[hit.col];
  const lines = [
    `${grid.by}: ${hit.row.key}`,
    `${shortTime(iso(start))} – ${shortTime(iso(start + grid.bucketMs))}`,
    `${count(n)} records`,
  ];
  if (grid.measure === "rate") {
    const e = hit.row.errors[hit.col] || 0;
    lines.push(`${count(e)} error+ · rate ${n ? ((100 * e) / n).toFixed(1) : "0"}%`);
  }
  replace(tip, lines.map((line) => el("div", {}, line)));
  tip.style.display = "block";
  const wrap = canvas.parentElement;
  // The tip lives in the wrap (position: relative): offset by where the canvas sits in it.
  const x = canvas.offsetLeft + hit.x;
  const left = x + 14 + tip.offsetWidth < wrap.clientWidth ? x + 14 : x - tip.offsetWidth - 14;
  tip.style.left = Math.max(0, left) + "px";
  tip.style.top = canvas.offsetTop + hit.y + 14 + "px";
}

function onClick(event) {
  const hit = cellAt(event);
  if (!hit) return;
  const since = grid.columns[hit.col];
  emit("open-records", { query: combine(term(grid.by, hit.row.key), state.query), since, until: since + grid.bucketMs });
}

/** One 10 s timer while shown and live; skipped while the previous fetch is running. */
function syncTimer() {
  const want = shown && timeWindow().live;
  if (want && !timer) timer = setInterval(() => { if (!loading) refresh(); }, LIVE_MS);
  else if (!want && timer) {
    clearInterval(timer);
    timer = null;
  }
}

function mount(node) {
  root = node;
  byField = el("select", { "aria-label": "Rows", onchange: () => refresh() },
    el("option", { value: "service" }, "by service"), el("option", { value: "level" }, "by level"),
    el("option", { value: "category" }, "by category"));
  measure = el("select", { "aria-label": "Shade", onchange: () => refresh() },
    el("option", { value: "volume" }, "volume"), el("option", { value: "rate" }, "error rate"));
  note = el("span", { class: "muted" });
  canvas = el("canvas", { "aria-label": "Records per service (or level) and time bucket", style: { display: "block" },
    onmousemove: onMove, onmouseleave: () => { tip.style.display = "none"; }, onclick: onClick });
  tip = el("div", { style: { position: "absolute", display: "none", pointerEvents: "none", zIndex: "5",
    background: "var(--bg-raised)", color: "var(--fg)", border: "1px solid var(--border)", borderRadius: "4px",
    padding: "4px 6px", fontSize: "11px", whiteSpace: "nowrap" } });
  const wrap = el("div", { class: "scroll", style: { position: "relative", padding: "6px 10px" } }, canvas, tip);
  root.append(el("div", { class: "toolbar" }, byField, measure, el("span", { class: "grow" }), note), wrap);
  on("range", () => { if (shown) { syncTimer(); refresh(); } });
  on("query", () => { if (shown) refresh(); });
  on("theme", () => draw());
  on("resize", () => draw());
}

register({
  id: "heatmap",
  title: "Heatmap",
  mount,
  show() {
    shown = true;
    syncTimer();
    refresh();
  },
  hide() {
    shown = false;
    seq++; // an answer still on its way is dropped
    loading = false;
    syncTimer();
    tip.style.display = "none";
  },
});
