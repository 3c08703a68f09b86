// The certlab dashboard: the bench's devices, runs in progress, prompts waiting for
// a technician and soak charts, kept live from the event stream. Each event only
// marks what it touches; the touched resource is then re-read from the API (debounced),
// so the page always shows what the station recorded.

import { ApiError, api, followEvents, setToken, setUnauthorizedHandler } from './api.js';
import { badge, duration, h, localTime, percent, tone } from './format.js';
import { renderPrompts, tickPrompts } from './prompts.js';
import { SoakSeries, renderSoaks } from './soak.js';

const $ = (id) => document.getElementById(id);

const state = {
  devices: [],
  runs: [],           // GET /v1/runs, newest first
  details: new Map(), // run id -> GET /v1/runs/{id}
  live: new Map(),    // run id -> the last `step` event's data, with when it came
  progress: new Map(),// run id -> the largest progress shown (it never goes back)
  soak: null,         // SoakSeries of the run the charts show
  soakSearched: false,
};

// ---- Refreshing, debounced: a burst of events costs one request per resource.

const timers = new Map();
const busy = new Map();

function schedule(key, fn, delay = 250) {
  if (timers.has(key)) return;
  timers.set(key, setTimeout(async () => {
    timers.delete(key);
    if (busy.has(key)) {
      busy.set(key, 'again');  // in flight: go once more when it lands
      return;
    }
    busy.set(key, 'running');
    try {
      await fn();
    } catch (e) {
      report(e);
    } finally {
      const again = busy.get(key) === 'again';
      busy.delete(key);
      if (again) schedule(key, fn, delay);
    }
  }, delay));
}

function report(e) {
  if (e instanceof ApiError && e.status === 401) return;  // the token form is showing
  if (e instanceof ApiError && e.status === 0) setLive('offline');
  console.warn('dashboard:', e.message || e);
}

// ---- Header: station, health, link state, clock

function setLive(s) {
  const words = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', auth: 'Needs a token', offline: 'Station unreachable' };
  const node = $('live');
  node.dataset.state = s;
  node.textContent = words[s] || s;
}

async function loadHealth() {
  const health = await api('/v1/health');
  $('station').textContent = health.station_id || 'station';
  document.title = `certlab · ${health.station_id || 'station'}`;
  const node = $('health');
  node.className = `badge ${tone(health.status)}`;
  node.textContent = health.status;
  node.title = `certlabd ${health.version}, up ${duration(health.uptime_s)}`;
}

function tick() {
  const now = new Date();
  $('clock').textContent = now.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  tickPrompts();
  for (const run of activeRuns()) renderRun(run);
}

// ---- Token (when the API answers 401)

function askForToken(detail) {
  $('auth').hidden = false;
  $('auth-message').textContent = detail ? `(${detail})` : '';
  setLive('auth');
}

function wireTokenForm() {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = $('token').value;
    $('token').value = '';
    if (!value.trim()) return;
    $('auth').hidden = true;
    setToken(value);
    refreshAll();
  });
}

// ---- Devices

async function loadDevices() {
  state.devices = (await api('/v1/devices')).devices;
  renderDevices();
  renderStartForm();
}

function renderDevices() {
  const box = $('devices');
  $('device-count').textContent = state.devices.length;
  if (!state.devices.length) {
    box.replaceChildren(h('p', { class: 'empty' }, 'No device on this bench yet.'));
    return;
  }
  box.replaceChildren(...state.devices.map((d) => {
    const identity = [d.identity.manufacturer, d.identity.model, d.identity.firmware && `fw ${d.identity.firmware}`]
      .filter(Boolean).join(' · ');
    return h('article', { class: `device ${tone(d.state)}`, id: `device-${d.id}`, 'data-state': d.state },
      h('div', { class: 'head' }, h('span', { class: 'name' }, d.id), badge(d.state)),
      h('div', { class: 'sub' }, `${d.profile} · ${d.driver}`),
      h('div', { class: 'sub' }, d.address),
      identity && h('div', { class: 'sub' }, identity),
      d.current_run && h('div', { class: 'sub' }, h('a', { href: `#run-${d.current_run}` }, `running #${d.current_run}`)),
      d.state_reason && h('div', { class: 'reason' }, d.state_reason),
      h('div', { class: 'sub' }, `since ${localTime(d.state_since)}`));
  }));
}

// ---- Runs

const activeRuns = () => state.runs.filter((r) => r.status === 'queued' || r.status === 'running');

async function loadRuns() {
  state.runs = (await api('/v1/runs?limit=20')).runs;
  const active = activeRuns();
  $('run-count').textContent = active.length;
  const box = $('runs');
  for (const card of [...box.querySelectorAll('.run')]) {
    if (!active.some((r) => `run-${r.id}` === card.id)) card.remove();
  }
  box.querySelector('.empty')?.remove();
  if (!active.length) box.replaceChildren(h('p', { class: 'empty' }, 'No run in progress.'));
  for (const run of [...active].reverse()) {
    renderRun(run);
    schedule(`run-${run.id}`, () => loadRun(run.id), 0);
  }
  renderRecent();
  if (!state.soak && !state.soakSearched) {
    state.soakSearched = true;
    await findSoak();
  }
}

async function loadRun(id) {
  const detail = await api(`/v1/runs/${id}?steps=0`);
  state.details.set(id, detail);
  const listed = state.runs.find((r) => r.id === id);
  if (listed) Object.assign(listed, detail.run);
  if (activeRuns().some((r) => r.id === id)) renderRun(detail.run);
  if (detail.scenarios.some((s) => s.stats) && (!state.soak || state.soak.run !== id) &&
      (detail.run.status === 'running' || !state.soak)) {
    state.soak = new SoakSeries(id);
  }
  if (state.soak && state.soak.run === id) schedule('soak', updateSoak, 0);
}

/** The newest ended run with a soak scenario, for the charts of a page opened later. */
async function findSoak() {
  for (const run of state.runs.slice(0, 5)) {
    const detail = await api(`/v1/runs/${run.id}?steps=0`);
    state.details.set(run.id, detail);
    if (detail.scenarios.some((s) => s.stats)) {
      if (!state.soak) state.soak = new SoakSeries(run.id);
      schedule('soak', updateSoak, 0);
      return;
    }
  }
}

async function updateSoak() {
  const series = state.soak;
  if (!series) return;
  const detail = await api(`/v1/runs/${series.run}?steps=0`);
  state.details.set(series.run, detail);
  await series.update();
  if (state.soak !== series) return;
  $('soak-run').textContent = `run #${series.run} · ${detail.run.suite_title || detail.run.suite} on ${detail.run.device}`;
  renderSoaks($('soaks'), detail, series);
}

/** Where a run is: scenario, step, soak iteration, and how far along it is (0..1). */
function whereIs(run) {
  const detail = state.details.get(run.id);
  const live = state.live.get(run.id);
  const scenarios = detail ? detail.scenarios : [];
  const done = scenarios.filter((s) => s.outcome !== null).length;
  let current = scenarios.find((s) => s.outcome === null);
  if (live && (!current || current.id !== live.scenario) && !scenarios.some((s) => s.id === live.scenario && s.outcome)) {
    current = { id: live.scenario, title: '', iterations: 0, iterations_planned: live.iterations_planned };
  }
  const planned = current ? Math.max(current.iterations_planned || 0, live && live.scenario === current.id ? live.iterations_planned : 0) : 0;
  let iteration = null;
  let fraction = 0;
  if (current && planned > 1) {
    const liveIt = live && live.scenario === current.id ? live.iteration : 0;
    const doneIts = Math.max(current.iterations || 0, liveIt);
    iteration = Math.min(planned, liveIt + 1);
    fraction = Math.min(1, doneIts / planned);
  }
  const total = Math.max(run.scenarios_total || 0, scenarios.length, 1);
  let progress = run.status === 'running' || run.status === 'queued' ? (done + fraction) / total : 1;
  progress = Math.max(progress, state.progress.get(run.id) || 0);
  state.progress.set(run.id, progress);
  const ordinal = current ? scenarios.findIndex((s) => s.id === current.id) : -1;
  return { current, ordinal: ordinal >= 0 ? ordinal + 1 : done + 1, total, planned, iteration, progress, live };
}

function eta(run, progress) {
  if (run.status !== 'running' || progress < 0.01) return '—';
  const elapsed = (Date.now() - new Date(run.started_at).getTime()) / 1000;
  if (elapsed < 3) return '—';
  const left = (elapsed * (1 - progress)) / progress;
  const at = new Date(Date.now() + left * 1000);
  return `≈ ${duration(left)} (at ${localTime(at.toISOString())})`;
}

function runCard(run) {
  const id = `run-${run.id}`;
  let card = document.getElementById(id);
  if (card) return card;
  const field = (name, label) => [h('dt', {}, label), h('dd', { class: name })];
  card = h('article', { class: 'run', id, 'data-run': run.id },
    h('div', { class: 'head' }, h('span', { class: 'title' }), h('span', { class: 'status' })),
    h('div', { class: 'progress' },
      h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0, 'aria-label': `run ${run.id} progress` },
        h('div', { class: 'fill' })),
      h('span', { class: 'pct num' }, '0 %')),
    h('dl', {},
      ...field('scenario', 'Scenario'), ...field('step', 'Step'), ...field('iteration num', 'Iteration'),
      ...field('times num', 'Started'), ...field('eta num', 'ETA')));
  $('runs').prepend(card);
  return card;
}

function renderRun(run) {
  const card = runCard(run);
  const w = whereIs(run);
  const q = (sel) => card.querySelector(sel);
  q('.title').textContent = `#${run.id} ${run.suite_title || run.suite} on ${run.device}`;
  q('.status').replaceChildren(badge(run.status));
  const pct = Math.round(w.progress * 1000) / 10;
  q('.bar').setAttribute('aria-valuenow', String(pct));
  q('.bar').setAttribute('aria-valuetext', `${pct} %`);
  q('.fill').style.width = `${pct}%`;  // CSSOM, which the CSP allows (a style attribute it would not)
  q('.pct').textContent = percent(w.progress);
  q('.scenario').textContent = w.current
    ? `${w.ordinal} of ${w.total}: ${w.current.id}${w.current.title ? ` — ${w.current.title}` : ''}`
    : run.status === 'queued' ? 'waiting for the device' : `${w.ordinal - 1} of ${w.total} done`;
  const step = w.live;
  q('.step').replaceChildren(...(step
    ? [`${step.index + 1}. ${step.action || step.kind}${step.phase !== 'main' ? ` (${step.phase})` : ''} `, badge(step.outcome)]
    : ['—']));
  q('.iteration').textContent = w.iteration !== null ? `${w.iteration} of ${w.planned}` : '—';
  const elapsed = run.status === 'running' ? (Date.now() - new Date(run.started_at).getTime()) / 1000 : null;
  q('.times').textContent = run.status === 'queued' ? '—' : `${localTime(run.started_at)} · ${duration(elapsed)} ago`;
  q('.eta').textContent = eta(run, w.progress);
}

function renderRecent() {
  const ended = state.runs.filter((r) => r.status !== 'queued' && r.status !== 'running').slice(0, 10);
  const body = $('recent');
  if (!ended.length) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No run has ended yet.')));
    return;
  }
  body.replaceChildren(...ended.map((r) => h('tr', { id: `recent-${r.id}` },
    h('td', { class: 'num' }, `#${r.id}`),
    h('td', {}, r.suite_title || r.suite),
    h('td', {}, r.device),
    h('td', {}, badge(r.outcome || r.status)),
    h('td', { class: 'num' }, localTime(r.started_at)),
    h('td', { class: 'num' }, duration(r.duration_s)),
    h('td', { class: 'reason' }, r.reason || ''))));
}

// ---- Starting a run (operators)

let suites = [];

async function loadSuites() {
  suites = (await api('/v1/suites')).suites;
  renderStartForm();
}

function renderStartForm() {
  if (!suites.length || !state.devices.length) return;
  const fill = (select, items) => {
    // Rebuilt only when the options change: rebuilding closes an open drop-down.
    const signature = JSON.stringify(items);
    if (select.dataset.signature === signature) return;
    select.dataset.signature = signature;
    const keep = select.value;
    select.replaceChildren(...items.map(([value, label]) => h('option', { value }, label)));
    if (items.some(([value]) => value === keep)) select.value = keep;
  };
  fill($('start-suite'), suites.map((s) => [s.id, s.title || s.id]));
  fill($('start-device'), state.devices.map((d) => [d.id, `${d.id} (${d.state})`]));
  $('start-form').hidden = false;
}

function wireStartForm() {
  $('start-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const msg = $('start-message');
    msg.textContent = '';
    try {
      const res = await api('/v1/runs', { method: 'POST', body: { device: $('start-device').value, suite: $('start-suite').value } });
      msg.textContent = '';
      schedule('runs', loadRuns, 0);
      schedule('devices', loadDevices, 0);
      msg.textContent = `Run #${res.id} queued.`;
    } catch (e) {
      msg.textContent = e.status === 403 ? `Starting runs needs the operator role: ${e.message}` : e.message;
    }
  });
}

// ---- Events

function onEvent({ type, data }) {
  switch (type) {
    case 'device.state': {
      const d = state.devices.find((x) => x.id === data.device);
      if (d) {
        d.state = data.state;
        d.state_reason = data.reason;
        renderDevices();
      }
      schedule('devices', loadDevices);
      break;
    }
    case 'run.queued': case 'run.started': case 'run.ended':
      schedule('runs', loadRuns);
      schedule('devices', loadDevices);
      schedule(`run-${data.run}`, () => loadRun(data.run), 100);
      break;
    case 'step': {
      state.live.set(data.run, { ...data, at: Date.now() });
      const run = state.runs.find((r) => r.id === data.run);
      if (run && run.status === 'running') renderRun(run);
      else schedule('runs', loadRuns);
      schedule(`run-${data.run}`, () => loadRun(data.run), 1000);
      if (state.soak && state.soak.run === data.run) schedule('soak', updateSoak, 1000);
      break;
    }
    case 'scenario.ended':
      schedule(`run-${data.run}`, () => loadRun(data.run), 100);
      break;
    case 'prompt.opened': case 'prompt.answered': case 'prompt.closed':
      schedule('prompts', loadPrompts, 50);
      break;
    case 'gap':
      refreshAll();
      break;
    default:
      break;  // newer event types: not ours to show yet
  }
}

async function loadPrompts() {
  renderPrompts((await api('/v1/prompts')).prompts, { answered: () => schedule('prompts', loadPrompts, 0) });
}

function refreshAll() {
  schedule('health', loadHealth, 0);
  schedule('devices', loadDevices, 0);
  schedule('runs', loadRuns, 0);
  schedule('prompts', loadPrompts, 0);
  schedule('suites', loadSuites, 0);
}

function start() {
  $('tz').textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || 'browser time';
  setUnauthorizedHandler(askForToken);
  wireTokenForm();
  wireStartForm();
  tick();
  setInterval(tick, 1000);
  // Every (re)connection takes a fresh snapshot after the stream is open, so nothing
  // that happens in between is lost; resumed streams replay what was missed anyway.
  refreshAll();
  followEvents({ event: onEvent, status: setLive, opened: refreshAll });
  // A slow safety net for anything an event did not say (a device's identity, say).
  setInterval(refreshAll, 60000);
}

start();
