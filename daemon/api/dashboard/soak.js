// A soak run's charts: pass rate and latency per iteration, recounted here from the
// run's committed steps (GET /v1/runs/{id}/steps, followed with ?after=), beside the
// station's own running statistics (the scenario's `stats`).

import { api } from './api.js';
import { downsample, lineChart } from './chart.js';
import { h, ms, percent } from './format.js';

// Steps per request (the API's largest page) and pages per update, so one update of a
// long soak's backlog stays bounded; the next update carries on from the cursor.
const PAGE = 1000;
const PAGES_PER_UPDATE = 20;
// Points drawn per chart; more iterations are bucketed.
const MAX_POINTS = 300;

export class SoakSeries {
  constructor(runId) {
    this.run = runId;
    this.after = 0;
    this.results = new Map();  // scenario_result_id -> Map(iteration -> {latencyUs, outcome})
  }

  /** Reads the steps committed since the last update. */
  async update() {
    for (let page = 0; page < PAGES_PER_UPDATE; page += 1) {
      const doc = await api(`/v1/runs/${this.run}/steps?after=${this.after}&limit=${PAGE}`);
      for (const step of doc.steps) this.add(step);
      const moved = doc.next_after !== this.after;
      this.after = doc.next_after;
      if (!moved || doc.steps.length < PAGE) break;
    }
  }

  add(step) {
    if (step.phase !== 'main') return;
    let iterations = this.results.get(step.scenario_result_id);
    if (!iterations) {
      iterations = new Map();
      this.results.set(step.scenario_result_id, iterations);
    }
    let it = iterations.get(step.iteration);
    if (!it) {
      it = { latencyUs: 0, calls: 0, outcome: 'pass' };
      iterations.set(step.iteration, it);
    }
    // As the station counts them (docs/API.md, soak stats): latency of answered
    // calls; an iteration's outcome is its first bad step that was not retried.
    if (step.kind === 'call' && (step.outcome === 'pass' || step.outcome === 'fail')) {
      it.latencyUs += step.duration_us;
      it.calls += 1;
    }
    if (!step.retried && step.outcome !== 'pass' && step.outcome !== 'skipped' && it.outcome === 'pass') {
      it.outcome = step.outcome;
    }
  }

  /** {latency, passRate}: chart points for one scenario result, by iteration (1-based). */
  series(resultId) {
    const iterations = this.results.get(resultId) || new Map();
    const order = [...iterations.keys()].sort((a, b) => a - b);
    const latency = [];
    const passRate = [];
    let passed = 0;
    order.forEach((n, i) => {
      const it = iterations.get(n);
      const bad = it.outcome !== 'pass';
      if (!bad) passed += 1;
      if (it.calls > 0) latency.push({ x: n + 1, y: it.latencyUs / 1000, bad });
      passRate.push({ x: n + 1, y: (passed / (i + 1)) * 100, bad });
    });
    return { latency, passRate };
  }
}

function statsLine(scenario) {
  const s = scenario.stats || {};
  const items = [
    ['Iterations', `${s.iterations ?? scenario.iterations} of ${scenario.iterations_planned || '∞'}`],
    ['Pass rate', percent(s.pass_rate)],
    ['Failed', s.failed ?? 0],
    ['Errors', s.errors ?? 0],
    ['Timeouts', s.timeouts ?? 0],
  ];
  if (s.power_cycles) items.push(['Power cycles', s.power_cycles]);
  for (const l of s.latency || []) {
    items.push([l.action, `p50 ${ms(l.p50_ms)} · p95 ${ms(l.p95_ms)} · p99 ${ms(l.p99_ms)} · max ${ms(l.max_ms)}`]);
  }
  return h('div', { class: 'stats' }, ...items.map(([k, v]) => h('span', {}, `${k}: `, h('b', { class: 'num' }, String(v)))));
}

/** The soak section for `detail` (GET /v1/runs/{id}), charts from `series`. */
export function renderSoaks(container, detail, series) {
  const soaks = detail.scenarios.filter((s) => s.stats);
  if (!soaks.length) {
    container.replaceChildren(h('p', { class: 'empty' }, 'This run has no soak scenario.'));
    return;
  }
  container.replaceChildren(...soaks.map((scenario) => {
    const { latency, passRate } = series.series(scenario.result_id);
    const state = scenario.outcome ? scenario.outcome : 'running';
    return h('article', { class: 'soak', 'data-scenario': scenario.id, 'data-result': scenario.result_id },
      h('h3', {}, `${scenario.id} — ${scenario.title} `, h('span', { class: 'muted' }, `(${state})`)),
      statsLine(scenario),
      h('div', { class: 'charts' },
        lineChart(downsample(passRate, MAX_POINTS), {
          title: 'Pass rate, cumulative', unit: '%', yMax: 100, line: true, dots: true,
          format: (v) => `${v.toFixed(1)} %`,
        }),
        lineChart(downsample(latency, MAX_POINTS), {
          title: 'Latency per iteration', unit: 'ms', dots: true, line: false, format: ms,
        })));
  }));
}
