// How things read on the page: local times, durations, and a state's colour class
// (always shown beside its word, never instead of it).

/** An HTML element: attrs are attributes (class, id, data-*, aria-*, ...); children nodes or text. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const pad2 = (n) => String(n).padStart(2, '0');

/** `14:03:07` in the browser's time zone, with the date when it is not today. */
export function localTime(iso) {
  if (!iso) return '—';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '—';
  const clock = `${pad2(t.getHours())}:${pad2(t.getMinutes())}:${pad2(t.getSeconds())}`;
  const now = new Date();
  if (t.toDateString() === now.toDateString()) return clock;
  return `${t.getFullYear()}-${pad2(t.getMonth() + 1)}-${pad2(t.getDate())} ${clock}`;
}

/** `1 h 02 min`, `3 min 07 s`, `42 s`. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad2(s % 60)} s`;
  const hours = Math.floor(s / 3600);
  if (hours < 48) return `${hours} h ${pad2(Math.floor((s % 3600) / 60))} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Milliseconds, with the precision a reader needs. */
export function ms(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v < 10 ? `${v.toFixed(2)} ms` : v < 100 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

export function percent(fraction) {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '—';
  return `${(fraction * 100).toFixed(fraction >= 0.999 || fraction === 0 ? 0 : 1)} %`;
}

/** The colour class of a device state, run status or outcome (style.css .badge.*). */
export function tone(word) {
  switch (word) {
    case 'ready': case 'pass': case 'completed': case 'ok': case 'answered':
      return 'ok';
    case 'busy': case 'running': case 'queued':
      return 'busy';
    case 'lost': case 'timeout': case 'interrupted': case 'aborted': case 'skipped': case 'degraded':
      return 'warn';
    case 'quarantined': case 'fail': case 'error':
      return 'bad';
    default:
      return 'idle';  // present, identified, unknown words
  }
}

export function badge(word, extraClass = '') {
  return h('span', { class: `badge ${tone(word)} ${extraClass}`.trim() }, word || '—');
}
