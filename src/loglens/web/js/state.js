// What every view shares: the time range, the filter, and a small event bus linking the views
// (a drag on the timeline zooms every view; a click on a pattern filters the stream).

const handlers = new Map();

/** Subscribes `fn` to `event`; returns the function that unsubscribes. */
export function on(event, fn) {
  if (!handlers.has(event)) handlers.set(event, new Set());
  handlers.get(event).add(fn);
  return () => handlers.get(event).delete(fn);
}

/** Calls every subscriber of `event` with `detail`. */
export function emit(event, detail) {
  for (const fn of handlers.get(event) || []) {
    try {
      fn(detail);
    } catch (err) {
      console.error(`loglens: a view failed on ${event}`, err);
    }
  }
}

export const RELATIVE = { "15m": 15 * 60e3, "1h": 3600e3, "6h": 6 * 3600e3, "24h": 24 * 3600e3, "7d": 7 * 86400e3 };

/**
 * The shared state. `range`: `{relative: "1h"}` (the last hour, moving) or `{since, until}` in ms
 * (a fixed window, after a zoom). `query`: the filter box's text (the query language).
 */
export const state = {
  range: { relative: "1h" },
  query: "",
  paused: false,
};

/** The current range as `{since, until}` in ms (a relative range ends now). */
export function timeWindow() {
  if (state.range.relative) {
    const until = Date.now();
    return { since: until - RELATIVE[state.range.relative], until, live: true };
  }
  return { since: state.range.since, until: state.range.until, live: false };
}

/** Sets the range (relative name or fixed ms bounds) and tells every view. */
export function setRange(range) {
  state.range = range;
  emit("range", timeWindow());
}

/** Sets the filter text and tells every view. */
export function setQuery(text) {
  state.query = text;
  emit("query", text);
}
