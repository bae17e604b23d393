// The alerts the daemon raised, as the Incidents pane lists them (kept current from the live
// channel) and the header's count of open ones; plus the blocks alerts and incidents both show.

import { api } from "./api.js";
import { el, replace } from "./dom.js";
import { levelClass, shortTime } from "./format.js";
import { emit, on } from "./state.js";
import { richText } from "./text.js";

const RESYNC_MS = 60e3; // live messages can be missed (reconnects, a zoomed range has no channel)
const RESOLVED_LIMIT = 50;
const SILENCE = "2h";
const STATE_ORDER = { open: 0, acknowledged: 1, resolved: 2 };
const SEVERITY_ORDER = { critical: 0, error: 1, warning: 2, info: 3 };

const book = {
  known: new Map(), // id → alert, as last heard from the API or the live channel
  // ids changed since the last reload began: kept through it (it may predate the change) and listed
  // even once resolved (updated in place; the next reload drops them unless resolved ones are shown)
  touched: new Set(),
  withResolved: false,
  box: null, table: null, toggle: null, summary: null,
  detail: null, // the panel showing an alert, when one is shown
  onClick: () => {}, onRendered: () => {},
  seq: 0,
};

// -- what the list holds --------------------------------------------------------------------

/** The later of two versions of one alert: states only move forward (open → acknowledged →
 * resolved), so a reply that left before a live change cannot undo it. */
function later(old, fresh) {
  if (!old) return fresh;
  const before = STATE_ORDER[old.state] ?? 0;
  const after = STATE_ORDER[fresh.state] ?? 0;
  if (after !== before) return after > before ? fresh : old;
  return (fresh.count ?? 0) >= (old.count ?? 0) ? fresh : old;
}

function isActive(alert) {
  return alert.state === "open" || alert.state === "acknowledged";
}

/** Active before resolved, then the most severe, then the most recent. */
function alertOrder(a, b) {
  return (
    Number(!isActive(a)) - Number(!isActive(b)) ||
    (SEVERITY_ORDER[a.severity] ?? 9) - (SEVERITY_ORDER[b.severity] ?? 9) ||
    String(b.last_ts).localeCompare(String(a.last_ts))
  );
}

function remember(alert) {
  if (!alert?.id) return null;
  const kept = later(book.known.get(alert.id), alert);
  book.known.set(alert.id, kept);
  return kept;
}

/** The live channel's `{"type": "alert", "change": …, "alert": …}` (notifications carry no alert). */
function heard(message) {
  if (message.type !== "alert" || !message.alert) return;
  book.touched.add(message.alert.id);
  remember(message.alert);
  render();
  const shown = book.detail;
  if (shown?.dataset.alert === message.alert.id) showAlert(shown, message.alert.id); // changed elsewhere too
}

/** Reloads the active alerts (and the recent resolved ones when asked for) from the API. */
export async function refreshAlerts() {
  const seq = ++book.seq;
  book.touched.clear();
  try {
    const asks = [api("/api/alerts", { state: "active" })];
    if (book.withResolved) asks.push(api("/api/alerts", { state: "all", limit: RESOLVED_LIMIT }));
    const answers = await Promise.all(asks);
    if (seq !== book.seq) return;
    const previous = book.known;
    book.known = new Map([...book.touched].filter((id) => previous.has(id)).map((id) => [id, previous.get(id)]));
    for (const answer of answers) for (const alert of answer.alerts || []) remember(alert);
    render();
  } catch (err) {
    if (seq !== book.seq || !book.table) return;
    replace(book.table, el("p", { class: "error-text" }, "alerts: " + err.message));
  }
}

// -- the list and the header badge ------------------------------------------------------------

/** Builds the alerts section into `box`. `onClick(id)` when a row is clicked; `onRendered()` after
 * each redraw (the pane keeps its selection across them). */
export function mountAlerts(box, { onClick, onRendered }) {
  book.box = box;
  book.onClick = onClick;
  book.onRendered = onRendered;
  book.summary = el("span", { class: "muted" });
  book.toggle = el("button", { type: "button", "aria-pressed": "false", title: "Also list the last 50 resolved alerts",
    onclick: () => {
      book.withResolved = !book.withResolved;
      book.toggle.setAttribute("aria-pressed", String(book.withResolved));
      refreshAlerts();
    } }, "Show resolved");
  book.table = el("div", {}, el("p", { class: "muted" }, "loading…"));
  box.append(el("div", { class: "section-head" }, el("h3", {}, "Alerts"), book.summary, el("span", { class: "grow" }), book.toggle),
    book.table);
  on("live-event", heard);
  on("status", ({ text }) => { if (text === "live") refreshAlerts(); }); // (re)connected: catch up
  setInterval(refreshAlerts, RESYNC_MS);
  refreshAlerts();
}

function render() {
  renderBadge();
  if (!book.table) return;
  const shown = [...book.known.values()].filter((a) => book.withResolved || isActive(a) || book.touched.has(a.id)).sort(alertOrder);
  const open = shown.filter((a) => a.state === "open").length;
  book.box.dataset.alerts = String(shown.length);
  book.summary.textContent = `${open} open · ${shown.filter((a) => a.state === "acknowledged").length} acknowledged`;
  if (!shown.length) replace(book.table, el("p", { class: "muted" }, book.withResolved ? "No alerts." : "No active alerts."));
  else replace(book.table, el("table", { class: "grid alerts" }, el("tbody", {}, shown.map(alertRow))));
  book.onRendered();
}

function alertRow(alert) {
  const service = alert.labels?.service;
  return el("tr", { class: "clickable alert-row", "data-alert": alert.id, "data-state": alert.state, "data-severity": alert.severity,
    onclick: () => book.onClick(alert.id) },
    el("td", {}, severityBadge(alert.severity), el("br"), stateBadge(alert.state)),
    el("td", { class: "alert-title" },
      el("div", { class: "title", title: alert.title }, alert.title),
      el("div", { class: "muted" }, [alert.rule, service, `${shortTime(alert.first_ts)} → ${shortTime(alert.last_ts)}`].filter(Boolean).join(" · "))),
    el("td", { class: "mono", title: `${alert.count} matching signal(s)` }, "×" + (alert.count ?? 1)));
}

function renderBadge() {
  const badge = document.getElementById("alert-badge");
  if (!badge) return;
  const active = [...book.known.values()].filter(isActive);
  const open = active.filter((a) => a.state === "open");
  badge.dataset.count = String(open.length);
  badge.textContent = `${open.length} alert${open.length === 1 ? "" : "s"}`;
  badge.title = `${open.length} open, ${active.length - open.length} acknowledged (a)`;
  badge.className = `alert-badge ${levelClass(worst(open))}`;
  badge.hidden = open.length === 0;
}

function worst(alerts) {
  return alerts.map((a) => a.severity).sort((a, b) => (SEVERITY_ORDER[a] ?? 9) - (SEVERITY_ORDER[b] ?? 9))[0] || "info";
}

document.getElementById("alert-badge")?.addEventListener("click", () => emit("open-pane", "incidents"));

// -- one alert --------------------------------------------------------------------------------

/** Fills `detail` with the alert `id`: what it is, its evidence and context, the explanation when
 * an incident raised it, its history, and what can be done (acknowledge, resolve, silence). */
export async function showAlert(detail, id, note = "") {
  book.detail = detail;
  detail.dataset.alert = id;
  let found;
  let silences = [];
  try {
    [found, silences] = await Promise.all([
      api(`/api/alerts/${encodeURIComponent(id)}`),
      api("/api/alerts/silences").catch(() => []),
    ]);
  } catch (err) {
    if (detail.dataset.alert === id) replace(detail, el("p", { class: "error-text" }, err.message));
    return;
  }
  if (detail.dataset.alert !== id) return; // another alert or an incident was chosen meanwhile
  remember(found);
  render();
  detail.dataset.state = found.state;
  replace(detail, alertDetail(detail, found, silences.filter((s) => silenceMatches(s, found.labels || {})), note));
}

function alertDetail(detail, alert, silences, note) {
  const labels = alert.labels || {};
  const status = el("span", { class: "muted", "data-role": "alert-status" }, note);
  const act = (path, body, silencing = false) => async () => {
    for (const button of detail.querySelectorAll("[data-action]")) button.disabled = true;
    status.textContent = "…";
    try {
      const answer = await api(path, {}, { method: "POST", json: body });
      book.touched.add(alert.id); // stays listed, in its new state, until the next reload
      if (!silencing) remember(answer);
      render();
      await showAlert(detail, alert.id, silencing ? `silenced until ${shortTime(answer.until)}` : "");
    } catch (err) {
      status.textContent = err.message;
      status.className = "error-text";
      for (const button of detail.querySelectorAll("[data-action]")) button.disabled = false;
    }
  };
  const matchers = { rule: alert.rule, ...(labels.service ? { service: labels.service } : {}) };
  const base = `/api/alerts/${encodeURIComponent(alert.id)}`;
  return [
    el("h3", {}, severityBadge(alert.severity), " ", stateBadge(alert.state), " ", alert.title),
    el("div", { class: "actions" },
      el("button", { type: "button", "data-action": "ack", disabled: alert.state !== "open", onclick: act(base + "/ack", {}) }, "Acknowledge"),
      el("button", { type: "button", "data-action": "resolve", disabled: alert.state === "resolved", onclick: act(base + "/resolve", {}) }, "Resolve"),
      el("button", { type: "button", "data-action": "silence", title: "Mute notifications of " + matcherText(matchers) + " for 2 h",
        onclick: act("/api/alerts/silences", { matchers, duration: SILENCE, comment: `from the dashboard, alert ${alert.id}` }, true) },
        "Silence 2h"),
      labels.incident ? el("button", { type: "button", onclick: () => emit("open-incident", labels.incident) }, "Open incident " + labels.incident) : null,
      status),
    facts(alert, silences),
    alert.explanation ? explanationBlock(alert.explanation) : null,
    el("h3", {}, "Evidence"),
    el("div", { class: "context" }, (alert.evidence || []).map((r) => lineRow(r, false))),
    contextLines(alert),
    el("h3", {}, "History"),
    history(alert.history || []),
  ];
}

function facts(alert, silences) {
  const labels = alert.labels || {};
  const rows = [
    ["rule", `${alert.rule} (${alert.type})`],
    ["service", labels.service],
    ["signals", `×${alert.count ?? 1} · ${shortTime(alert.first_ts)} → ${shortTime(alert.last_ts)}`],
    ["opened", shortTime(alert.opened_at)],
    ["acknowledged", alert.acked_at ? `${shortTime(alert.acked_at)}${alert.acked_by ? " by " + alert.acked_by : ""}` : null],
    ["resolved", alert.resolved_at ? `${shortTime(alert.resolved_at)}${alert.resolved_by ? " (" + alert.resolved_by + ")" : ""}` : null],
    ["notified", alert.notifications ? `${alert.notifications}×${alert.escalations ? `, escalated ${alert.escalations}×` : ""}` : null],
    ["silenced", silences.length ? silences.map((s) => `until ${shortTime(s.until)} (${matcherText(s.matchers)})`).join("; ")
      : alert.silenced_by ? "by silence " + alert.silenced_by : null],
    ["labels", Object.entries(labels).filter(([k]) => !["rule", "severity", "service"].includes(k)).map(([k, v]) => `${k}=${v}`).join(" ")],
    ...Object.entries(alert.detail || {}).map(([k, v]) => [k.replace(/_/g, " "), typeof v === "object" ? JSON.stringify(v) : v]),
  ].filter(([, v]) => v !== null && v !== undefined && v !== "");
  return el("table", { class: "facts" }, el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, String(v))))));
}

/** The lines of the alert's service around its first evidence line (the first marked). */
function contextLines(alert) {
  const before = alert.context?.before || [];
  const after = alert.context?.after || [];
  if (!before.length && !after.length) return null;
  const first = (alert.evidence || [])[0];
  return [el("h3", {}, "Context"),
    el("div", { class: "context" }, before.map((r) => lineRow(r, false)), first ? lineRow(first, true) : null, after.map((r) => lineRow(r, false)))];
}

function history(steps) {
  if (!steps.length) return el("p", { class: "muted" }, "No history.");
  return el("table", { class: "grid history" }, el("tbody", {}, steps.map((s) =>
    el("tr", {}, el("td", { class: "mono" }, shortTime(s.ts)), el("td", {}, s.kind), el("td", {}, s.channel || ""), el("td", { class: "muted" }, s.detail || "")))));
}

/** Whether a silence's matchers all hold for `labels` (a value starting with `~` is a regex). */
function silenceMatches(silence, labels) {
  return Object.entries(silence.matchers || {}).every(([key, want]) => {
    const have = labels[key];
    if (have === undefined) return false;
    if (!String(want).startsWith("~")) return String(have) === String(want);
    try {
      return new RegExp(String(want).slice(1)).test(String(have));
    } catch {
      return false;
    }
  });
}

function matcherText(matchers) {
  return Object.entries(matchers || {}).map(([k, v]) => `${k}=${v}`).join(", ");
}

// -- shared with the incidents ----------------------------------------------------------------

export function severityBadge(severity) {
  return el("span", { class: `badge ${levelClass(severity)}` }, severity || "?");
}

function stateBadge(state) {
  return el("span", { class: `badge state-${state}` }, state || "?");
}

/** A log line as the stream shows it; takes both the /api/logs and the explain record shapes. */
export function lineRow(record, here) {
  const level = record.lvl ?? record.level ?? "";
  const message = record.msg ?? record.message ?? "";
  return el("div", { class: `row ${levelClass(level)}${here ? " here" : ""}`, title: message },
    el("span", { class: "ts" }, shortTime(record.ts)),
    el("span", { class: "svc" }, record.svc ?? record.service ?? ""),
    el("span", { class: "lvl" }, level),
    el("span", { class: "msg" }, richText(message)));
}

/** A fix step split into the command and the `# why` after it; prose stays prose. Steps are
 * commands when they carry a `# why` or start like one (lower case, no closing full stop). */
function fixStep(step) {
  const text = String(step);
  const comment = text.match(/^(.*?\S)\s{2,}#\s*(.*)$/);
  if (comment) return { command: comment[1], why: comment[2] };
  if (/^[a-z][\w.-]*\s/.test(text) && !/\.\s*$/.test(text)) return { command: text, why: "" };
  return { text };
}

function copyButton(text) {
  return el("button", { type: "button", class: "copy", title: "Copy the command", onclick: async (event) => {
    const button = event.currentTarget;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "copied";
    } catch {
      button.textContent = "select it"; // no clipboard here (an insecure origin): select by hand
    }
  } }, "copy");
}

function fixList(steps) {
  return el("ol", { class: "fix", "data-role": "fix" }, steps.map((step) => {
    const part = fixStep(step);
    if (part.text !== undefined) return el("li", {}, part.text);
    return el("li", {}, el("code", { class: "cmd" }, part.command), copyButton(part.command),
      part.why ? el("div", { class: "why" }, part.why) : null);
  }));
}

function percent(value) {
  return `${Math.round(Number(value || 0) * 100)}%`;
}

/** The offline explainer's reading: what happened, the root cause, the known failure it matches,
 * the fix to try and how sure it is. Takes an incident's explanation (signature and root cause as
 * objects) and an alert's (their names only). */
export function explanationBlock(x) {
  const signature = typeof x.signature === "string" ? { name: x.signature, id: x.signature_id } : x.signature;
  const cause = typeof x.root_cause === "string" ? { service: x.root_cause } : x.root_cause || {};
  const others = x.other_signatures || [];
  const from = x.confidence_from ? Object.entries(x.confidence_from).map(([k, v]) => `${k.replace(/_/g, " ")} ${percent(v)}`).join(", ") : "";
  return el("section", { class: "explain", "data-role": "explanation" },
    el("h3", {}, "What happened"),
    el("p", {}, x.what_happened || ""),
    cause.service ? el("p", {}, el("strong", {}, "Root cause: "), cause.service, cause.reading ? " — " + cause.reading : "") : null,
    cause.first_line ? el("div", { class: "context" }, lineRow({ ts: cause.first_event_ts, service: cause.service, level: "", message: cause.first_line }, true)) : null,
    signature
      ? el("p", { "data-role": "signature", "data-signature": signature.id || "" },
        el("strong", {}, "Signature: "), el("span", { class: "sig-name" }, signature.name),
        signature.category ? el("span", { class: "badge" }, signature.category) : null,
        signature.score !== undefined ? ` score ${Number(signature.score).toFixed(2)}` : "",
        signature.source ? ` · ${signature.source}` : "",
        signature.learned_from ? ` (learned from ${signature.learned_from})` : "",
        signature.summary ? el("div", { class: "muted" }, signature.summary) : null)
      : el("p", { class: "muted", "data-role": "signature" }, "No known failure signature matches."),
    signature?.why?.length ? el("details", {}, el("summary", {}, "Why this signature"), el("ul", {}, signature.why.map((w) => el("li", {}, w)))) : null,
    others.length ? el("p", { class: "muted" }, "Also considered: " + others.map((s) => `${s.name} (${Number(s.score).toFixed(2)})`).join(", ")) : null,
    x.fix?.length ? [el("h3", {}, "Suggested fix"), fixList(x.fix)] : null,
    el("p", { class: "confidence", title: from },
      el("strong", {}, "Confidence "), meter(x.confidence), " " + percent(x.confidence), from ? el("span", { class: "muted" }, ` (${from})`) : null),
    x.notes?.length ? el("ul", { class: "notes muted" }, x.notes.map((n) => el("li", {}, n))) : null,
    x.evidence?.length ? el("details", {}, el("summary", {}, `${x.evidence.length} line${x.evidence.length === 1 ? "" : "s"} matching it`),
      el("div", { class: "context" }, x.evidence.map((r) => lineRow(r, false)))) : null);
}

function meter(value) {
  const width = Math.max(0, Math.min(1, Number(value || 0))) * 100;
  return el("span", { class: "meter" }, el("span", { style: { width: width + "%" } }));
}
