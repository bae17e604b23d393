// The live stream: the last records of the range, then every new one as the daemon stores it
// (WebSocket, batched), filtered by the filter box. Redrawn at most 10 times a second whatever the
// rate; paused, it keeps counting what arrives and shows it on resume.

import { api, live } from "./api.js";
import { el, replace } from "./dom.js";
import { count, iso } from "./format.js";
import { register } from "./panes.js";
import { recordRow, showDetail } from "./records.js";
import { emit, on, state, timeWindow } from "./state.js";
import { queryTerms } from "./text.js";
import { VirtualList } from "./vlist.js";

const BACKLOG = 500;
const RANGE_LIMIT = 2000; // the last records of a zoomed range (Search pages through more)
const PAUSED_LIMIT = 50000;

const pane = {
  id: "live",
  title: "Live",
  list: null,
  detail: null,
  info: null,
  channel: null,
  held: [],
  missed: 0,
  received: 0,
  rateWindow: [],
  described: 0,
  generation: 0,

  mount(root) {
    this.info = el("span", { class: "muted", "data-role": "live-info" }, "");
    const follow = el("button", { type: "button", title: "Jump to the newest (G)", onclick: () => this.list.key("G") }, "Newest ↓");
    root.append(el("div", { class: "toolbar" }, this.info, el("span", { class: "grow" }), follow));
    const body = el("div", { style: { display: "flex", flexDirection: "column", flex: "1", minHeight: "0" } });
    root.append(body);
    this.list = new VirtualList(body, (record) => recordRow(record, queryTerms(state.query)), {
      limit: 50000,
      minIntervalMs: 100,
      onSelect: (record) => showDetail(this.detail, record),
    });
    this.detail = el("div", { class: "detail", hidden: true, "data-role": "detail" });
    body.append(this.detail);
    on("query", () => this.restart());
    on("range", (range) => { if (!range.live || !this.channel) this.restart(); });
    on("paused", (paused) => { if (!paused) this.release(); this.describe(); });
    setInterval(() => this.describe(), 1000);
    this.restart();
  },

  /** The records of the range (or the last ones), then live ones when the range is live. */
  async restart() {
    const generation = ++this.generation;
    this.channel?.close();
    this.channel = null;
    this.held = [];
    this.missed = 0;
    const range = timeWindow();
    const params = { q: state.query, limit: range.live ? BACKLOG : RANGE_LIMIT };
    if (!range.live) Object.assign(params, { since: iso(range.since), until: iso(range.until) });
    try {
      const found = await api("/api/logs", params);
      if (generation !== this.generation) return;
      this.list.set(found.records);
      this.describe();
      emit("status", { text: range.live ? "live" : "showing the zoomed range (double-click the timeline for live)" });
    } catch (err) {
      emit("status", { text: err.message, bad: true });
      this.list.set([]);
      return;
    }
    if (!range.live) return;
    this.channel = live({ q: state.query }, (message) => this.receive(message), (st, reason) => {
      if (st === "open") emit("status", { text: "live" });
      else if (st === "error") emit("status", { text: `filter refused: ${reason}`, bad: true });
      else emit("status", { text: "reconnecting…", bad: true });
    });
  },

  receive(message) {
    if (message.type === "records") {
      this.received += message.records.length;
      this.rateWindow.push([performance.now(), message.records.length]);
      if (state.paused) {
        this.held.push(...message.records);
        if (this.held.length > PAUSED_LIMIT) {
          this.missed += this.held.length - PAUSED_LIMIT;
          this.held.splice(0, this.held.length - PAUSED_LIMIT);
        }
      } else this.list.push(message.records);
      if (performance.now() - this.described > 250) this.describe(); // the count follows the rows
    } else if (message.type === "missed") {
      this.missed += message.missed;
    } else if (message.type === "incident" || message.type === "anomaly" || message.type === "alert") {
      emit("live-event", message);
    }
  },

  release() {
    if (this.held.length) this.list.push(this.held);
    this.held = [];
  },

  describe() {
    const now = performance.now();
    this.described = now;
    this.rateWindow = this.rateWindow.filter(([t]) => now - t < 5000);
    const rate = this.rateWindow.reduce((sum, [, n]) => sum + n, 0) / 5;
    const parts = [`${count(this.list.length)} records`, `${count(Math.round(rate))} lines/s`];
    if (state.paused) parts.push(`paused: ${count(this.held.length)} new`);
    if (this.missed) parts.push(`${count(this.missed)} missed (too fast to keep)`);
    replace(this.info, parts.join(" · "));
    this.info.dataset.held = String(this.held.length);
  },

  show() {},
  hide() {},
  onKey(key) {
    if (key === "Enter" && this.list.selected >= 0) showDetail(this.detail, this.list.items[this.list.selected]);
    else this.list.key(key);
  },
};

register(pane);
