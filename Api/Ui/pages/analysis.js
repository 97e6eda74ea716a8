import { api } from '../api.js';
import { h, clear, badge, num, time } from '../dom.js';
import { ecdfPlot } from '../ecdf.js';

/** A canary analysis: per metric, baseline against canary as ECDFs, with classification, interval, p-value, effect size; the score and outcome. */
export function render(main, ctx, id) {
  const body = h('div');
  main.append(h('p', h('a', { href: '#/', text: '← Fleet' })), h('h2', { text: `Canary analysis ${id}` }), body);
  let stopped = false;
  let timer = null;

  async function load() {
    try {
      const a = await api(`/v1/analyses/${encodeURIComponent(id)}`);
      if (stopped) return;
      draw(a);
      if (a.status === 'running') timer = setTimeout(load, 2000);
    } catch (e) {
      ctx.fail(e);
    }
  }

  function draw(a) {
    clear(body);
    const verdict = a.verdict;
    body.append(
      h('p.summary', badge(a.outcome || a.status), ' ',
        h('a', { href: `#/rollout/${encodeURIComponent(a.rolloutId)}`, text: a.rolloutId }),
        ` · step ${a.step} · canary ${a.canaryVersion} against baseline ${a.baselineVersion || '—'}`),
      h('p.reason', { text: a.reason || '' }),
      h('dl.facts',
        h('dt', { text: 'Score' }), h('dd', { 'data-testid': 'score', text: verdict ? `${num(verdict.score)} (${verdict.outcome})` : 'not judged yet' }),
        verdict ? [h('dt', { text: 'Judge' }), h('dd', { text: verdict.reason })] : null,
        verdict && Object.keys(verdict.groupScores || {}).length
          ? [h('dt', { text: 'Group scores' }), h('dd', { text: Object.entries(verdict.groupScores).map(([g, s]) => `${g} ${num(s)}`).join(', ') })] : null,
        h('dt', { text: 'Started' }), h('dd', { text: time(a.startedAt) }),
        h('dt', { text: 'Concluded' }), h('dd', { text: time(a.concludedAt) })));

    const verdicts = new Map((verdict?.metrics || []).map(m => [m.name, m]));
    const names = [...new Set([...Object.keys(a.samples || {}), ...verdicts.keys()])];
    for (const name of names) {
      const samples = a.samples?.[name] || { baseline: [], canary: [] };
      const m = verdicts.get(name);
      body.append(h('section.card.metric', { 'aria-labelledby': `metric-${name}` },
        h('h3', { id: `metric-${name}` }, name, ' ', m ? badge(m.classification) : badge('not judged', 'pending'), m?.critical ? h('span.muted', { text: ' critical' }) : null),
        h('div.metric-body',
          ecdfPlot(samples.baseline, samples.canary, { title: name }),
          m ? h('dl.facts',
            h('dt', { text: 'Classification' }), h('dd', { text: m.classification }),
            h('dt', { text: 'Shift (canary − baseline)' }), h('dd', { text: num(m.estimate) }),
            h('dt', { text: 'Interval' }), h('dd', { text: m.lower === undefined && m.upper === undefined ? '—' : `[${num(m.lower)}, ${num(m.upper)}]` }),
            h('dt', { text: 'p-value' }), h('dd', { text: num(m.pValue) }),
            h('dt', { text: 'Effect size' }), h('dd', { text: num(m.effectSize) }),
            h('dt', { text: 'Samples' }), h('dd', { text: `${m.baselineCount} baseline, ${m.canaryCount} canary` }),
            h('dt', { text: 'Why' }), h('dd', { text: m.reason })) : h('p.muted', { text: 'No classification yet.' }))));
    }
    if (!names.length) body.append(h('p.muted', { text: 'No judge metrics in this analysis.' }));
    if (a.run) {
      body.append(h('section.card', h('h3', { text: `Threshold metrics: ${a.run.phase}` }), h('p', { text: a.run.reason }),
        h('table', h('thead', h('tr', ['metric', 'phase', 'measurements', 'failed', 'inconclusive', 'errors', 'why'].map(t => h('th', { scope: 'col', text: t })))),
          h('tbody', a.run.metrics.map(m => h('tr', h('td', { text: m.name }), h('td', badge(m.phase)),
            h('td', { text: m.measurements.map(x => x.error ? `error` : num(x.value)).join(', ') }),
            h('td', { text: String(m.failed) }), h('td', { text: String(m.inconclusive) }), h('td', { text: String(m.error) }), h('td', { text: m.reason })))))));
    }
  }

  load();
  return () => { stopped = true; clearTimeout(timer); };
}
