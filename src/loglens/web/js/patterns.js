// The Patterns pane: the busiest templates of the current range, each with its share, trend, level,
// first/last seen and a sparkline of its hits. A row opens the live stream filtered to its template.

import { api } from "./api.js";
import { el, replace } from "./dom.js";
import { bucketFor, compact, count, iso, levelClass, shortTime } from "./format.js";
import { movedSelection, register, ShownRefresh } from "./panes.js";
import { emit, on, setQuery, timeWindow } from "./state.js";
import { richText } from "./text.js";

const TOP = 50;
const SPARK_W = 100;
const SPARK_H = 18;
const SVG = "http://www.w3.org/2000/svg";
const TREND_ARROW = { Rising: "↑", Declining: "↓", Stable: "→" };

const view = {
  root: null,
  service: null, // the toolbar's <select>
  status: null,
  body: null,
  rows: [], // the patterns shown, in table order
  trs: [],
  selected: -1,
  seq: 0, // the latest request; older answers are dropped
  services: new Set(),
};

function mount(root) {
  view.root = root;
  view.service = el("select", { "aria-label": "Service", onchange: () => load() }, el("option", { value: "" }, "All services"));
  view.status = el("span", { class: "muted" });
  view.body = el("div", { class: "scroll" });
  root.append(
    el("div", { class: "toolbar" },
      view.service,
      el("button", { type: "button", onclick: () => load(), title: "Reload the patterns" }, "Refresh"),
      el("span", { class: "grow" }),
      view.status),
    view.body,
  );
  root.dataset.rows = "0";
  // A zoom or a new filter means a new question: reload now if shown, else once shown again.
  on("range", () => refresh.changed());
  on("query", () => refresh.changed());
}

const refresh = new ShownRefresh(() => load());
const show = () => refresh.show();
const hide = () => refresh.hide();

/** Fetches patterns, the previous period's templates (for "new") and the sparkline counts together. */
async function load() {
  const seq = ++view.seq;
  const { since, until } = timeWindow();
  const service = view.service.value || undefined;
  const span = Math.max(until - since, 1000);
  const bucket = bucketFor(span, 40);
  view.status.textContent = "loading…";
  const [patterns, before, stats] = await Promise.allSettled([
    api("/api/patterns", { since: iso(since), until: iso(until), service, top: TOP }),
    // The same span just before the range: a template absent there is new in this range.
    api("/api/patterns", { since: iso(since - span), until: iso(since), service, top: 10000 }),
    api("/api/stats", { since: iso(since), until: iso(until), bucket: bucket.text, by: "template", service }),
  ]);
  if (seq !== view.seq) return; // a newer load is under way
  if (patterns.status === "rejected") {
    view.status.textContent = "";
    view.rows = [];
    view.trs = [];
    view.root.dataset.rows = "0";
    replace(view.body, el("p", { class: "error-text", style: { padding: "0 10px" } }, patterns.reason?.message || "could not load patterns"));
    return;
  }
  const rows = Array.isArray(patterns.value) ? patterns.value : [];
  const known = before.status === "fulfilled" && Array.isArray(before.value) ? new Set(before.value.map((p) => p.template_id)) : null;
  const series = stats.status === "fulfilled" ? sparkSeries(stats.value, since, until) : null;
  noteServices(rows);
  render(rows, { since, until, span, known, series });
}

/** Adds newly seen services to the select (kept across loads so a filtered view can go back). */
function noteServices(rows) {
  let added = false;
  for (const row of rows) {
    if (row.service && !view.services.has(row.service)) {
      view.services.add(row.service);
      added = true;
    }
  }
  if (!added) return;
  const chosen = view.service.value;
  replace(view.service,
    el("option", { value: "" }, "All services"),
    [...view.services].sort().map((s) => el("option", { value: s }, s)));
  view.service.value = chosen;
}

/** A template is new when the previous period lacked it, or — with nothing before the range to
 * compare with — when it first showed up after the range's first tenth. */
function isNew(row, ctx) {
  if (ctx.known && ctx.known.size) return !ctx.known.has(row.template_id);
  const first = Date.parse(row.first);
  return Number.isFinite(first) && first >= ctx.since + ctx.span * 0.1 && first < ctx.until;
}

function render(rows, ctx) {
  view.rows = rows;
  view.root.dataset.rows = String(rows.length);
  view.status.textContent = `${rows.length} template${rows.length === 1 ? "" : "s"}`;
  if (!rows.length) {
    view.trs = [];
    view.selected = -1;
    replace(view.body, el("p", { class: "muted", style: { padding: "0 10px" } }, "No records in this range."));
    return;
  }
  view.trs = rows.map((row, index) => patternRow(row, index, ctx));
  replace(view.body,
    el("table", { class: "grid" },
      el("thead", {}, el("tr", {},
        ["Template", "Service", "Count", "Share", "Trend", "Level", "First seen", "Last seen", "Hits"].map((h) => el("th", {}, h)))),
      el("tbody", {}, view.trs)));
  select(Math.min(Math.max(view.selected, 0), rows.length - 1), false);
}

function patternRow(row, index, ctx) {
  const fresh = isNew(row, ctx);
  return el("tr", { class: "clickable", "data-template": row.template_id, onclick: () => { select(index, false); open(row); } },
    el("td", { class: "mono", title: row.sample || "" },
      fresh ? el("span", { class: "badge", style: { color: "var(--accent)", marginRight: "6px" } }, "new") : null,
      richText(row.template)),
    el("td", {}, row.service || ""),
    el("td", { title: count(row.count) }, compact(row.count)),
    el("td", {}, ((row.share || 0) * 100).toFixed(1) + "%"),
    el("td", { title: row.trend || "" }, `${TREND_ARROW[row.trend] || ""} ${row.trend || ""}`.trim()),
    el("td", { class: levelClass(row.level) }, row.level || ""),
    el("td", { class: "muted" }, shortTime(row.first)),
    el("td", { class: "muted" }, shortTime(row.last)),
    el("td", {}, ctx.series ? sparkline(ctx.series.get(row.template_id), row.level) : null),
  );
}

/** Per template, its hits per bucket over the range (zeros where the API has no bucket). */
function sparkSeries(stats, since, until) {
  const size = Number(stats?.bucket_ms);
  if (!size || !Array.isArray(stats.buckets)) return null;
  const base = Math.floor(since / size) * size; // the API aligns buckets to the epoch
  const length = Math.max(1, Math.floor((until - 1 - base) / size) + 1);
  const series = new Map();
  for (const bucket of stats.buckets) {
    const index = Math.floor((Date.parse(bucket.start) - base) / size);
    if (!(index >= 0 && index < length)) continue;
    for (const [id, n] of Object.entries(bucket.counts || {})) {
      if (!series.has(id)) series.set(id, new Array(length).fill(0));
      series.get(id)[index] = n;
    }
  }
  return series;
}

/** An inline SVG polyline of `values`, scaled to its own maximum (the shape matters, not the size). */
function sparkline(values, level) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", String(SPARK_W));
  svg.setAttribute("height", String(SPARK_H));
  svg.setAttribute("viewBox", `0 0 ${SPARK_W} ${SPARK_H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("class", levelClass(level));
  svg.setAttribute("aria-hidden", "true");
  svg.style.display = "block";
  if (!values || !values.length) return svg;
  const max = Math.max(...values, 1);
  const step = values.length > 1 ? SPARK_W / (values.length - 1) : 0;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(SPARK_H - 1 - (v / max) * (SPARK_H - 2)).toFixed(1)}`);
  if (values.length === 1) points.push(`${SPARK_W},${points[0].split(",")[1]}`);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", points.join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "currentColor"); // the level's colour, from the svg's class
  line.setAttribute("stroke-width", "1.2");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.append(line);
  return svg;
}

/** Marks row `index` as the keyboard selection (and scrolls it into view when asked). */
function select(index, scroll = true) {
  if (!view.trs.length) return;
  const next = Math.min(Math.max(index, 0), view.trs.length - 1);
  view.trs[view.selected]?.removeAttribute("aria-selected");
  if (view.trs[view.selected]) view.trs[view.selected].style.background = "";
  view.selected = next;
  const tr = view.trs[next];
  tr.setAttribute("aria-selected", "true");
  tr.style.background = "var(--bg-hover)";
  if (scroll) tr.scrollIntoView({ block: "nearest" });
}

/** The live stream, filtered to this template. */
function open(row) {
  setQuery("template:" + row.template_id);
  emit("open-pane", "live");
}

function onKey(key) {
  if (!view.trs.length) return;
  const next = movedSelection(key, view.selected, view.trs.length);
  if (next !== null) select(next);
  else if (key === "Enter" && view.rows[view.selected]) open(view.rows[view.selected]);
}

register({ id: "patterns", title: "Patterns", mount, show, hide, onKey });
