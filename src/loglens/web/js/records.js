// One record as a row of a list, and as the detail panel opened by a click: its fields, its
// template, the lines around it, and a bookmark button.

import { api } from "./api.js";
import { el, replace } from "./dom.js";
import { levelClass, shortTime } from "./format.js";
import { emit, setQuery } from "./state.js";
import { richText } from "./text.js";

/** A list row: time, service, level, message (the first line), coloured by level. */
export function recordRow(record, terms = []) {
  const level = record.lvl || "info";
  const message = String(record.msg ?? "").split("\n", 1)[0];
  return el("div", { class: `row ${levelClass(level)}`, role: "listitem", title: record.msg },
    el("span", { class: "ts" }, shortTime(record.ts)),
    el("span", { class: "svc" }, record.svc),
    el("span", { class: `lvl ${levelClass(level)}` }, level),
    el("span", { class: "msg" }, richText(message, terms)));
}

function fieldRows(record) {
  const rows = [
    ["time", record.ts], ["service", record.svc], ["level", record.lvl], ["host", record.host],
    ["pid", record.pid], ["source", record.src], ["template", record.tpl], ["id", record.id],
  ];
  for (const [key, value] of Object.entries(flatten(record.fields || {}))) rows.push([key, value]);
  if (record.params && record.params.length) rows.push(["values", record.params.join(" · ")]);
  if (record.parse_error) rows.push(["parse error", record.parse_error]);
  return rows.filter(([, value]) => value !== undefined && value !== null && value !== "");
}

function flatten(object, prefix = "") {
  const out = {};
  for (const [key, value] of Object.entries(object)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === "object" && !Array.isArray(value)) Object.assign(out, flatten(value, name));
    else out[name] = Array.isArray(value) ? JSON.stringify(value) : value;
  }
  return out;
}

/** Fills `panel` with a record's detail; the context lines come from /api/context. */
export async function showDetail(panel, record) {
  panel.hidden = false;
  const context = el("div", { class: "context" }, el("span", { class: "muted" }, "loading the lines around it…"));
  const templateLink = record.tpl
    ? el("button", { type: "button", onclick: () => { setQuery(`template:${record.tpl}`); emit("open-pane", "live"); } },
        `only template ${record.tpl}`)
    : null;
  const bookmark = el("button", { type: "button", onclick: () => addBookmark(record, bookmark) }, "Bookmark");
  replace(panel,
    el("h3", {}, "Record ", el("span", { class: levelClass(record.lvl) }, record.lvl), " ",
      el("span", { class: "muted" }, record.ts)),
    el("div", { class: "msg-full" }, el("pre", { style: { whiteSpace: "pre-wrap", margin: "4px 0" } }, richText(record.msg))),
    el("div", { class: "toolbar", style: { padding: "4px 0", border: "none" } }, templateLink, bookmark,
      el("button", { type: "button", onclick: () => { panel.hidden = true; } }, "Close")),
    el("table", {}, fieldRows(record).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, richText(String(v)))))),
    el("h3", {}, "Context"),
    context);
  try {
    const around = await api("/api/context", { ts: record.ts, service: record.svc, before: 5, after: 5 });
    const rows = [...around.before, ...around.after].map((r) => {
      const row = recordRow(r);
      if ((record.id !== undefined && r.id === record.id) || (record.id === undefined && r.ts === record.ts && r.msg === record.msg))
        row.classList.add("here");
      return row;
    });
    replace(context, rows.length ? rows : el("span", { class: "muted" }, "no stored records around it yet"));
  } catch (err) {
    replace(context, el("span", { class: "error-text" }, err.message));
  }
}

async function addBookmark(record, button) {
  const text = `${record.svc} ${record.lvl}: ${String(record.msg).split("\n", 1)[0].slice(0, 200)}`;
  try {
    await api("/api/annotations", {}, {
      method: "POST",
      json: { since: record.ts, kind: "bookmark", service: record.svc, record_id: record.id ?? null, text },
    });
    button.textContent = "Bookmarked";
    button.disabled = true;
    emit("annotations-changed");
  } catch (err) {
    button.textContent = `Not saved: ${err.message}`;
  }
}
