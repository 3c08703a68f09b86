// Small inline-SVG charts for soak runs: one value per iteration, drawn as a line
// and/or points, with labelled axes. Built with DOM calls (no markup strings), so
// nothing from the station can turn into script.

const SVG = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** About `count` round tick values covering [0, max]. */
function ticks(max, count) {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

/**
 * Keeps at most `max` points: beyond that, each bucket of iterations becomes one point
 * (its largest value, so a spike stays visible; bad if any of it was bad).
 */
export function downsample(points, max) {
  if (points.length <= max) return points;
  const size = Math.ceil(points.length / max);
  const out = [];
  for (let i = 0; i < points.length; i += size) {
    const bucket = points.slice(i, i + size);
    let top = bucket[0];
    for (const p of bucket) if (p.y > top.y) top = p;
    out.push({ x: bucket[bucket.length - 1].x, y: top.y, bad: bucket.some((p) => p.bad) });
  }
  return out;
}

/**
 * An SVG chart of `points` ([{x, y, bad}], x ascending).
 * options: title, unit (y axis), xLabel, yMax (fixed top, else from the data),
 * line (draw a line through the points), dots (draw each point), limit (a dashed line).
 */
export function lineChart(points, options) {
  const W = 560;
  const H = 190;
  const pad = { left: 48, right: 12, top: 26, bottom: 32 };
  const iw = W - pad.left - pad.right;
  const ih = H - pad.top - pad.bottom;
  const svg = el('svg', {
    class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': `${options.title}, ${points.length} points`,
    'data-points': points.length,
  });
  svg.append(el('title', {}, options.title));
  svg.append(el('rect', { class: 'frame', x: pad.left, y: pad.top, width: iw, height: ih }));
  svg.append(el('text', { class: 'label', x: pad.left, y: 16 }, `${options.title}${options.unit ? ` [${options.unit}]` : ''}`));

  const xMax = Math.max(1, ...points.map((p) => p.x));
  const yTop = options.yMax ?? Math.max(1e-9, ...points.map((p) => p.y), options.limit ?? 0) * 1.1;
  const sx = (x) => pad.left + (x / xMax) * iw;
  const sy = (y) => pad.top + ih - (Math.min(y, yTop) / yTop) * ih;

  for (const t of ticks(yTop, 4)) {
    if (t > yTop) continue;
    svg.append(el('line', { class: 'grid', x1: pad.left, x2: pad.left + iw, y1: sy(t), y2: sy(t) }));
    svg.append(el('text', { class: 'tick', x: pad.left - 6, y: sy(t) + 4, 'text-anchor': 'end' }, String(t)));
  }
  for (const t of ticks(xMax, 6)) {
    if (t > xMax || !Number.isInteger(t)) continue;
    svg.append(el('text', { class: 'tick', x: sx(t), y: pad.top + ih + 15, 'text-anchor': 'middle' }, String(t)));
  }
  svg.append(el('text', { class: 'tick', x: pad.left + iw, y: H - 3, 'text-anchor': 'end' }, options.xLabel || 'iteration'));

  if (options.limit !== undefined && options.limit <= yTop) {
    svg.append(el('line', { class: 'limit', x1: pad.left, x2: pad.left + iw, y1: sy(options.limit), y2: sy(options.limit) }));
  }
  if (options.line && points.length > 1) {
    const d = points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    svg.append(el('polyline', { class: 'line', points: d }));
  }
  if (options.dots) {
    const r = points.length > 150 ? 1.8 : 3;
    for (const p of points) {
      const dot = el('circle', { class: p.bad ? 'pt bad' : 'pt', cx: sx(p.x).toFixed(1), cy: sy(p.y).toFixed(1), r });
      dot.append(el('title', {}, `iteration ${p.x}: ${options.format ? options.format(p.y) : p.y}${p.bad ? ' (not passed)' : ''}`));
      svg.append(dot);
    }
  }
  if (!points.length) {
    svg.append(el('text', { class: 'tick', x: pad.left + iw / 2, y: pad.top + ih / 2, 'text-anchor': 'middle' }, 'no iteration yet'));
  }
  return svg;
}
