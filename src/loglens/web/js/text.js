// Log text made readable and still inert: URLs, file paths, PIDs, IPs and numbers get a class, as
// text nodes in spans; search terms are marked. Nothing here parses markup.

const TOKENS = new RegExp(
  [
    String.raw`(?<url>\bhttps?:\/\/[^\s"'<>]+)`,
    String.raw`(?<path>(?:^|(?<=[\s=:("']))(?:~|\.{1,2})?\/(?:[\w.@+-]+\/)*[\w.@+-]+\/?)`,
    String.raw`(?<pid>\b(?:pid[=: ]|\[)\d{1,7}\]?)`,
    String.raw`(?<ip>\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b)`,
  ].join("|"),
  "g",
);

/** A fragment of `text` with URLs, paths, PIDs and IPs in classed spans (`tok-url` …). */
export function richText(text, terms = []) {
  const fragment = document.createDocumentFragment();
  const value = String(text ?? "");
  let last = 0;
  for (const match of value.matchAll(TOKENS)) {
    const kind = Object.keys(match.groups).find((k) => match.groups[k] !== undefined);
    if (match.index > last) fragment.append(marked(value.slice(last, match.index), terms));
    const span = document.createElement("span");
    span.className = "tok-" + kind;
    span.append(marked(match[0], terms));
    fragment.append(span);
    last = match.index + match[0].length;
  }
  if (last < value.length) fragment.append(marked(value.slice(last), terms));
  return fragment;
}

/** `text` with each case-insensitive occurrence of `terms` in a `<mark>`. */
export function marked(text, terms = []) {
  const fragment = document.createDocumentFragment();
  const words = terms.filter((t) => t && t.length > 1);
  if (!words.length) {
    fragment.append(document.createTextNode(text));
    return fragment;
  }
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(${escaped.join("|")})`, "gi");
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) fragment.append(document.createTextNode(text.slice(last, match.index)));
    const mark = document.createElement("mark");
    mark.textContent = match[0];
    fragment.append(mark);
    last = match.index + match[0].length;
  }
  if (last < text.length) fragment.append(document.createTextNode(text.slice(last)));
  return fragment;
}

/** The plain words and phrases of a query (what search results highlight), without field filters. */
export function queryTerms(query) {
  const terms = [];
  for (const match of String(query || "").matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    if (match[1] !== undefined) terms.push(match[1]);
    else if (!match[2].includes(":") && !match[2].startsWith("-") && !match[2].startsWith("/") && !["AND", "OR", "NOT"].includes(match[2]))
      terms.push(match[2].replace(/\*/g, ""));
  }
  return terms;
}
