// Replay: pick a past moment and play the stream from there at 0.5–10× its real pace, with a
// scrubber over the window. Records are fetched a page at a time ahead of the playhead.

import { api } from "./api.js";
import { el, replace } from "./dom.js";
import { count, fromInputValue, iso, toInputValue } from "./format.js";
import { register } from "./panes.js";
import { recordRow, showDetail } from "./records.js";
import { state, timeWindow } from "./state.js";
import { VirtualList } from "./vlist.js";

const PAGE = 2000;
const TICK_MS = 100;
const SPEEDS = [0.5, 1, 2, 5, 10];


const pane = {
  id: "replay",
  title: "Replay",
  queue: [], // fetched records not yet played, oldest first
  fetchedUntil: 0, // ts (ms) of the last record fetched
  exhausted: false,
  playhead: 0, // ms: the replayed moment
  start: 0,
  end: 0,
  playing: false,
  timer: null,
  loading: null,
  edgeIds: new Set(),

  mount(root) {
    this.at = el("input", { type: "datetime-local", step: "1", "aria-label": "Replay from (UTC)" });
    this.speed = el("select", { "aria-label": "Speed" }, SPEEDS.map((s) => el("option", { value: String(s), selected: s === 1 }, `${s}×`)));
    this.play = el("button", { type: "button", "data-role": "play", onclick: () => this.toggle() }, "Play");
    this.scrubber = el("input", { type: "range", min: "0", max: "1000", value: "0", style: { flex: "1 1 200px" }, "aria-label": "Position" });
    this.clock = el("span", { class: "mono", "data-role": "clock" }, "");
    this.info = el("span", { class: "muted" }, "");
    this.scrubber.addEventListener("change", () => this.seek(this.start + (this.end - this.start) * (this.scrubber.value / 1000)));
    this.at.addEventListener("change", () => this.load());
    root.append(el("div", { class: "toolbar" }, "from", this.at, this.speed, this.play, this.scrubber, this.clock, this.info));
    const body = el("div", { style: { display: "flex", flexDirection: "column", flex: "1", minHeight: "0" } });
    root.append(body);
    this.list = new VirtualList(body, (r) => recordRow(r), { limit: 20000, minIntervalMs: 100, onSelect: (r) => showDetail(this.detail, r) });
    this.detail = el("div", { class: "detail", hidden: true });
    body.append(this.detail);
  },

  /** The window to replay: the current range (its start is the default moment). */
  load() {
    const range = timeWindow();
    this.start = fromInputValue(this.at.value) ?? range.since;
    this.end = Math.max(range.until, this.start + 60000);
    this.seek(this.start);
  },

  seek(moment) {
    this.generation = (this.generation || 0) + 1; // answers to fetches made before are dropped
    this.loading = null;
    this.playhead = moment;
    this.queue = [];
    this.fetchedUntil = moment;
    this.exhausted = false;
    this.edgeIds = new Set();
    this.list.set([]);
    this.describe();
    this.fetchMore();
  },

  /** The next page after what was fetched (the first `PAGE` records of the rest of the window). */
  fetchMore() {
    if (this.loading || this.exhausted) return this.loading;
    const since = this.fetchedUntil;
    const generation = this.generation;
    const loading = api("/api/logs", { q: state.query, since: iso(since), until: iso(this.end), limit: PAGE, first: true })
      .then((found) => {
        if (generation !== this.generation) return;
        // A page starts at the last millisecond of the one before (records may share it): those
        // already taken are known by id and skipped.
        const fresh = found.records.filter((r) => !this.edgeIds.has(r.id));
        this.queue.push(...fresh);
        if (found.records.length < PAGE) this.exhausted = true;
        if (fresh.length) {
          const lastTs = fresh[fresh.length - 1].ts;
          this.fetchedUntil = Date.parse(lastTs);
          this.edgeIds = new Set(found.records.filter((r) => r.ts === lastTs).map((r) => r.id));
        } else if (!this.exhausted) this.exhausted = true; // a page of one millisecond only: stop, not loop
      })
      .catch((err) => replace(this.info, el("span", { class: "error-text" }, err.message)))
      .finally(() => { if (this.loading === loading) this.loading = null; });
    this.loading = loading;
    return loading;
  },

  toggle() {
    this.playing = !this.playing;
    this.play.textContent = this.playing ? "Pause" : "Play";
    clearInterval(this.timer);
    if (!this.playing) return;
    if (!this.start) this.load();
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.advance((now - last) * Number(this.speed.value));
      last = now;
    }, TICK_MS);
  },

  /** Moves the playhead by `ms` of log time and plays the records it passed. */
  advance(ms) {
    this.playhead = Math.min(this.playhead + ms, this.end);
    let n = 0;
    while (n < this.queue.length && Date.parse(this.queue[n].ts) <= this.playhead) n++;
    if (n) this.list.push(this.queue.splice(0, n));
    if (this.queue.length < PAGE / 2) this.fetchMore();
    if (this.playhead >= this.end && !this.queue.length) this.toggle();
    this.describe();
  },

  describe() {
    replace(this.clock, new Date(this.playhead || Date.now()).toISOString().replace("T", " ").slice(0, 19));
    this.clock.dataset.ms = String(this.playhead);
    if (this.end > this.start) this.scrubber.value = String(Math.round(((this.playhead - this.start) / (this.end - this.start)) * 1000));
    replace(this.info, `${count(this.list.length)} played`);
  },

  show() {
    if (!this.at.value) this.at.value = toInputValue(timeWindow().since);
    if (!this.start) this.load();
  },
  hide() {
    if (this.playing) this.toggle();
  },
  onKey(key) {
    this.list.key(key);
  },
};

register(pane);
