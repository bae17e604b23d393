// The Incidents pane: the daemon's alerts (live), then the range's incidents (newest first), beside
// the chosen one explained — the offline explainer's reading and fix first, then its anomalies on a
// small timeline, the ranked root-cause candidates, the lines it cites and the context of its first sign.

import { explanationBlock, lineRow, mountAlerts, refreshAlerts, severityBadge, showAlert } from "./alerts.js";
import { api } from "./api.js";
import { el, replace } from "./dom.js";
import { iso, levelClass, shortTime } from "./format.js";
import { movedSelection, register, ShownRefresh } from "./panes.js";
import { emit, on, setQuery, timeWindow } from "./state.js";

const NARROW = window.matchMedia("(max-width: 720px)");

const view = {
  root: null, status: null, body: null, list: null, table: null, detail: null,
  incidents: [],
  current: "", // the chosen row, as "alert:ID" or "incident:ID" (rows are redrawn under it)
  wanted: null, // an id asked for by "open-incident", selected once the list is there
  loading: false,
  seq: 0, detailSeq: 0, timer: 0,
};

function mount(root) {
  view.root = root;
  view.status = el("span", { class: "muted" });
  view.table = el("div", {});
  const alerts = el("div", { class: "alerts-box" });
  view.list = el("div", { class: "scroll" }, alerts, el("div", { class: "section-head" }, el("h3", {}, "Incidents")), view.table);
  view.detail = el("div", { class: "scroll detail", style: { maxHeight: "none" } },
    el("p", { class: "muted" }, "Choose an alert or an incident."));
  view.body = el("div", { style: { display: "flex", flex: "1", minHeight: "0" } }, view.list, view.detail);
  root.append(
    el("div", { class: "toolbar" },
      el("button", { type: "button", onclick: () => load(), title: "Reload the incidents" }, "Refresh"),
      el("span", { class: "grow" }), view.status),
    view.body);
  root.dataset.incidents = "0";
  mountAlerts(alerts, { onClick: (id) => choose("alert:" + id, false, 0), onRendered: markChosen });
  layout();
  NARROW.addEventListener("change", layout);
  on("range", () => refresh.changed());
  on("open-incident", (id) => {
    view.wanted = String(id);
    emit("open-pane", "incidents");
    if (!view.loading && !refresh.stale) applyWanted();
  });
}

/** Side by side, or the detail below the list on a narrow screen. */
function layout() {
  const narrow = NARROW.matches;
  view.body.style.flexDirection = narrow ? "column" : "row";
  Object.assign(view.list.style, { flex: narrow ? "0 0 40%" : "0 0 42%", minWidth: "0" });
  Object.assign(view.detail.style, {
    borderTop: narrow ? "1px solid var(--border)" : "none",
    borderLeft: narrow ? "none" : "1px solid var(--border)",
  });
}

const refresh = new ShownRefresh(() => load());
const show = () => {
  refresh.show();
  refreshAlerts();
};
const hide = () => refresh.hide();

async function load() {
  view.loading = true;
  const seq = ++view.seq;
  const { since, until } = timeWindow();
  const range = { since: iso(since), until: iso(until) };
  view.status.textContent = "loading…";
  try {
    const found = await api("/api/incidents", range);
    if (seq !== view.seq) return;
    view.incidents = (Array.isArray(found) ? found : []).sort((a, b) => Date.parse(b.start) - Date.parse(a.start));
    renderList();
  } catch (err) {
    if (seq !== view.seq) return;
    view.incidents = [];
    view.root.dataset.incidents = "0";
    view.status.textContent = "";
    replace(view.table, el("p", { class: "error-text", style: { padding: "0 10px" } }, err.message));
  } finally {
    if (seq === view.seq) view.loading = false;
  }
  if (seq === view.seq) applyWanted();
}

/** Selects the incident asked for, else the one shown before (by id), else the newest — unless an
 * alert is being read, which a reload of the incidents leaves alone. */
function applyWanted() {
  const asked = view.wanted;
  view.wanted = null;
  if (!asked && view.detail.dataset.alert) return;
  const id = asked ?? view.detail.dataset.incident;
  if (view.incidents.some((i) => i.id === id)) choose("incident:" + id, true, 0);
  else if (asked) loadDetail(asked); // outside the range: explain replays the whole store, so it is still found
  else if (view.incidents.length) choose("incident:" + view.incidents[0].id, true, 0);
  else {
    delete view.detail.dataset.incident;
    delete view.detail.dataset.rootCause;
    replace(view.detail, el("p", { class: "muted" }, "No incidents in this range."));
  }
}

function renderList() {
  const items = view.incidents;
  view.root.dataset.incidents = String(items.length);
  view.status.textContent = `${items.length} incident${items.length === 1 ? "" : "s"}`;
  if (!items.length) {
    replace(view.table, el("p", { class: "muted", style: { padding: "0 10px" } }, "No incidents in this range."));
    return;
  }
  const trs = items.map((item) =>
    el("tr", { class: "clickable", "data-incident": item.id, onclick: () => choose("incident:" + item.id, false, 0) },
      el("td", {}, severityBadge(item.severity)),
      el("td", { class: "mono", title: item.id }, shortTime(item.start)),
      el("td", {}, (item.services || []).join(", ")),
      el("td", { class: "mono" }, item.root_cause?.service || "—")));
  replace(view.table, el("table", { class: "grid" },
    el("thead", {}, el("tr", {}, ["Severity", "Start", "Services", "Root cause"].map((h) => el("th", {}, h)))),
    el("tbody", {}, trs)));
  markChosen();
}

/** Every row j/k move through: the alerts, then the incidents. */
function rows() {
  return [...view.list.querySelectorAll("tr[data-alert], tr[data-incident]")];
}

function rowKey(tr) {
  return tr.dataset.alert !== undefined ? "alert:" + tr.dataset.alert : "incident:" + tr.dataset.incident;
}

/** Highlights the chosen row (again, after either list was redrawn). */
function markChosen() {
  for (const tr of rows()) {
    const chosen = rowKey(tr) === view.current;
    tr.classList.toggle("selected", chosen);
    if (chosen) tr.setAttribute("aria-selected", "true");
    else tr.removeAttribute("aria-selected");
  }
}

/** Chooses the row `key` ("alert:ID" / "incident:ID"); the detail follows after `delay` ms (so
 * holding j does not load each one passed). */
function choose(key, scroll = true, delay = 200) {
  view.current = key;
  markChosen();
  const tr = rows().find((r) => rowKey(r) === key);
  if (tr && scroll) tr.scrollIntoView({ block: "nearest" });
  clearTimeout(view.timer);
  const [kind, id] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
  view.timer = setTimeout(() => (kind === "alert" ? openAlert(id) : loadDetail(id)), delay);
}

function openAlert(id) {
  ++view.detailSeq; // an incident still loading must not replace the alert
  delete view.detail.dataset.incident;
  delete view.detail.dataset.rootCause;
  replace(view.detail, el("p", { class: "muted" }, "loading alert " + id + "…"));
  showAlert(view.detail, id);
}

async function loadDetail(id) {
  const seq = ++view.detailSeq;
  delete view.detail.dataset.alert;
  delete view.detail.dataset.state;
  view.detail.dataset.incident = id;
  delete view.detail.dataset.rootCause; // set again once this incident's explanation is in
  replace(view.detail, el("p", { class: "muted" }, "loading " + id + "…"));
  let found;
  try {
    found = await api(`/api/incidents/${encodeURIComponent(id)}/explain`);
  } catch (err) {
    if (seq !== view.detailSeq) return;
    delete view.detail.dataset.rootCause;
    replace(view.detail, el("p", { class: "error-text" }, err.message));
    return;
  }
  if (seq !== view.detailSeq) return;
  const context = el("div", { class: "context" }, el("p", { class: "muted" }, "loading…"));
  view.detail.dataset.rootCause = found.root_cause?.service || "";
  replace(view.detail,
    el("h3", {}, severityBadge(found.severity), " ", found.id),
    el("div", { class: "muted" }, `${shortTime(found.start)} → ${shortTime(found.end)} · detected ${shortTime(found.detected_at)}`),
    found.explanation && typeof found.explanation === "object"
      ? explanationBlock(found.explanation)
      : el("p", { style: { whiteSpace: "pre-wrap", fontFamily: "system-ui, sans-serif" } }, explanation(found)),
    insights(found.insights || []),
    rootCauseLink(found.root_cause),
    el("h3", {}, "Timeline"), timeline(found),
    el("h3", {}, "Root-cause candidates"), candidates(found),
    el("h3", {}, "Evidence"), el("div", { class: "context" }, (found.evidence || []).map((r) => lineRow(r, false))),
    el("h3", {}, "Context around the first sign"), context);
  fillContext(context, found, seq);
}

/** What an LLM made of the incident, when one is configured: each answer's cause, fix and confidence. */
function insights(list) {
  if (!list.length) return null;
  return el("section", { class: "explain insights", "data-role": "insights" },
    el("h3", {}, "LLM insights"),
    list.map((i) => el("div", { class: "insight" },
      el("p", {}, el("strong", {}, "Cause: "), i.cause || ""),
      i.fix ? el("p", { class: "pre" }, el("strong", {}, "Fix: "), Array.isArray(i.fix) ? i.fix.join("\n") : i.fix) : null,
      el("p", { class: "muted" }, [
        `confidence ${Math.round(Number(i.confidence || 0) * 100)}%`, i.model,
        i.evidence_ids?.length ? `lines ${i.evidence_ids.join(", ")}` : "",
      ].filter(Boolean).join(" · ")))));
}

/** The sentences `loglens explain` prints, for a daemon that sends no offline explanation. */
function explanation(found) {
  if (typeof found.explanation === "string") return found.explanation;
  const cause = found.root_cause || {};
  const parts = [`Services, in order of onset: ${(found.services || []).join(", ")}.`];
  if (cause.service) {
    parts.push(`Likely root cause: ${cause.service} (confidence ${Number(cause.confidence || 0).toFixed(2)}).`);
    if (cause.template) parts.push(`First sign at ${shortTime(cause.first_event_ts)}: ${cause.template}`);
  }
  if (found.anomalies_dropped) parts.push(`${found.anomalies_dropped} more anomalies were left out.`);
  return parts.join("\n");
}

function rootCauseLink(cause) {
  if (!cause?.template_id) return null;
  return el("button", { type: "button", onclick: () => { setQuery("template:" + cause.template_id); emit("open-pane", "live"); } },
    "Show the root cause's lines (template:" + cause.template_id + ")");
}

/** One lane per service, each anomaly a bar from its start to its end over the incident's span. */
function timeline(found) {
  const anomalies = found.anomalies || [];
  if (!anomalies.length) return el("p", { class: "muted" }, "No anomalies listed.");
  const times = anomalies.flatMap((a) => [Date.parse(a.start), Date.parse(a.end || a.start)]).concat(Date.parse(found.start), Date.parse(found.end));
  const t0 = Math.min(...times.filter(Number.isFinite));
  const t1 = Math.max(...times.filter(Number.isFinite), t0 + 1000);
  const at = (ts) => ((Date.parse(ts) - t0) / (t1 - t0)) * 100;
  const services = [...new Set([...(found.services || []), ...anomalies.map((a) => a.service)])];
  const first = found.root_cause?.first_event_ts;
  const lanes = services.map((service) => {
    const track = el("div", { style: { position: "relative", flex: "1", height: "14px", border: "1px solid var(--border)", borderRadius: "2px" } });
    for (const a of anomalies.filter((x) => x.service === service)) {
      const left = at(a.start);
      track.append(el("div", {
        title: `${a.kind} · ${a.severity} · ${shortTime(a.start)} → ${shortTime(a.end)}\n${a.detail || ""}`,
        style: { position: "absolute", top: "1px", bottom: "1px", left: left + "%", width: Math.max(at(a.end || a.start) - left, 0.6) + "%",
          background: `var(--${levelClass(a.severity)})`, opacity: "0.55" },
      }));
    }
    if (first && service === found.root_cause.service) {
      track.append(el("div", { title: "first sign " + shortTime(first),
        style: { position: "absolute", top: "-2px", bottom: "-2px", left: at(first) + "%", width: "2px", background: "var(--accent)" } }));
    }
    return el("div", { style: { display: "flex", alignItems: "center", gap: "6px", margin: "2px 0" } },
      el("span", { title: service, style: { width: "90px", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" } }, service),
      track);
  });
  return el("div", {}, lanes,
    el("div", { class: "muted", style: { display: "flex", justifyContent: "space-between", marginLeft: "96px" } },
      el("span", {}, shortTime(iso(t0))), el("span", {}, shortTime(iso(t1)))));
}

function candidates(found) {
  const list = found.candidates || [];
  if (!list.length) return el("p", { class: "muted" }, "No candidates.");
  const top = Math.max(...list.map((c) => Number(c.score) || 0), 1e-9);
  return el("table", { class: "grid" },
    el("thead", {}, el("tr", {}, ["Service", "Score", "Onset", "Evidence"].map((h) => el("th", {}, h)))),
    el("tbody", {}, list.map((c) => el("tr", {},
      el("td", {}, c.service, c.service === found.root_cause?.service ? el("span", { class: "badge", style: { marginLeft: "6px", color: "var(--accent)" } }, "root cause") : null),
      el("td", { style: { whiteSpace: "nowrap" } },
        el("span", { style: { display: "inline-block", width: "80px", height: "8px", background: "var(--border)", marginRight: "6px", verticalAlign: "middle" } },
          el("span", { style: { display: "block", height: "100%", width: ((Number(c.score) || 0) / top) * 100 + "%", background: "var(--accent)" } })),
        Number(c.score || 0).toFixed(3)),
      el("td", { class: "mono" }, shortTime(c.onset)),
      el("td", { class: "muted" }, Object.entries(c.evidence || {}).map(([k, v]) => `${k.replace(/_/g, " ")} ${Number(v).toFixed(2)}`).join(" · "))))));
}

/** The root cause's service around its first sign: /api/context, else what explain sent. */
async function fillContext(box, found, seq) {
  const cause = found.root_cause;
  let lines = found.context;
  if (cause?.first_event_ts && cause.service) {
    try {
      lines = await api("/api/context", { ts: cause.first_event_ts, service: cause.service, before: 10, after: 10 });
    } catch {
      // Not in every daemon yet: explain's own (shorter) context will do.
    }
  }
  if (seq !== view.detailSeq) return;
  const before = lines?.before || [];
  const after = lines?.after || [];
  if (!before.length && !after.length) {
    box.remove();
    return;
  }
  const hereId = cause?.first_event_id;
  const listed = [...before, ...after].some((r) => hereId !== undefined && r.id === hereId);
  const anchor = lines.anchor || found.context?.anchor ||
    { ts: cause?.first_event_ts, service: cause?.service, level: "", message: cause?.template || "" };
  replace(box,
    before.map((r) => lineRow(r, r.id === hereId)),
    listed ? null : lineRow(anchor, true),
    after.map((r) => lineRow(r, r.id === hereId)));
}

function onKey(key) {
  const all = rows();
  if (!all.length) return;
  const at = all.findIndex((tr) => rowKey(tr) === view.current);
  const next = movedSelection(key, at, all.length);
  if (next !== null) choose(rowKey(all[next]));
  else if (key === "Enter") choose(rowKey(all[Math.max(at, 0)]), true, 0);
}

register({ id: "incidents", title: "Incidents", mount, show, hide, onKey });
