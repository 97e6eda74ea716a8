import { api, apiOptional, hasRoute, ApiError } from '../api.js';
import { h, clear, badge, time, num, put } from '../dom.js';

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

  // The list of change records (GET /v1/change-records), filtered by state, window and service, a page at a time.
  const recordState = h('select', { id: 'record-state', name: 'state' }, ['', 'approved', 'pending', 'rejected'].map(v => h('option', { value: v, text: v || 'any state' })));
  const recordWindow = h('select', { id: 'record-window', name: 'window' }, ['', 'open', 'upcoming', 'closed'].map(v => h('option', { value: v, text: v ? `window ${v}` : 'any window' })));
  const recordService = h('input', { id: 'record-service', name: 'service', placeholder: 'service', maxlength: 63, size: 12 });
  const recordFilters = h('form.inline', { 'aria-label': 'Change record filters' },
    h('label', { for: 'record-state', text: 'State ' }), recordState, ' ',
    h('label', { for: 'record-window', text: 'Window ' }), recordWindow, ' ',
    h('label', { for: 'record-service', text: 'Service ' }), recordService, ' ',
    h('button', { type: 'submit', text: 'Filter' }));
  const recordRows = h('tbody');
  const recordMore = h('button', { type: 'button', 'data-action': 'more-records', hidden: true, text: 'More' });
  let recordNext = null;
  recordFilters.addEventListener('submit', e => { e.preventDefault(); loadRecords().catch(ctx.fail); });
  recordMore.addEventListener('click', () => loadRecords(recordNext).catch(ctx.fail));

  main.append(
    h('h2', { text: 'Governance' }),
    h('section.card', { 'aria-labelledby': 'approvals-title' }, h('h3', { id: 'approvals-title', text: 'Approvals waiting for this key' }), approvals),
    h('section.card', { 'aria-labelledby': 'records-title' }, h('h3', { id: 'records-title', text: 'Change records' }), recordFilters,
      h('table.records', h('thead', h('tr', ['id', 'title', 'state', 'service', 'release', 'window', 'approved by'].map(t => h('th', { scope: 'col', text: t })))), recordRows),
      recordMore, lookupForm, lookupResult, records),
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

  async function loadCalendars() {
    const envs = (await api('/v1/environments')).items;
    for (const env of envs) {
      const calendar = await apiOptional(`/v1/environments/${encodeURIComponent(env.name)}/calendar?days=14`);
      if (stopped) return;
      drawCalendar(env.name, calendar);
    }
  }

  // The approvals this key's vote would move (GET /v1/me/approvals: its approver groups and scope, never its own
  // releases); the others are counted with the reason they wait for someone else.
  async function loadApprovals() {
    if (!ctx.can('approve')) {
      const waiting = await hasRoute('/v1/rollouts') ? (await api('/v1/rollouts?status=AwaitingApproval&limit=50')).items : [];
      if (stopped) return;
      clear(approvals);
      put(approvals, h('p.muted', { text: `This key holds no approver role: nothing waits for it. ${waiting.length} rollout${waiting.length === 1 ? '' : 's'} await${waiting.length === 1 ? 's' : ''} an approver.` }),
        waiting.length ? h('ul', waiting.map(r => h('li', h('a', { href: `#/rollout/${encodeURIComponent(r.id)}`, text: `${r.service} ${r.version} → ${r.environment}` })))) : null);
      return;
    }
    const inbox = await api('/v1/me/approvals');
    if (stopped) return;
    clear(approvals);
    clear(records);
    if (!inbox.items.length) approvals.append(h('p.muted', { 'data-testid': 'inbox-empty', text: 'Nothing waits for this key\'s approval.' }));
    for (const w of inbox.items) {
      const g = w.governance;
      approvals.append(h('article.approval', { 'data-rollout': w.rollout },
        h('h4', h('a', { href: `#/rollout/${encodeURIComponent(w.rollout)}`, text: `${w.service} ${w.version} → ${w.environment}` })),
        h('p', badge(g.risk), ` risk ${g.score} · ${g.class} · needs ${g.approvers} · ${g.approvalSummary}`),
        h('p.muted', { text: w.reason }),
        g.blocking?.length ? h('ul', g.blocking.map(b => h('li', { text: b }))) : null,
        h('div.actions',
          h('button.primary', { type: 'button', 'data-action': 'approve', onclick: () => vote(w, 'approve'), text: 'Approve' }),
          h('button.danger', { type: 'button', 'data-action': 'reject', onclick: () => vote(w, 'reject'), text: 'Reject' }))));
      if (g.changeRecord) records.append(h('p', h('strong', { text: g.changeRecord }), ` (${w.releaseId}): `, badge(g.changeRecordState), g.changeRecordDetail ? ` ${g.changeRecordDetail}` : ''));
    }
    if (inbox.others.length) {
      approvals.append(h('details.others', h('summary', { text: `${inbox.others.length} more waiting for other approvers` }),
        h('ul', inbox.others.map(o => h('li', { 'data-rollout': o.rollout },
          h('a', { href: `#/rollout/${encodeURIComponent(o.rollout)}`, text: `${o.service} ${o.version} → ${o.environment}` }), `: ${o.reason}`)))));
    }
  }

  async function loadRecords(cursor = null) {
    const query = new URLSearchParams({ limit: '25' });
    if (recordState.value) query.set('state', recordState.value);
    if (recordWindow.value) query.set('window', recordWindow.value);
    if (recordService.value.trim()) query.set('service', recordService.value.trim());
    if (cursor) query.set('cursor', cursor);
    let page;
    try {
      page = await api(`/v1/change-records?${query}`);
    } catch (e) {
      clear(recordRows).append(h('tr', h('td', { colspan: 7, role: 'alert', text: ctx.describeError(e) })));
      return;
    }
    if (stopped) return;
    if (!cursor) clear(recordRows);
    for (const r of page.items) {
      recordRows.append(h('tr', { 'data-record': r.id }, h('td', h('strong', { text: r.id })), h('td', { text: r.title }), h('td', badge(r.state)),
        h('td', { text: r.service || '' }), h('td', { text: r.release || 'any' }),
        h('td', { text: `${r.start ? time(r.start) : 'from creation'} – ${time(r.end)}` }), h('td', { text: r.approvedBy || '' })));
    }
    if (!cursor && !page.items.length) recordRows.append(h('tr', h('td.muted', { colspan: 7, text: 'No change record matches.' })));
    recordNext = page.next;
    recordMore.hidden = !recordNext;
  }

  async function vote(w, decision) {
    const reason = await ctx.askReason(`${decision === 'approve' ? 'Approve' : 'Reject'} ${w.service} ${w.version} for ${w.environment}`, { confirm: decision === 'approve' ? 'Approve' : 'Reject' });
    if (reason === null) return;
    try {
      await api(`/v1/releases/${encodeURIComponent(w.releaseId)}/approvals`, { method: 'POST', body: { environment: w.environment, decision, reason } });
      ctx.message(`${decision} recorded for ${w.releaseId} in ${w.environment}`, 'ok');
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
    put(section, h('h4', { text: `${name} ` }, badge(calendar.current.open ? 'open' : calendar.current.state, calendar.current.open ? 'open' : 'closed')),
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

  loadCalendars().catch(ctx.fail);
  loadRecords().catch(ctx.fail);

  function recordCard(r) {
    return h('p', h('strong', { text: r.id }), ` ${r.title} `, badge(r.state), r.description ? ` — ${r.description}` : '');
  }

  load();
  loadDora();
  const timer = setInterval(load, 10000);
  return () => { stopped = true; clearInterval(timer); };
}
