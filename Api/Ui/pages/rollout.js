import { api, allPages, hasRoute, ApiError } from '../api.js';
import { h, clear, badge, time, put } from '../dom.js';
import { openStream } from '../sse.js';
import { HostMap, STATES } from '../hostmap.js';

const TERMINAL = new Set(['Succeeded', 'RolledBack', 'Failed', 'Aborted']);

/** Which operator actions make sense in a status; the engine decides (an impossible one is a 409 shown as a message). */
const ACTIONS = [
  { name: 'promote', label: 'Promote', when: s => s === 'Paused' || s === 'Progressing', title: 'Promote: skip the current pause or bake' },
  { name: 'pause', label: 'Pause', when: s => s === 'Progressing', title: 'Pause the rollout' },
  { name: 'resume', label: 'Resume', when: s => s === 'Paused', title: 'Resume the rollout' },
  { name: 'abort', label: 'Abort', when: s => !TERMINAL.has(s) && s !== 'RollingBack', title: 'Abort: return updated hosts to their previous artifact' },
  { name: 'rollback', label: 'Roll back', when: s => s === 'Progressing' || s === 'Paused' || s === 'Succeeded', title: 'Roll back every updated host' },
];

const HOST_EVENT = /\.hosts\.(updated|reverted)$/;

/** The host's state for this rollout's map, from a host snapshot. */
export function hostState(host, rollout) {
  const slot = host.services?.[rollout.service];
  const state = slot?.state ?? host.state;
  const version = slot?.currentVersion ?? host.currentVersion;
  const hostRollout = slot?.rollout ?? host.rollout;
  switch (state) {
    case 'Retired': return 'retired';
    case 'Failed': return 'failed';
    case 'Updating': return 'updating';
    case 'RollingBack': return 'rolling-back';
    default:
      if (version === rollout.version) return 'updated';
      return hostRollout === rollout.id && (rollout.status === 'RolledBack' || rollout.status === 'RollingBack' || rollout.status === 'Aborted')
        ? 'reverted' : 'pending';
  }
}

export function render(main, ctx, id) {
  let rollout = null;
  let stopped = false;
  let lastSequence = 0;
  const map = new HostMap(h('canvas.hostmap', { tabindex: 0, role: 'img', 'aria-label': 'Host map' }));
  const live = h('span.live', { 'aria-live': 'polite', text: 'connecting…' });
  const header = h('div.rollout-head');
  const actions = h('div.actions', { role: 'group', 'aria-label': 'Operator actions' });
  const timeline = h('ol.timeline', { 'aria-label': 'Steps' });
  const legend = h('ul.legend', { 'aria-label': 'Host states' });
  const hostDetail = h('p.host-detail', { 'aria-live': 'polite', text: 'Point at a host, or focus the map and use the arrow keys.' });
  const decisions = h('tbody');
  const eventsList = h('ol.events', { 'aria-label': 'Events as they arrive', reversed: true });
  const extra = h('div');

  main.append(
    h('p', h('a', { href: '#/', text: '← Fleet' })),
    h('h2', { text: `Rollout ${id} ` }, live),
    header,
    actions,
    h('section.card', { 'aria-labelledby': 'steps-title' }, h('h3', { id: 'steps-title', text: 'Steps' }), timeline),
    h('section.card', { 'aria-labelledby': 'hosts-title' }, h('h3', { id: 'hosts-title', text: 'Hosts' }), legend, map.canvas, hostDetail),
    extra,
    h('section.card', { 'aria-labelledby': 'decisions-title' }, h('h3', { id: 'decisions-title', text: 'Decisions' }),
      h('table.decisions', h('thead', h('tr', ['when', 'decision', 'by', 'reason'].map(t => h('th', { scope: 'col', text: t })))), decisions)),
    h('section.card', { 'aria-labelledby': 'events-title' }, h('h3', { id: 'events-title', text: 'Live events' }), eventsList));

  const describeHost = i => {
    if (i < 0) return;
    const state = STATES.find(s => s.key === map.stateOf(i));
    hostDetail.textContent = `${map.ids[i]}: ${state.label}`;
  };
  map.canvas.addEventListener('mousemove', e => {
    const r = map.canvas.getBoundingClientRect();
    describeHost(map.hit(e.clientX - r.left, e.clientY - r.top));
  });
  map.canvas.addEventListener('keydown', e => {
    if (!['ArrowRight', 'ArrowLeft', 'ArrowDown', 'ArrowUp', 'Home', 'End'].includes(e.key)) return;
    e.preventDefault();
    describeHost(map.move(e.key));
    map.draw();
  });

  async function act(name, reason) {
    try {
      rollout = await api(`/v1/rollouts/${encodeURIComponent(id)}/${name}`, { method: 'POST', body: { reason } });
      ctx.message(`${name} recorded: ${rollout.statusReason || rollout.status}`, 'ok');
      drawSnapshot();
      return true;
    } catch (e) {
      ctx.message(e instanceof ApiError && e.status === 403
        ? `${name} refused (403 Forbidden): ${e.problem?.detail || 'this key\'s roles do not allow it'}`
        : `${name} failed: ${ctx.describeError(e)}`, 'error');
      return false;
    }
  }
  // The page's own action path, reachable from the console: the server, not the hidden button, is the control.
  window.dashboard = { act };

  async function loadSnapshot() {
    rollout = await api(`/v1/rollouts/${encodeURIComponent(id)}`);
    if (!stopped) drawSnapshot();
  }

  async function loadHosts() {
    if (!rollout) return;
    const labels = Object.entries(rollout.selector || {}).map(([k, v]) => `&label=${encodeURIComponent(`${k}=${v}`)}`).join('');
    const hosts = await allPages(`/v1/hosts?environment=${encodeURIComponent(rollout.environment)}${labels}`);
    if (stopped) return;
    map.setHosts(hosts.map(host => ({ id: host.id, state: hostState(host, rollout) })));
    drawMap();
  }

  function drawMap() {
    map.draw();
    const counts = map.counts();
    clear(legend);
    for (const s of STATES) {
      if (!counts[s.key] && (s.key === 'retired' || s.key === 'reverted' || s.key === 'rolling-back')) continue;
      const swatch = new HostMap(h('canvas.swatch', { 'aria-hidden': 'true' }), { maxHeight: 14, width: 14 });
      swatch.setHosts([{ id: s.key, state: s.key }]);
      const item = h('li', { 'data-state': s.key }, swatch.canvas, h('span', { text: `${s.label}: ` }), h('strong.count', { text: String(counts[s.key]) }));
      legend.append(item);
      swatch.draw();
    }
    map.canvas.setAttribute('aria-label', `Host map of ${map.ids.length} hosts: ` +
      STATES.filter(s => counts[s.key]).map(s => `${counts[s.key]} ${s.label}`).join(', '));
  }

  function drawSnapshot() {
    const r = rollout;
    clear(header);
    put(header,
      h('p.summary', badge(r.status), ' ', h('strong', { text: `${r.service} ${r.version}` }), ` → ${r.environment}`,
        h('span.muted', { text: ` · ${r.strategy?.type || 'rolling'} · submitted by ${r.submittedBy}` })),
      h('p.reason', { 'data-testid': 'status-reason', text: r.statusReason || '' }),
      r.heldBy ? h('p.banner.banner-freeze', h('strong', { text: 'Held: ' }), r.heldBy) : null,
      h('dl.facts',
        h('dt', { text: 'Traffic weight' }), h('dd', h('meter', { min: 0, max: 100, value: r.trafficWeight, 'aria-label': 'traffic weight' }), ` ${r.trafficWeight}% to ${r.version}`),
        h('dt', { text: 'Hosts' }), h('dd', { 'data-testid': 'host-counts', text: `${r.hosts.updated} updated, ${r.hosts.updating} updating, ${r.hosts.failed} failed of ${r.hosts.targets} (failure budget ${r.allowedFailures})` }),
        h('dt', { text: 'Step' }), h('dd', { 'data-testid': 'current-step', text: r.currentStep ? `${r.currentStep} of ${r.steps.length}${r.currentStage ? ` (${r.currentStage})` : ''}` : 'not started' }),
        r.activeSlot ? [h('dt', { text: 'Active slot' }), h('dd', { text: r.activeSlot })] : null,
        r.deadline ? [h('dt', { text: 'Waits until' }), h('dd', { text: time(r.deadline) })] : null,
        h('dt', { text: 'Started' }), h('dd', { text: time(r.startedAt) }),
        h('dt', { text: 'Finished' }), h('dd', { text: time(r.finishedAt) })));

    clear(actions);
    if (ctx.can('operate')) {
      for (const a of ACTIONS.filter(a => a.when(r.status))) {
        actions.append(h('button', {
          type: 'button', 'data-action': a.name, title: a.title, class: a.name === 'abort' || a.name === 'rollback' ? 'danger' : null,
          onclick: async () => {
            const reason = await ctx.askReason(`${a.title} — ${r.id}`, { confirm: a.label });
            if (reason !== null) await act(a.name, reason);
          },
          text: a.label,
        }));
      }
    } else {
      actions.append(h('p.muted', { text: 'This key can read only: no operator actions.' }));
    }

    clear(timeline);
    r.steps.forEach((step, i) => {
      const current = i + 1 === r.currentStep && !TERMINAL.has(r.status);
      timeline.append(h('li', { class: `step step-${step.state}${current ? ' step-current' : ''}`, 'aria-current': current ? 'step' : null },
        h('span.step-state', { text: current ? `▶ current (${step.state})` : step.state === 'done' ? '✓ done' : step.state === 'skipped' ? '↷ skipped'
          : step.state === 'running' && TERMINAL.has(r.status) ? `■ stopped (${r.status})` : step.state }),
        ' ', h('span', { text: `${step.kind}: ${step.description}` }),
        step.hosts ? h('span.muted', { text: ` · ${step.hosts} hosts` }) : null,
        step.stage && step.stage !== 'all hosts' ? h('span.muted', { text: ` · ${step.stage}` }) : null));
    });
    if (!r.steps.length) timeline.append(h('li.muted', { text: 'No plan yet: the rollout has not been admitted.' }));

    clear(decisions);
    for (const d of [...r.decisions].reverse()) {
      decisions.append(h('tr', h('td', { text: time(d.at) }), h('td', { text: d.kind }), h('td', { text: d.actor }), h('td', { text: d.reason })));
    }

    clear(extra);
    if (r.analyses?.length) {
      extra.append(h('section.card', h('h3', { text: 'Canary analyses' }), h('ul', r.analyses.map(a => h('li', h('a', { href: `#/analysis/${encodeURIComponent(a)}`, text: a }))))));
    }
    const failures = Object.entries(r.failures || {});
    if (failures.length) {
      extra.append(h('section.card', h('h3', { text: `Failed hosts (${failures.length})` }),
        h('ul.failures', failures.map(([host, why]) => h('li', h('strong', { text: host }), `: ${why}`)))));
    }
  }

  // Live updates: host lists in events paint the map at once; the snapshot and the host pages are re-read at most
  // every 0.5 s and 3 s while events arrive, so a 10,000-host rollout does not turn into a request storm.
  let snapshotTimer = null;
  let hostsTimer = null;
  let hostsReadAt = 0;
  const seen = new Set();
  function onEvent(event, via) {
    if (stopped || !event || typeof event !== 'object') return;
    // The stream and the history poll may both bring an event: each is shown once.
    if (event.id) {
      if (seen.has(event.id)) return;
      seen.add(event.id);
      if (seen.size > 5000) seen.delete(seen.values().next().value);
    }
    const data = event.data || {};
    const kind = HOST_EVENT.exec(event.type || '');
    let painted = false;
    if (kind && data.hosts) {
      const state = kind[1] === 'updated' ? 'updated' : 'reverted';
      for (const host of data.hosts.split(',')) painted = map.set(host, state) || painted;
    } else if (data.host && data.state) {
      const state = { Failed: 'failed', Updating: 'updating', RollingBack: 'rolling-back', Retired: 'retired' }[data.state];
      if (state) painted = map.set(data.host, state);
    }
    if (painted) drawMap();
    eventsList.prepend(h('li', { 'data-via': via }, h('span.muted', { text: time(event.timestamp) }), ' ', h('code', { text: shortType(event.type) }), event.reason ? ` — ${event.reason}` : ''));
    while (eventsList.childElementCount > 100) eventsList.lastChild.remove();
    snapshotTimer ??= setTimeout(() => { snapshotTimer = null; loadSnapshot().catch(ctx.fail); }, 500);
    const wait = Math.max(0, 3000 - (Date.now() - hostsReadAt));
    hostsTimer ??= setTimeout(() => { hostsTimer = null; hostsReadAt = Date.now(); loadHosts().catch(ctx.fail); }, wait);
  }

  // Transport: the event stream alone while it is up. The history is read once for what happened before the page
  // opened, and polled only while the stream is down (refused, dropped, or absent from this engine); the stream
  // resumes with Last-Event-ID, and events both paths bring are shown once (by event id).
  let stopStream = () => {};
  let pollTimer = null;
  let streaming = false;
  function setTransport(transport, text) {
    live.dataset.transport = transport;
    live.textContent = text;
    live.classList.toggle('live-on', transport === 'stream');
  }

  async function readHistory(via) {
    const page = await api(`/v1/rollouts/${encodeURIComponent(id)}/events?after=${lastSequence}&limit=500`);
    for (const event of page.items) {
      lastSequence = Math.max(lastSequence, event.sequence || 0);
      onEvent(event, via);
    }
    return page.items.length;
  }

  async function poll() {
    pollTimer = null;
    if (stopped || streaming) return;
    try {
      const read = await readHistory('poll');
      // What changed while the stream was down: re-read the snapshot even when no event says so.
      if (read) loadSnapshot().catch(ctx.fail);
      if (!streaming) setTransport('polling', 'polling (stream down)');
    } catch {
      if (!streaming) setTransport('polling', 'polling failed; retrying');
    }
    if (!stopped && !streaming) pollTimer = setTimeout(poll, TERMINAL.has(rollout?.status) ? 5000 : 1000);
  }

  function streamUp() {
    streaming = true;
    clearTimeout(pollTimer);
    pollTimer = null;
    setTransport('stream', 'live');
  }

  function streamDown(text) {
    streaming = false;
    setTransport('polling', text);
    pollTimer ??= setTimeout(poll, 0);
  }

  (async () => {
    try {
      await loadSnapshot();
      hostsReadAt = Date.now();
      await loadHosts();
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        clear(main).append(h('p', { role: 'alert', text: `No rollout '${id}'.` }), h('a', { href: '#/', text: 'Back to the fleet' }));
        return;
      }
      ctx.fail(e);
    }
    if (stopped) return;
    if (!await hasRoute('/v1/events/stream')) {
      streamDown('polling (this engine has no stream)');
      return;
    }
    setTransport('connecting', 'connecting…');
    stopStream = openStream(`/v1/events/stream?rollout=${encodeURIComponent(id)}`, {
      onEvent: e => {
        if (e.type === 'stream.gap') {
          // Events were lost beyond the engine's retained window: re-read what the page shows, then carry on live.
          loadSnapshot().then(loadHosts).catch(ctx.fail);
          return;
        }
        onEvent(e.data && typeof e.data === 'object' ? e.data : { type: e.type }, 'stream');
      },
      onStatus: (text, ok) => (ok ? streamUp() : streamDown(`${text} · polling meanwhile`)),
      onUnavailable: () => streamDown('polling (this engine has no stream)'),
    });
    // What happened before the page opened, once; a failure here is no outage (the stream carries on).
    readHistory('history').catch(() => {});
  })();

  const resize = () => map.draw();
  window.addEventListener('resize', resize);
  return () => {
    stopped = true;
    stopStream();
    clearTimeout(pollTimer);
    clearTimeout(snapshotTimer);
    clearTimeout(hostsTimer);
    window.removeEventListener('resize', resize);
    if (window.dashboard?.act === act) delete window.dashboard;
  };
}

function shortType(type) {
  return String(type || '').replace(/^dev\.cdevents(x\.deploy-engine)?\./, '').replace(/\.\d+\.\d+\.\d+$/, '');
}
