import { api, apiOptional, hasRoute } from '../api.js';
import { h, clear, badge, time } from '../dom.js';
import { openStream } from '../sse.js';

const TERMINAL = new Set(['Succeeded', 'RolledBack', 'Failed', 'Aborted']);

/** Fleet overview: banners (incidents, freezes, budgets), environments with running and queued rollouts, versions per service and hosts per version. */
export function render(main, ctx) {
  const banners = h('section.banners', { 'aria-label': 'Alerts' });
  const body = h('div.overview');
  main.append(h('h2', { text: 'Fleet' }), banners, body);
  let stopped = false;
  let timer = null;
  let pending = null;

  async function load() {
    try {
      const [environments, incidents, listed] = await Promise.all([
        api('/v1/environments'),
        api('/v1/incidents'),
        hasRoute('/v1/rollouts').then(has => (has ? api('/v1/rollouts?limit=25') : null)),
      ]);
      const envs = environments.items;
      const details = await Promise.all(envs.map(async env => {
        const [calendar, counts] = await Promise.all([
          apiOptional(`/v1/environments/${encodeURIComponent(env.name)}/calendar?days=7`),
          hostsPerVersion(env),
        ]);
        const rollouts = await Promise.all([...env.active, ...env.queued].map(id => apiOptional(`/v1/rollouts/${encodeURIComponent(id)}`)));
        return { env, calendar, counts, rollouts: rollouts.filter(Boolean) };
      }));
      if (stopped) return;
      draw(envs, details, incidents.items ?? incidents, listed);
    } catch (e) {
      ctx.fail(e);
    }
  }

  // Hosts per version per service: one counted summary per environment (GET /v1/environments/{name}/versions, shared
  // by every dashboard for a few seconds), never a read of every host per page load.
  async function hostsPerVersion(env) {
    const rows = [];
    const counted = await hasRoute('/v1/environments/{name}/versions')
      ? await apiOptional(`/v1/environments/${encodeURIComponent(env.name)}/versions`) : null;
    if (counted) {
      for (const [service, versions] of Object.entries(counted.services || {}).sort(([a], [b]) => a.localeCompare(b))) {
        const deployed = env.services?.[service];
        for (const [version, hosts] of Object.entries(versions).sort(([, a], [, b]) => b - a)) {
          rows.push({ service: service || '(unnamed)', version, hosts, releaseId: deployed?.version === version ? deployed.releaseId : null,
            deployedAt: deployed?.version === version ? deployed.deployedAt : null });
        }
      }
      return rows;
    }
    for (const [service, deployed] of Object.entries(env.services || {})) {
      const page = await api(`/v1/hosts?environment=${encodeURIComponent(env.name)}&version=${encodeURIComponent(deployed.version)}&limit=1`);
      rows.push({ service, version: deployed.version, releaseId: deployed.releaseId, deployedAt: deployed.deployedAt, hosts: page.total });
    }
    return rows;
  }

  function draw(envs, details, incidents, listed) {
    clear(banners);
    for (const incident of incidents.filter(i => !i.resolvedAt && i.status !== 'resolved')) {
      const scope = [incident.environment, incident.service].filter(Boolean).join(" / ") || "everything";
      banners.append(h('p.banner.banner-incident', { role: 'alert' },
        h('strong', { text: 'Incident: ' }), `${incident.title} (${incident.severity || 'no severity'}) — holds rollouts in ${scope}`));
    }
    for (const { env, calendar, rollouts } of details) {
      if (calendar && calendar.current && !calendar.current.open) {
        banners.append(h('p.banner.banner-freeze', h('strong', { text: `${env.name}: ${calendar.current.state}. ` }),
          calendar.current.reason, calendar.current.nextOpening ? ` Next opening ${time(calendar.current.nextOpening)}.` : ''));
      }
      for (const r of rollouts.filter(r => r.heldBy && /budget|blast/i.test(r.heldBy))) {
        banners.append(h('p.banner.banner-budget', h('strong', { text: 'Blast-radius budget: ' }),
          h('a', { href: `#/rollout/${encodeURIComponent(r.id)}`, text: r.id }), ` — ${r.heldBy}`));
      }
    }
    if (!banners.childElementCount) banners.append(h('p.muted', { text: 'No incident, freeze or budget holds anything now.' }));

    clear(body);
    if (!envs.length) body.append(h('p', { text: 'No environments yet. Create one with PUT /v1/environments/{name} (see the README walkthrough).' }));
    for (const { env, counts, rollouts, calendar } of details) {
      body.append(h('section.card.env', { 'aria-labelledby': `env-${env.name}` },
        h('h3', { id: `env-${env.name}` }, env.name, ' ', h('span.muted', { text: `${env.hostCount} hosts · limit ${env.spec?.concurrencyLimit ?? '?'}` }),
          calendar?.current ? [' ', badge(calendar.current.open ? 'open' : calendar.current.state, calendar.current.open ? 'open' : 'closed')] : null),
        rolloutTable(rollouts, 'Running and queued rollouts'),
        counts.length
          ? h('table.versions', { 'data-environment': env.name }, h('caption', { text: 'Versions per service (hosts on each)' }),
            h('thead', h('tr', ['service', 'version', 'hosts on it', 'last completed rollout'].map(t => h('th', { scope: 'col', text: t })))),
            h('tbody', counts.map(c => h('tr', { 'data-service': c.service, 'data-version': c.version },
              h('td', { text: c.service }), h('td', { text: c.version }), h('td.count', { text: String(c.hosts) }),
              h('td', { text: c.deployedAt ? time(c.deployedAt) : '' })))))
          : h('p.muted', { text: 'No hosts and no completed release here yet.' }),
        rollouts.some(r => Object.keys(r.hostsPerVersion || {}).length)
          ? h('ul.versions', { 'aria-label': `Hosts per version in ${env.name}` }, rollouts.flatMap(r => Object.entries(r.hostsPerVersion || {})
            .map(([v, n]) => h('li', { text: `${r.service} ${v}: ${n} hosts` }))))
          : null));
    }
    if (listed?.items?.length) {
      body.append(h('section.card', { 'aria-labelledby': 'recent' }, h('h3', { id: 'recent', text: 'Recent rollouts' }),
        rolloutTable(listed.items.slice(0, 25), 'Newest first')));
    }
  }

  function rolloutTable(rollouts, caption) {
    if (!rollouts.length) return h('p.muted', { text: 'No rollout running or queued.' });
    return h('table.rollouts', h('caption', { text: caption }),
      h('thead', h('tr', ['rollout', 'service', 'version', 'status', 'why'].map(t => h('th', { scope: 'col', text: t })))),
      h('tbody', rollouts.map(r => h('tr',
        h('td', h('a', { href: `#/rollout/${encodeURIComponent(r.id)}`, text: r.id })),
        h('td', { text: r.service }), h('td', { text: r.version }),
        h('td', badge(r.status), r.queuePosition ? ` #${r.queuePosition} in queue` : ''),
        h('td', { text: r.heldBy || r.statusReason || '' })))));
  }

  function schedule() {
    if (pending || stopped) return;
    pending = setTimeout(() => { pending = null; load(); }, 500);
  }

  load();
  timer = setInterval(load, 5000);
  let stop = () => {};
  hasRoute('/v1/events/stream').then(has => {
    if (has && !stopped) stop = openStream('/v1/events/stream', { onEvent: schedule, onStatus: () => {}, onUnavailable: () => {} });
  });
  return () => {
    stopped = true;
    clearInterval(timer);
    clearTimeout(pending);
    stop();
  };
}

export { TERMINAL };
