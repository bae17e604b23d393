// The dashboard's entry: header controls, tabs, keyboard shortcuts, the command palette and the
// token prompt. The views are in their own modules and meet only through state.js.

import { onUnauthorized, setToken, token } from "./api.js";
import { el, replace } from "./dom.js";
import { panes } from "./panes.js";
import { emit, on, setQuery, setRange, state, timeWindow } from "./state.js";
import { initTimeline } from "./timeline.js";
import "./stream.js";
import "./search.js";
import "./patterns.js";
import "./incidents.js";
import "./heatmap.js";
import "./diff.js";
import "./replay.js";
import "./bookmarks.js";

const $ = (id) => document.getElementById(id);
let active = null;
const roots = new Map();

function choose(id) {
  const pane = panes.find((p) => p.id === id) || panes[0];
  if (active === pane) return;
  if (active) {
    active.hide?.();
    roots.get(active.id).hidden = true;
  }
  active = pane;
  roots.get(pane.id).hidden = false;
  for (const button of $("tabs").children) button.setAttribute("aria-selected", String(button.dataset.tab === pane.id));
  history.replaceState(null, "", "#" + pane.id);
  pane.show?.();
}

function buildTabs() {
  panes.forEach((pane, index) => {
    const root = el("section", { class: "pane", "data-pane": pane.id, role: "tabpanel", hidden: true });
    $("panes").append(root);
    roots.set(pane.id, root);
    pane.mount(root);
    $("tabs").append(
      el("button", { type: "button", role: "tab", "data-tab": pane.id, onclick: () => choose(pane.id) },
        pane.title, index < 9 ? el("kbd", {}, String(index + 1)) : null),
    );
  });
  const wanted = location.hash.slice(1);
  choose(panes.some((p) => p.id === wanted) ? wanted : panes[0].id);
  on("open-pane", (id) => choose(id));
}

function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
  localStorage.setItem("loglens.theme", theme);
  emit("theme", theme);
}

function setPaused(paused) {
  state.paused = paused;
  $("pause").setAttribute("aria-pressed", String(paused));
  $("pause").textContent = paused ? "Resume" : "Pause";
  emit("paused", paused);
}

const COMMANDS = [
  { name: "Focus the filter", key: "/", run: () => $("filter").focus() },
  { name: "Pause or resume the live stream", key: "space", run: () => setPaused(!state.paused) },
  { name: "Show or hide the timeline", key: "t", run: () => toggleTimeline() },
  { name: "Show or hide host metrics", key: "m", run: () => emit("toggle-metrics") },
  { name: "Incidents and alerts", key: "a", run: () => choose("incidents") },
  { name: "Back to the last hour (live)", key: "", run: () => resetRange("1h") },
  { name: "Last 15 minutes", key: "", run: () => resetRange("15m") },
  { name: "Last 24 hours", key: "", run: () => resetRange("24h") },
  { name: "Dark theme", key: "", run: () => chooseTheme("dark") },
  { name: "Light theme", key: "", run: () => chooseTheme("light") },
  { name: "High-contrast theme", key: "", run: () => chooseTheme("contrast") },
  { name: "System theme", key: "", run: () => chooseTheme("") },
];

function chooseTheme(theme) {
  $("theme").value = theme;
  applyTheme(theme);
}

function resetRange(name) {
  $("range").value = name;
  setRange({ relative: name });
}

function toggleTimeline() {
  const wrap = $("timeline-wrap");
  wrap.hidden = !wrap.hidden;
  emit("resize");
}

function paletteCommands() {
  return [...panes.map((p, i) => ({ name: `Go to ${p.title}`, key: i < 9 ? String(i + 1) : "", run: () => choose(p.id) })), ...COMMANDS];
}

function openPalette() {
  const box = $("palette");
  const input = $("palette-input");
  const list = $("palette-list");
  let index = 0;
  let shown = [];
  const render = () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    shown = paletteCommands().filter((c) => words.every((w) => c.name.toLowerCase().includes(w)));
    index = Math.min(index, Math.max(shown.length - 1, 0));
    replace(list, shown.map((c, i) =>
      el("li", { class: i === index ? "active" : "", role: "option", onclick: () => run(c) }, c.name, c.key ? el("kbd", {}, c.key) : null)));
  };
  const close = () => {
    box.hidden = true;
    input.onkeydown = null;
  };
  const run = (command) => {
    close();
    command.run();
  };
  input.oninput = () => { index = 0; render(); };
  input.onkeydown = (event) => {
    if (event.key === "Escape") close();
    else if (event.key === "ArrowDown") { index = Math.min(index + 1, shown.length - 1); render(); event.preventDefault(); }
    else if (event.key === "ArrowUp") { index = Math.max(index - 1, 0); render(); event.preventDefault(); }
    else if (event.key === "Enter" && shown[index]) run(shown[index]);
  };
  box.onclick = (event) => { if (event.target === box) close(); };
  input.value = "";
  box.hidden = false;
  render();
  input.focus();
}

let lastG = 0;
function onKey(event) {
  if (event.key === "k" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    openPalette();
    return;
  }
  const typing = event.target.closest("input, textarea, select, [contenteditable]");
  if (typing) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key;
  if (key === "/") { event.preventDefault(); $("filter").focus(); $("filter").select(); }
  else if (key === " ") { event.preventDefault(); setPaused(!state.paused); }
  else if (key === "t") toggleTimeline();
  else if (key === "m") emit("toggle-metrics");
  else if (key === "a") choose("incidents");
  else if (/^[1-9]$/.test(key) && panes[Number(key) - 1]) choose(panes[Number(key) - 1].id);
  else if (key === "j" || key === "k" || key === "G" || key === "Enter") active?.onKey?.(key);
  else if (key === "g") {
    const now = Date.now();
    if (now - lastG < 600) { active?.onKey?.("gg"); lastG = 0; } else lastG = now;
  }
}

/** `?since=…&until=…&q=…` in the address opens that range and filter (a link to share a view). */
function fromAddress() {
  const params = new URLSearchParams(location.search);
  const since = Date.parse(params.get("since") || "");
  const until = Date.parse(params.get("until") || "");
  if (!Number.isNaN(since) && !Number.isNaN(until) && until > since) {
    state.range = { since, until };
    $("range").value = "fixed";
    $("range").querySelector('option[value="fixed"]').hidden = false;
  }
  if (params.get("q")) {
    state.query = params.get("q");
    $("filter").value = state.query;
  }
}

function init() {
  token(); // takes `#token=…` from the address before the views use the hash for themselves
  const theme = localStorage.getItem("loglens.theme") || "";
  $("theme").value = theme;
  applyTheme(theme);
  $("theme").onchange = () => applyTheme($("theme").value);
  $("filter").addEventListener("keydown", (event) => {
    if (event.key === "Enter") setQuery($("filter").value.trim());
  });
  $("filter").addEventListener("search", () => setQuery($("filter").value.trim()));
  on("query", (text) => { if ($("filter").value.trim() !== text) $("filter").value = text; });
  $("range").onchange = () => { if ($("range").value !== "fixed") setRange({ relative: $("range").value }); };
  on("range", (range) => {
    if (!range.live) {
      $("range").value = "fixed";
      $("range").querySelector('option[value="fixed"]').hidden = false;
    }
  });
  $("pause").onclick = () => setPaused(!state.paused);
  $("help").onclick = openPalette;
  document.addEventListener("keydown", onKey);
  on("status", ({ text, bad }) => {
    $("status").textContent = text;
    $("status").classList.toggle("bad", Boolean(bad));
  });
  onUnauthorized(() => {
    const dialog = $("token-dialog");
    if (dialog.open) return;
    dialog.showModal();
    dialog.onclose = () => {
      setToken($("token-input").value.trim());
      location.reload();
    };
  });
  fromAddress();
  initTimeline({ canvas: $("timeline"), metrics: $("hostmetrics"), legend: $("timeline-legend") });
  buildTabs();
  window.addEventListener("resize", () => emit("resize"));
  emit("range", timeWindow());
}

init();
