// The daemon's API, as the dashboard uses it: JSON over fetch, the live channel over a WebSocket,
// and the access token (when auth is on) sent with each.

const TOKEN_KEY = "loglens.token";

/** The token to send: from `#token=…` in the address once (then kept, and removed from the bar), or kept. */
export function token() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    localStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return localStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

/** An API error: the HTTP status and the server's sentence. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const listeners = { unauthorized: [] };
const decoder = new TextDecoder();

/** Calls `fn` whenever the API answers 401/403 (the page then asks for a token). */
export function onUnauthorized(fn) {
  listeners.unauthorized.push(fn);
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => search.append(key, v));
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text ? "?" + text : "";
}

/** GET (or another method with a JSON body) of an API path; the parsed JSON, or an ApiError. */
export async function api(path, params = {}, init = {}) {
  const headers = { Accept: "application/json", ...(init.headers || {}) };
  const secret = token();
  if (secret) headers.Authorization = "Bearer " + secret;
  if (init.json !== undefined) {
    headers["Content-Type"] = "application/json";
    init = { ...init, body: JSON.stringify(init.json) };
  }
  const answer = await fetch(path + query(params), { ...init, headers });
  if (answer.status === 401 || answer.status === 403) listeners.unauthorized.forEach((fn) => fn());
  const type = answer.headers.get("content-type") || "";
  const body = type.includes("json") ? await answer.json() : await answer.text();
  if (!answer.ok) {
    const reason = typeof body === "object" ? body.error || body.detail || JSON.stringify(body) : body;
    throw new ApiError(answer.status, typeof reason === "string" ? reason : JSON.stringify(reason));
  }
  return body;
}

/**
 * The live channel, reconnecting with back-off: `onMessage(message)` for each JSON message
 * (`records` batches, `anomaly`, `incident`, `alert`, `missed`, `heartbeat`), `onState("open"|"closed"|
 * "error", detail)`. Returns `{close()}`.
 */
export function live(filters, onMessage, onState = () => {}) {
  let socket = null;
  let closed = false;
  let delay = 500;
  let timer = null;
  const connect = () => {
    const params = { ...filters, batch: "true", heartbeat: 10 };
    const secret = token();
    if (secret) params.token = secret;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}/api/live${query(params)}`);
    socket.binaryType = "arraybuffer"; // the daemon sends JSON as binary frames (orjson bytes)
    socket.onopen = () => {
      delay = 500;
      onState("open");
    };
    socket.onmessage = (event) => {
      try {
        const text = typeof event.data === "string" ? event.data : decoder.decode(event.data);
        onMessage(JSON.parse(text));
      } catch (err) {
        console.warn("loglens: unreadable live message", err);
      }
    };
    socket.onclose = (event) => {
      if (closed) return;
      onState(event.code === 1008 ? "error" : "closed", event.reason);
      if (event.code === 1008) return; // a filter the server cannot read: reconnecting would not help
      timer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  };
  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (socket) socket.close();
    },
  };
}
