// Times, numbers and levels as the dashboard shows them.

export const LEVELS = ["trace", "debug", "info", "notice", "warning", "error", "critical", "fatal"];

/** The CSS class of a level's colour (critical/fatal #FF4444, error #FF6B6B, warning #FFA500,
 * info/notice #4A90E2, debug/trace #9CA3AF). */
export function levelClass(level) {
  switch (level) {
    case "fatal":
    case "critical":
      return "lvl-critical";
    case "error":
      return "lvl-error";
    case "warning":
      return "lvl-warning";
    case "info":
    case "notice":
      return "lvl-info";
    default:
      return "lvl-debug";
  }
}

/** The colour variable name of a level, for canvases (`--lvl-error` …). */
export function levelColour(level) {
  return getComputedStyle(document.documentElement).getPropertyValue("--" + levelClass(level)).trim();
}

/** `2026-11-27T10:00:00.123Z` → `10:00:00.123` (with the date when it is not today). */
export function shortTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const time = d.toISOString().slice(11, 23);
  const today = new Date().toISOString().slice(0, 10);
  const day = d.toISOString().slice(0, 10);
  return day === today ? time : `${day} ${time}`;
}

/** Milliseconds since the epoch → RFC 3339 with milliseconds (what the API's since/until take). */
export function iso(ms) {
  return new Date(ms).toISOString();
}

/** 1234567 → "1,234,567". */
export function count(n) {
  return Number(n || 0).toLocaleString("en-US");
}

/** A compact count: 1234 → "1.2k", 2500000 → "2.5M". */
export function compact(n) {
  const value = Number(n || 0);
  if (value >= 1e6) return (value / 1e6).toFixed(1) + "M";
  if (value >= 1e3) return (value / 1e3).toFixed(1) + "k";
  return String(value);
}

/** A bucket length (ms) that gives about `target` buckets over `span` ms, in the API's units. */
export function bucketFor(spanMs, target = 120) {
  const steps = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  const wanted = spanMs / target / 1000;
  const seconds = steps.find((s) => s >= wanted) || 86400;
  return { ms: seconds * 1000, text: seconds % 3600 === 0 ? `${seconds / 3600}h` : seconds % 60 === 0 ? `${seconds / 60}m` : `${seconds}s` };
}

/** Milliseconds → a `<input type=datetime-local>` value, in UTC (the dashboard's inputs are UTC). */
export function toInputValue(ms) {
  return iso(ms).slice(0, 19);
}

/** A `<input type=datetime-local>` value read as UTC → milliseconds; null when empty or unreadable. */
export function fromInputValue(value) {
  const ms = value ? Date.parse(value + "Z") : NaN;
  return Number.isNaN(ms) ? null : ms;
}
