// Talking to certlabd: JSON requests with the bearer token when there is one, and
// the live event stream read with fetch() (EventSource cannot send an Authorization
// header), parsed here and resumed with Last-Event-ID after a drop.

const TOKEN_KEY = 'certlab.token';

/** A refused request: `status` is the HTTP status (0: the station is unreachable). */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

let token = sessionStorage.getItem(TOKEN_KEY) || '';
let onUnauthorized = () => {};
const tokenWaiters = [];

/** `fn(detail)` runs whenever the API answers 401 (the page asks for a token). */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/** Keeps `value` for this browser tab only, and wakes what waited for a token. */
export function setToken(value) {
  token = value.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  while (tokenWaiters.length) tokenWaiters.shift()();
}

function waitForToken() { return new Promise((resolve) => tokenWaiters.push(resolve)); }

function authHeaders(headers) {
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

/** GET (or `method` with a JSON `body`) `path`; resolves to the parsed JSON document. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = authHeaders({ Accept: 'application/json' });
  const init = { method, headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `the station is unreachable (${e.message})`);
  }
  let doc = null;
  try {
    doc = await res.json();
  } catch {
    doc = null;
  }
  if (!res.ok) {
    const detail = (doc && (doc.detail || doc.title)) || `${res.status} ${res.statusText}`;
    if (res.status === 401) onUnauthorized(detail);
    throw new ApiError(res.status, detail);
  }
  return doc;
}

/**
 * Splits server-sent-event text into events (https://html.spec.whatwg.org/#event-stream-interpretation).
 * Feed it chunks as they arrive; it calls `dispatch({type, data, id})` for each complete event.
 */
export class SseParser {
  constructor(dispatch) {
    this.dispatch = dispatch;
    this.buffer = '';
    this.reset();
  }

  reset() {
    this.type = '';
    this.data = [];
    this.id = null;
  }

  push(chunk) {
    this.buffer += chunk;
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl < 0) break;
      let line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.data.length) this.dispatch({ type: this.type || 'message', data: this.data.join('\n'), id: this.id });
      this.reset();
      return;
    }
    if (line.startsWith(':')) return;  // a comment: the server's keep-alive ping
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    // `retry` is ignored: reconnecting is timed below.
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follows GET /v1/events for as long as the page lives. `handlers.event(e)` gets each
 * event (`e.data` parsed), `handlers.status(s)` the link state (`connecting`, `live`,
 * `reconnecting`, `auth`), `handlers.opened(resumed)` each (re)connection, so the page
 * can take a fresh snapshot. Ids are kept as strings: they are compared by the server.
 */
export async function followEvents(handlers) {
  let lastEventId = null;
  let failures = 0;
  // The server pings after 15 s of quiet; twice that without a byte means a dead link.
  const silence = 35000;
  for (;;) {
    const abort = new AbortController();
    let watchdog = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(), silence);
    };
    try {
      const headers = authHeaders({ Accept: 'text/event-stream' });
      if (lastEventId !== null) headers['Last-Event-ID'] = lastEventId;
      arm();
      const res = await fetch('/v1/events', { headers, cache: 'no-store', signal: abort.signal });
      if (res.status === 401) {
        clearTimeout(watchdog);
        handlers.status('auth');
        onUnauthorized('the event stream needs a token');
        await waitForToken();
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      handlers.status('live');
      failures = 0;
      handlers.opened(lastEventId !== null);
      const parser = new SseParser((e) => {
        if (e.id !== null) lastEventId = e.id;
        let data = null;
        try {
          data = JSON.parse(e.data);
        } catch {
          return;  // not ours to read; the stream goes on
        }
        handlers.event({ type: e.type, data, id: e.id });
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        arm();
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
    } catch (e) {
      // A drop, a refused connection or the watchdog: all end here and reconnect.
    } finally {
      clearTimeout(watchdog);
      abort.abort();
    }
    handlers.status('reconnecting');
    failures += 1;
    await sleep(Math.min(10000, 500 * 2 ** Math.min(failures, 5)));
  }
}
