// The Diff pane: two time ranges, A and B, compared by template — what is new in B, what is gone
// since A, and what changed in frequency (as `loglens diff`). A template opens the live stream on it.

import { api } from "./api.js";
import { el, replace } from "./dom.js";
import { count, fromInputValue, iso, levelClass, shortTime, toInputValue } from "./format.js";
import { register } from "./panes.js";
import { emit, on, setQuery, timeWindow } from "./state.js";
import { richText } from "./text.js";

const HOUR = 3600e3;
const DAY = 24 * HOUR;
const TOP = 50;

const view = {
  root: null, inputs: null, status: null, body: null,
  shown: false, stale: true,
  touched: false, // the user set the ranges: a new range on the timeline no longer resets them
  seq: 0,
};


function mount(root) {
  view.root = root;
  const input = (label) => el("input", { type: "datetime-local", step: "1", "aria-label": label, onchange: () => { view.touched = true; } });
  view.inputs = { a0: input("A from (UTC)"), a1: input("A to (UTC)"), b0: input("B from (UTC)"), b1: input("B to (UTC)") };
  view.status = el("span", { class: "muted" });
  view.body = el("div", { class: "scroll", style: { padding: "0 10px" } });
  const side = (name, from, to) => el("span", { style: { display: "inline-flex", gap: "4px", alignItems: "center" } },
    el("strong", {}, name), from, "→", to);
  root.append(
    el("div", { class: "toolbar" },
      side("A", view.inputs.a0, view.inputs.a1),
      side("B", view.inputs.b0, view.inputs.b1),
      el("span", { class: "muted" }, "UTC"),
      el("button", { type: "button", onclick: () => run() }, "Compare"),
      el("button", { type: "button", title: "A: the hour before B; B: the last hour of the range", onclick: () => { quickHours(); run(); } },
        "Previous hour vs this hour"),
      el("button", { type: "button", title: "A: B's range a day earlier", onclick: () => { quickYesterday(); run(); } },
        "Same range yesterday"),
      el("span", { class: "grow" }), view.status),
    view.body);
  root.dataset.rows = "0";
  // A new range moves the default comparison along with it, unless the user chose the ranges.
  on("range", () => {
    if (view.touched) return;
    if (view.shown) { defaults(); run(); } else view.stale = true;
  });
}

function setInputs(a0, a1, b0, b1) {
  view.inputs.a0.value = toInputValue(a0);
  view.inputs.a1.value = toInputValue(a1);
  view.inputs.b0.value = toInputValue(b0);
  view.inputs.b1.value = toInputValue(b1);
}

/** B: the last hour of the current range; A: the hour before it. */
function defaults() {
  const end = timeWindow().until;
  setInputs(end - 2 * HOUR, end - HOUR, end - HOUR, end);
}

function quickHours() {
  view.touched = true;
  defaults();
}

/** A: B's range one day earlier (B stays, or is the default when unset). */
function quickYesterday() {
  view.touched = true;
  let b0 = fromInputValue(view.inputs.b0.value);
  let b1 = fromInputValue(view.inputs.b1.value);
  if (b0 === null || b1 === null || !(b0 < b1)) {
    const end = timeWindow().until;
    [b0, b1] = [end - HOUR, end];
  }
  setInputs(b0 - DAY, b1 - DAY, b0, b1);
}

function show() {
  view.shown = true;
  if (view.stale) {
    view.stale = false;
    if (!view.touched || !view.inputs.b1.value) defaults();
    run();
  }
}

function hide() {
  view.shown = false;
}

/** The two sides as the API's START..END ranges, or an error sentence. */
function ranges() {
  const [a0, a1, b0, b1] = ["a0", "a1", "b0", "b1"].map((k) => fromInputValue(view.inputs[k].value));
  if (![a0, a1, b0, b1].every(Number.isFinite)) return { error: "Give both ends of both ranges." };
  if (!(a0 < a1)) return { error: "A must end after it starts." };
  if (!(b0 < b1)) return { error: "B must end after it starts." };
  return { a: `${iso(a0)}..${iso(a1)}`, b: `${iso(b0)}..${iso(b1)}` };
}

async function run() {
  view.stale = false;
  const seq = ++view.seq;
  const wanted = ranges();
  if (wanted.error) {
    fail(wanted.error);
    return;
  }
  view.status.textContent = "comparing…";
  try {
    const found = await api("/api/diff", { a: wanted.a, b: wanted.b, top: TOP });
    if (seq === view.seq) render(found);
  } catch (err) {
    if (seq === view.seq) fail(err.message);
  }
}

function fail(message) {
  view.status.textContent = "";
  view.root.dataset.rows = "0";
  replace(view.body, el("p", { class: "error-text" }, message));
}

function render(found) {
  const totals = found.totals || {};
  const lists = { new: found.new || [], gone: found.gone || [], changed: found.changed || [] };
  view.root.dataset.rows = String(lists.new.length + lists.gone.length + lists.changed.length);
  view.status.textContent = `${count(found.a?.records)} → ${count(found.b?.records)} records`;
  replace(view.body,
    el("p", { class: "muted" },
      `A: ${shortTime(found.a?.since)} → ${shortTime(found.a?.until)} (${count(found.a?.records)} records) · `,
      `B: ${shortTime(found.b?.since)} → ${shortTime(found.b?.until)} (${count(found.b?.records)} records)`),
    section("New in B", "not seen in A", lists.new, totals.new, false),
    section("Gone from B", "seen in A only", lists.gone, totals.gone, false),
    section("Changed", "frequency moved between A and B", lists.changed, totals.changed, true));
}

/** One list as a table: template, service, level, counts A → B (and the ratio for "changed"). */
function section(title, hint, rows, total, ratio) {
  const heading = el("h3", { style: { margin: "12px 0 4px", fontSize: "13px" } },
    title, " ", el("span", { class: "muted", style: { fontWeight: "normal" } },
      `(${rows.length < (total ?? rows.length) ? `top ${rows.length} of ${total}` : rows.length}; ${hint})`));
  if (!rows.length) return el("div", {}, heading, el("p", { class: "muted" }, "None."));
  const head = ["Template", "Service", "Level", "A → B"].concat(ratio ? ["Ratio"] : []);
  return el("div", {}, heading,
    el("table", { class: "grid" },
      el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.map((row) =>
        el("tr", { class: "clickable", "data-template": row.template_id, title: "Show these lines live", onclick: () => open(row) },
          el("td", { class: "mono" }, richText(row.template)),
          el("td", {}, row.service || ""),
          el("td", { class: levelClass(row.level) }, row.level || ""),
          el("td", { style: { whiteSpace: "nowrap" } }, `${count(row.a)} → ${count(row.b)}`),
          ratio ? el("td", {}, row.ratio == null ? "—" : "×" + Number(row.ratio).toFixed(2)) : null)))));
}

/** The live stream, filtered to this template. */
function open(row) {
  setQuery("template:" + row.template_id);
  emit("open-pane", "live");
}

register({ id: "diff", title: "Diff", mount, show, hide });
