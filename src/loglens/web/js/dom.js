// Building the page without markup strings: every text from a log or the API goes in as a text
// node, so a `<script>` or `<img onerror>` in a log line stays text (never innerHTML with data).

/** An element with attributes (`class`, `title`, `data-*`, `on*` handlers as functions) and children
 * (nodes, or strings set as text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Appends children (nodes, strings as text nodes, arrays flattened, null skipped). */
export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Removes every child of `node`. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** `node` emptied and given `children`. */
export function replace(node, ...children) {
  clear(node);
  return append(node, children);
}
