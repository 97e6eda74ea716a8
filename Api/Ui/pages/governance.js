import { api, apiOptional, hasRoute, ApiError } from '../api.js';
import { h, clear, badge, time, num } from '../dom.js';

/** Governance: approvals waiting for this key, change records, calendars, the audit trail with a verify button, DORA figures. */
export function render(main, ctx) {
  const approvals = h('div');
  const records = h('div');
  const calendars = h('div');
  const audit = h('tbody');
  const verifyResult = h('p.verify', { 'aria-live': 'polite' });
  const dora = h('div');
  let stopped = false;

  const lookup = h('input', { id: 'change-id', name: 'change', placeholder: 'CHG-1042', maxlength: 64 });
  const lookupForm = h('form.inline', h('label', { for: 'change-id', text: 'Change record id ' }), lookup, h('button', { type: 'submit', text: 'Look up' }));
  const lookupResult = h('div', { 'aria-live': 'polite' });
  lookupForm.addEventListener('submit', async e => {
    e.preventDefault();
    clear(lookupResult);
    try {
      lookupResult.append(recordCard(await api(`/v1/change-records/${encodeURIComponent(lookup.value.trim())}`)));
    } catch (err) {
      lookupResult.append(h('p', { role: 'alert', text: ctx.describeError(err) }));
    }
  });

  main.append(
    h('h2', { text: 'Governance' }),
    h('section.card', { 'aria-labelledby': 'approvals-title' }, h('h3', { id: 'approvals-title', text: 'Approvals waiting' }), approvals),
    h('section.card', { 'aria-labelledby': 'records-title' }, h('h3', { id: 'records-title', text: 'Change records' }), lookupForm, lookupResult, records),
    h('section.card', { 'aria-labelledby': 'calendar-title' }, h('h3', { id: 'calendar-title', text: 'Calendar: windows and freezes (next 14 days)' }), calendars),
    h('section.card', { 'aria-labelledby': 'audit-title' }, h('h3', { id: 'audit-title', text: 'Audit trail (latest 50)' }),
      h('button', { type: 'button', 'data-action': 'verify', onclick: verify, text: 'Verify the hash chain' }), verifyResult,
      h('table.audit', h('thead', h('tr', ['#', 'when', 'who', 'roles', 'action', 'subject', 'reason'].map(t => h('th', { scope: 'col', text: t })))), audit)),
    h('section.card', { 'aria-labelledby': 'dora-title' }, h('h3', { id: 'dora-title', text: 'DORA metrics' }), dora));

  async function verify() {
    verifyResult.textContent = 'verifying…';
    try {
      const v = await api('/v1/audit/verify');
      verifyResult.textContent = v.valid
        ? `✓ valid: ${v.entries} entries, head ${String(v.headHash || '').slice(0, 16)}…`
        : `✗ broken at entry ${v.brokenAt}: ${v.reason}`;
      verifyResult.className = `verify ${v.valid ? 'verify-ok' : 'verify-broken'}`;
    } catch (e) {
      verifyResult.textContent = ctx.describeError(e);
    }
  }

  async function loadApprovals() {
    const envs = (await api('/v1/environments')).items;
    const waiting = [];
    for (const env of envs) {
      const calendar = await apiOptional(`/v1/environments/${encodeURIComponent(env.name)}/calendar?days=14`);
      for (const r of calendar?.rollouts || []) {
        if (r.status === 'AwaitingApproval') waiting.push({ env: env.name, rollout: r });
      }
      drawCalendar(env.name, calendar);
    }
    const governance = await Promise.all(waiting.map(w =>
      apiOptional(`/v1/releases/${encodeURIComponent(w.rollout.releaseId)}/governance?environment=${encodeURIComponent(w.env)}`)));
    if (stopped) return;
    clear(approvals);
    clear(records);
    if (!waiting.length) approvals.append(h('p.muted', { text: 'Nothing waits for an approval.' }));
    waiting.forEach((w, i) => {
      const g = governance[i];
      approvals.append(h('article.approval',
        h('h4', h('a', { href: `#/rollout/${encodeURIComponent(w.rollout.id)}`, text: `${w.rollout.service} ${w.rollout.version} → ${w.env}` })),
        g ? h('p', badge(g.risk), ` risk ${g.score} · ${g.class} · needs ${g.approvers} · ${g.approvalSummary}`) : null,
        g?.blocking?.length ? h('ul', g.blocking.map(b => h('li', { text: b }))) : null,
        ctx.can('approve')
          ? h('div.actions',
            h('button.primary', { type: 'button', 'data-action': 'approve', onclick: () => vote(w, 'approve'), text: 'Approve' }),
            h('button.danger', { type: 'button', 'data-action': 'reject', onclick: () => vote(w, 'reject'), text: 'Reject' }))
          : h('p.muted', { text: 'This key holds no approver role.' })));
      if (g?.changeRecord) records.append(h('p', h('strong', { text: g.changeRecord }), ` (${w.rollout.releaseId}): `, badge(g.changeRecordState), g.changeRecordDetail ? ` ${g.changeRecordDetail}` : ''));
    });
  }

  async function vote(w, decision) {
    const reason = await ctx.askReason(`${decision === 'approve' ? 'Approve' : 'Reject'} ${w.rollout.service} ${w.rollout.version} for ${w.env}`, { confirm: decision === 'approve' ? 'Approve' : 'Reject' });
    if (reason === null) return;
    try {
      await api(`/v1/releases/${encodeURIComponent(w.rollout.releaseId)}/approvals`, { method: 'POST', body: { environment: w.env, decision, reason } });
      ctx.message(`${decision} recorded for ${w.rollout.releaseId} in ${w.env}`, 'ok');
      load();
    } catch (e) {
      ctx.message(e instanceof ApiError && e.status === 403 ? `${decision} refused (403 Forbidden)` : ctx.describeError(e), 'error');
    }
  }

  const calendarSections = new Map();
  function drawCalendar(name, calendar) {
    let section = calendarSections.get(name);
    if (!section) {
      section = h('section.calendar');
      calendarSections.set(name, section);
      calendars.append(section);
    }
    clear(section);
    if (!calendar) return;
    section.append(h('h4', { text: `${name} ` }, badge(calendar.current.open ? 'open' : calendar.current.state, calendar.current.open ? 'open' : 'closed')),
      h('p', { text: calendar.current.reason }),
      calendar.upcoming.length
        ? h('table', h('thead', h('tr', ['name', 'kind', 'service', 'from', 'until'].map(t => h('th', { scope: 'col', text: t })))),
          h('tbody', calendar.upcoming.map(o => h('tr', h('td', { text: o.name }), h('td', badge(o.kind)), h('td', { text: o.service || 'all' }), h('td', { text: time(o.start) }), h('td', { text: time(o.end) })))))
        : h('p.muted', { text: 'No window or freeze declared in the next 14 days.' }),
      calendar.exceptions.length ? h('ul', calendar.exceptions.map(x => h('li', { text: `exception: ${JSON.stringify(x)}` }))) : null);
  }

  async function loadAudit() {
    const head = await api('/v1/audit?limit=1');
    const after = Math.max(0, (head.total || 0) - 50);
    const page = await api(`/v1/audit?after=${after}&limit=50`);
    if (stopped) return;
    clear(audit);
    for (const e of [...page.items].reverse()) {
      audit.append(h('tr', h('td', { text: String(e.sequence) }), h('td', { text: time(e.at) }), h('td', { text: e.principal }), h('td', { text: e.role }),
        h('td', { text: e.action }), h('td', { text: e.subject }), h('td', { text: e.reason || '' })));
    }
  }

  async function loadDora() {
    clear(dora);
    let figures = null;
    try { figures = await hasRoute('/v1/metrics/dora') ? await api('/v1/metrics/dora') : null; } catch { figures = null; }
    if (!figures) {
      dora.append(h('p.muted', { 'data-testid': 'dora', text: 'DORA metrics: not available from this engine.' }));
      return;
    }
    dora.append(h('dl.facts', { 'data-testid': 'dora' }, Object.entries(figures).filter(([, v]) => typeof v !== 'object' || v === null)
      .flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: typeof v === 'number' ? num(v) : String(v) })])));
  }

  function load() {
    loadApprovals().catch(ctx.fail);
    loadAudit().catch(ctx.fail);
  }

  function recordCard(r) {
    return h('p', h('strong', { text: r.id }), ` ${r.title} `, badge(r.state), r.description ? ` — ${r.description}` : '');
  }

  load();
  loadDora();
  const timer = setInterval(load, 10000);
  return () => { stopped = true; clearInterval(timer); };
}
