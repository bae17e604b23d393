// Notes and bookmarks: left on a time range or a record by anyone using this loglens, stored by the
// daemon (/api/annotations) and shown here and on the timeline.

import { api } from "./api.js";
import { el, replace } from "./dom.js";
import { iso, shortTime } from "./format.js";
import { register } from "./panes.js";
import { emit, on, setRange, timeWindow } from "./state.js";
import { richText } from "./text.js";

const pane = {
  id: "notes",
  title: "Notes",

  mount(root) {
    this.text = el("input", { type: "text", placeholder: "A note on the current time range", style: { flex: "1 1 240px" }, "aria-label": "Note" });
    this.text.addEventListener("keydown", (event) => { if (event.key === "Enter") this.add(); });
    this.info = el("span", { class: "muted" });
    root.append(el("div", { class: "toolbar" }, this.text, el("button", { type: "button", onclick: () => this.add() }, "Add note"), this.info));
    this.table = el("table", { class: "grid" });
    root.append(el("div", { class: "scroll" }, this.table));
    on("range", () => this.refresh());
    on("annotations-changed", () => this.refresh());
  },

  async refresh() {
    const range = timeWindow();
    try {
      const found = await api("/api/annotations", { since: iso(range.since), until: iso(range.until) });
      replace(this.table, el("tr", {}, ["when", "kind", "service", "note", "by", ""].map((h) => el("th", {}, h))),
        found.map((a) => el("tr", { class: "clickable", "data-id": String(a.id), onclick: (event) => { if (event.target.tagName !== "BUTTON") this.open(a); } },
          el("td", { class: "mono" }, shortTime(a.since), a.until ? ` → ${shortTime(a.until)}` : ""),
          el("td", {}, a.kind), el("td", {}, a.service || ""), el("td", {}, richText(a.text)), el("td", { class: "muted" }, a.author || ""),
          el("td", {}, el("button", { type: "button", title: "Remove", onclick: () => this.remove(a.id) }, "✕")))));
      replace(this.info, `${found.length} in this range`);
      this.table.dataset.rows = String(found.length);
    } catch (err) {
      replace(this.info, el("span", { class: "error-text" }, err.message));
    }
  },

  /** Zooms every view to the annotation (a minute either side of a moment). */
  open(a) {
    const since = Date.parse(a.since);
    const until = a.until ? Date.parse(a.until) : since;
    setRange({ since: since - 60000, until: until + 60000 });
    emit("open-records", { query: a.service ? `service:${a.service}` : "", since: since - 60000, until: until + 60000 });
  },

  async add() {
    const text = this.text.value.trim();
    if (!text) return;
    const range = timeWindow();
    try {
      await api("/api/annotations", {}, { method: "POST", json: { since: iso(range.since), until: iso(range.until), text, kind: "note" } });
      this.text.value = "";
      emit("annotations-changed");
    } catch (err) {
      replace(this.info, el("span", { class: "error-text" }, err.message));
    }
  },

  async remove(id) {
    try {
      await api(`/api/annotations/${id}`, {}, { method: "DELETE" });
      emit("annotations-changed");
    } catch (err) {
      replace(this.info, el("span", { class: "error-text" }, err.message));
    }
  },

  show() {
    this.refresh();
  },
  hide() {},
};

register(pane);
