// The views under the tabs. A pane is an object {id, title, key, mount(root), show(), hide()}:
// `mount` builds it once into its own <section class="pane"> (root); `show`/`hide` start and stop
// its refreshing when its tab is chosen or left. Panes talk to each other only through state.js.

export const panes = [];

/** Adds a pane (tabs are numbered in the order added; `1`–`9` choose them). */
export function register(pane) {
  panes.push(pane);
}
