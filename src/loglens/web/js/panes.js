// The views under the tabs. A pane is an object {id, title, key, mount(root), show(), hide()}:
// `mount` builds it once into its own <section class="pane"> (root); `show`/`hide` start and stop
// its refreshing when its tab is chosen or left. Panes talk to each other only through state.js.

export const panes = [];

/** Adds a pane (tabs are numbered in the order added; `1`–`9` choose them). */
export function register(pane) {
  panes.push(pane);
}

/** A view's data, loaded while the view is shown: a change of range or filter while it is hidden
 * waits for the next `show` instead of querying for nobody. */
export class ShownRefresh {
  constructor(load) {
    this.load = load;
    this.shown = false;
    this.stale = true;
  }

  /** The data is out of date: reload now if shown, else on the next show. */
  changed() {
    if (this.shown) this.run();
    else this.stale = true;
  }

  show() {
    this.shown = true;
    if (this.stale) this.run();
  }

  hide() {
    this.shown = false;
  }

  run() {
    this.stale = false;
    this.load();
  }
}

/** Where `j`, `k`, `g g` and `G` move a selection in a list of `length` (null for other keys). */
export function movedSelection(key, selected, length) {
  if (key === "j") return Math.min(selected + 1, length - 1);
  if (key === "k") return Math.max(selected - 1, 0);
  if (key === "gg") return 0;
  if (key === "G") return length - 1;
  return null;
}
