// Search: the query language over a time range (the header's, or typed here), results with the
// words searched for marked, and saved searches (kept in this browser).

import { api } from "./api.js";
import { el, replace } from "./dom.js";
import { count, fromInputValue, iso, toInputValue } from "./format.js";
import { register } from "./panes.js";
import { recordRow, showDetail } from "./records.js";
import { emit, on, state, timeWindow } from "./state.js";
import { queryTerms } from "./text.js";
import { VirtualList } from "./vlist.js";

const SAVED_KEY = "loglens.saved-searches";
const LIMIT = 5000;

function saved() {
  try {
    return JSON.parse(localStorage.getItem(SAVED_KEY) || "[]");
  } catch {
    return [];
  }
}


const pane = {
  id: "search",
  title: "Search",
  terms: [],

  mount(root) {
    this.query = el("input", { type: "search", placeholder: "query, e.g. level:>=error timeout", class: "mono", style: { flex: "1 1 240px" }, "aria-label": "Search query" });
    this.from = el("input", { type: "datetime-local", step: "1", "aria-label": "From (UTC)" });
    this.to = el("input", { type: "datetime-local", step: "1", "aria-label": "To (UTC)" });
    this.savedList = el("select", { "aria-label": "Saved searches", onchange: () => this.useSaved() });
    this.info = el("span", { class: "muted", "data-role": "search-info" });
    this.query.addEventListener("keydown", (event) => { if (event.key === "Enter") this.run(); });
    // Typed times win over the header's range until the range changes again; a live range is read
    // when the search runs (its end is "now", not when the page was opened).
    this.typed = false;
    for (const input of [this.from, this.to]) input.addEventListener("change", () => { this.typed = true; });
    root.append(el("div", { class: "toolbar" }, this.query, "from", this.from, "to", this.to,
      el("button", { type: "button", onclick: () => this.run() }, "Search"),
      el("button", { type: "button", onclick: () => this.save() }, "Save"), this.savedList, this.info));
    const body = el("div", { style: { display: "flex", flexDirection: "column", flex: "1", minHeight: "0" } });
    root.append(body);
    this.list = new VirtualList(body, (r) => recordRow(r, this.terms), { limit: LIMIT, onSelect: (r) => showDetail(this.detail, r) });
    this.detail = el("div", { class: "detail", hidden: true });
    body.append(this.detail);
    this.fillSaved();
    on("range", (range) => {
      this.typed = false;
      this.from.value = toInputValue(range.since);
      this.to.value = toInputValue(range.until);
    });
    on("open-records", ({ query, since, until }) => {
      this.query.value = query || "";
      if (since) this.from.value = toInputValue(since);
      if (until) this.to.value = toInputValue(until);
      this.typed = Boolean(since || until);
      emit("open-pane", "search");
      this.run();
    });
    const range = timeWindow();
    this.from.value = toInputValue(range.since);
    this.to.value = toInputValue(range.until);
  },

  async run() {
    const q = this.query.value.trim();
    this.terms = queryTerms(q);
    let since = fromInputValue(this.from.value);
    let until = fromInputValue(this.to.value);
    const range = timeWindow();
    if (!this.typed) {
      since = range.since;
      until = range.live ? null : range.until; // live: up to now, whenever the search runs
      this.from.value = toInputValue(range.since);
      this.to.value = toInputValue(range.until);
    }
    replace(this.info, "searching…");
    try {
      const found = await api("/api/logs", { q, since: since && iso(since), until: until && iso(until), limit: LIMIT });
      this.list.set(found.records);
      this.list.follow = false;
      this.list.root.scrollTop = 0;
      const more = found.count >= LIMIT ? ` (the last ${count(LIMIT)}; narrow the range for the rest)` : "";
      replace(this.info, `${count(found.count)} records${more}`);
      this.info.dataset.count = String(found.count);
    } catch (err) {
      replace(this.info, el("span", { class: "error-text" }, err.message));
    }
  },

  save() {
    const q = this.query.value.trim();
    if (!q) return;
    const name = prompt("Name this search", q);
    if (!name) return;
    const all = saved().filter((s) => s.name !== name);
    all.push({ name, query: q });
    localStorage.setItem(SAVED_KEY, JSON.stringify(all));
    this.fillSaved();
  },

  fillSaved() {
    replace(this.savedList, el("option", { value: "" }, "Saved searches…"),
      saved().map((s, i) => el("option", { value: String(i) }, s.name)));
  },

  useSaved() {
    const chosen = saved()[Number(this.savedList.value)];
    if (!chosen) return;
    this.query.value = chosen.query;
    this.savedList.value = "";
    this.run();
  },

  show() {
    // Not focused: the number keys must still switch views (`/` goes to the filter box).
    if (!this.query.value && state.query) this.query.value = state.query;
  },
  hide() {},
  onKey(key) {
    this.list.key(key);
  },
};

register(pane);
