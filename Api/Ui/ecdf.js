import { svg, num } from './dom.js';

/** The empirical CDF as step points: sorted values with F(x) = (i + 1) / n. */
export function ecdf(values) {
  const sorted = values.filter(v => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.map((x, i) => ({ x, y: (i + 1) / sorted.length }));
}

/**
 * Baseline against canary as two ECDF step lines in one SVG. The two are told apart by colour, by dash (canary
 * dashed) and by a text legend with the sample counts.
 */
export function ecdfPlot(baseline, canary, { width = 420, height = 220, title = '' } = {}) {
  const b = ecdf(baseline);
  const c = ecdf(canary);
  const all = [...b, ...c].map(p => p.x);
  const pad = { left: 44, right: 12, top: 12, bottom: 34 };
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `${title} ECDF: baseline ${b.length} samples, canary ${c.length} samples`, class: 'ecdf' });
  if (!all.length) {
    root.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'muted', text: 'no samples' }));
    return root;
  }
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (lo === hi) { lo -= 1; hi += 1; }
  const sx = x => pad.left + ((x - lo) / (hi - lo)) * (width - pad.left - pad.right);
  const sy = y => height - pad.bottom - y * (height - pad.top - pad.bottom);
  const axes = svg('g', { class: 'axes' },
    svg('line', { x1: pad.left, y1: sy(0), x2: width - pad.right, y2: sy(0) }),
    svg('line', { x1: pad.left, y1: sy(0), x2: pad.left, y2: sy(1) }),
    svg('text', { x: pad.left - 4, y: sy(1) + 4, 'text-anchor': 'end', text: '1' }),
    svg('text', { x: pad.left - 4, y: sy(0), 'text-anchor': 'end', text: '0' }),
    svg('text', { x: pad.left, y: height - pad.bottom + 14, 'text-anchor': 'start', text: num(lo) }),
    svg('text', { x: width - pad.right, y: height - pad.bottom + 14, 'text-anchor': 'end', text: num(hi) }));
  root.append(axes);
  const line = (points, cls) => {
    if (!points.length) return null;
    let d = `M ${sx(lo)} ${sy(0)} H ${sx(points[0].x)}`;
    let prev = 0;
    for (const p of points) {
      d += ` V ${sy(p.y)}`;
      prev = p.y;
      d += ` H ${sx(p.x)}`;
    }
    d += ` V ${sy(prev)} H ${sx(hi)}`;
    return svg('path', { d, class: cls, fill: 'none' });
  };
  root.append(line(b, 'line-baseline'), line(c, 'line-canary'));
  root.append(svg('g', { class: 'legend' },
    svg('line', { x1: pad.left, y1: height - 8, x2: pad.left + 24, y2: height - 8, class: 'line-baseline' }),
    svg('text', { x: pad.left + 28, y: height - 4, text: `baseline (n=${b.length}, solid)` }),
    svg('line', { x1: pad.left + 190, y1: height - 8, x2: pad.left + 214, y2: height - 8, class: 'line-canary' }),
    svg('text', { x: pad.left + 218, y: height - 4, text: `canary (n=${c.length}, dashed)` })));
  return root;
}
