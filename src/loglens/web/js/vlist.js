// A virtual list of records: only the rows in view (plus a margin) exist in the DOM, so a buffer
// of 50,000 records scrolls as smoothly as one of 50. Rows have one fixed height (--row-h).

import { el, replace } from "./dom.js";

const OVERSCAN = 10;

export class VirtualList {
  /**
   * @param {HTMLElement} container where the list goes (it becomes the scrolling element)
   * @param {(record, index) => HTMLElement} renderRow builds one row
   * @param {{limit?: number, onSelect?: (record, index) => void}} options `limit`: records kept
   *   (the oldest fall out first)
   */
  constructor(container, renderRow, options = {}) {
    this.items = [];
    this.limit = options.limit || 50000;
    this.minIntervalMs = options.minIntervalMs || 0; // the live stream redraws at most this often
    this.lastDraw = 0;
    this.renderRow = renderRow;
    this.onSelect = options.onSelect || (() => {});
    this.selected = -1;
    this.follow = true; // stick to the newest rows while the reader is at the bottom
    this.root = el("div", { class: "vlist", tabindex: "0", role: "list" });
    this.spacer = el("div", { class: "spacer" });
    this.rows = el("div", { class: "rows" });
    this.root.append(this.spacer, this.rows);
    container.append(this.root);
    this.rowHeight = 22;
    this.dirty = false;
    this.root.addEventListener("scroll", () => {
      const bottom = this.root.scrollTop + this.root.clientHeight >= this.root.scrollHeight - this.rowHeight;
      this.follow = bottom;
      this.schedule();
    });
    this.rows.addEventListener("click", (event) => {
      const row = event.target.closest("[data-index]");
      if (row) this.select(Number(row.dataset.index));
    });
    new ResizeObserver(() => this.schedule()).observe(this.root);
  }

  /** Replaces every record. */
  set(records) {
    this.items = records.slice(-this.limit);
    this.selected = -1;
    this.follow = true;
    this.schedule();
  }

  /** Appends records; the oldest beyond `limit` fall out (the selection moves with its record). */
  push(records) {
    if (!records.length) return;
    this.items.push(...records);
    const overflow = this.items.length - this.limit;
    if (overflow > 0) {
      this.items.splice(0, overflow);
      this.selected = this.selected >= overflow ? this.selected - overflow : -1;
    }
    this.schedule();
  }

  get length() {
    return this.items.length;
  }

  /** Redraws at the next frame, once however many changes came before it. */
  schedule() {
    if (this.dirty) return;
    this.dirty = true;
    const wait = Math.max(0, this.lastDraw + this.minIntervalMs - performance.now());
    const frame = () => requestAnimationFrame(() => {
      this.dirty = false;
      this.lastDraw = performance.now();
      this.draw();
    });
    if (wait > 0) setTimeout(frame, wait);
    else frame();
  }

  draw() {
    const height = this.rowHeight;
    this.spacer.style.height = `${this.items.length * height}px`;
    if (this.follow) this.root.scrollTop = this.root.scrollHeight;
    const first = Math.max(0, Math.floor(this.root.scrollTop / height) - OVERSCAN);
    const count = Math.ceil(this.root.clientHeight / height) + 2 * OVERSCAN;
    const last = Math.min(this.items.length, first + count);
    this.rows.style.transform = `translateY(${first * height}px)`;
    const nodes = [];
    for (let i = first; i < last; i++) {
      const row = this.renderRow(this.items[i], i);
      row.dataset.index = String(i);
      if (i === this.selected) row.classList.add("selected");
      nodes.push(row);
    }
    replace(this.rows, nodes);
    this.root.dataset.rendered = String(nodes.length);
    this.root.dataset.total = String(this.items.length);
  }

  /** Selects a row (and tells onSelect); scrolls it into view. */
  select(index) {
    if (index < 0 || index >= this.items.length) return;
    this.selected = index;
    const top = index * this.rowHeight;
    if (top < this.root.scrollTop) this.root.scrollTop = top;
    else if (top + this.rowHeight > this.root.scrollTop + this.root.clientHeight)
      this.root.scrollTop = top - this.root.clientHeight + this.rowHeight;
    this.follow = index === this.items.length - 1;
    this.schedule();
    this.onSelect(this.items[index], index);
  }

  /** j/k/gg/G/Enter, as the keyboard shortcuts send them. */
  key(key) {
    if (key === "j") this.select(Math.min(this.selected + 1, this.items.length - 1));
    else if (key === "k") this.select(Math.max(this.selected < 0 ? this.items.length - 1 : this.selected - 1, 0));
    else if (key === "gg") { this.follow = false; this.select(0); }
    else if (key === "G") { this.select(this.items.length - 1); this.follow = true; }
  }
}
