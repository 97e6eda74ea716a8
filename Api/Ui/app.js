import { api, apiKey, setApiKey, ApiError } from './api.js';
import { h, clear } from './dom.js';
import * as overview from './pages/overview.js';
import * as rollout from './pages/rollout.js';
import * as analysis from './pages/analysis.js';
import * as governance from './pages/governance.js';

// Routes live in the fragment (#/rollout/{id}), so the engine serves one page and nothing about them reaches a log.
const routes = [
  [/^#?\/?$/, overview],
  [/^#\/rollout\/([^/]+)$/, rollout],
  [/^#\/analysis\/([^/]+)$/, analysis],
  [/^#\/governance$/, governance],
];

const main = document.getElementById('main');
const messages = document.getElementById('messages');
const who = document.getElementById('who');
let me = null;
let cleanup = null;

/** Shows a message above the page; errors stay until dismissed, notices fade after a while. */
export function message(text, kind = 'info') {
  const item = h('div.message', { class: `message-${kind}`, role: kind === 'error' ? 'alert' : null },
    h('span.message-kind', { text: kind === 'error' ? 'Error: ' : kind === 'ok' ? 'Done: ' : 'Note: ' }),
    h('span.message-text', { text }),
    h('button.link', { type: 'button', 'aria-label': 'Dismiss message', onclick: () => item.remove(), text: '×' }));
  messages.append(item);
  if (kind !== 'error') setTimeout(() => item.remove(), 8000);
  return item;
}

/** Asks for a reason in a modal dialog; resolves to the text, or null when cancelled. */
export function askReason(title, { confirm = 'Confirm', required = true } = {}) {
  return new Promise(resolve => {
    const input = h('textarea', { id: 'reason-input', name: 'reason', rows: 3, maxlength: 1000, required, 'aria-describedby': 'reason-help' });
    const dialog = h('dialog.reason', { 'aria-labelledby': 'reason-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'reason-title', text: title }),
        h('label', { for: 'reason-input', text: 'Reason' }),
        input,
        h('p.muted', { id: 'reason-help', text: 'Kept with the decision and your key\'s name in the audit trail.' }),
        h('div.buttons',
          h('button', { type: 'submit', value: 'ok', class: 'primary', text: confirm }),
          h('button', { type: 'button', value: 'cancel', onclick: () => dialog.close('cancel'), text: 'Cancel' }))));
    dialog.addEventListener('close', () => {
      const value = dialog.returnValue === 'ok' ? input.value.trim() : null;
      dialog.remove();
      resolve(value);
    });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

function describeError(e) {
  return e instanceof ApiError ? e.message : `${e?.message || e}`;
}

const context = {
  get me() { return me; },
  can: policy => !!me?.can?.includes(policy),
  message,
  askReason,
  describeError,
  fail: e => { if (e?.name !== 'AbortError') message(describeError(e), 'error'); },
};

function renderWho() {
  clear(who);
  if (!me) return;
  who.append(
    h('span', { text: `${me.name} · ${me.roles.join(', ') || 'no role'}` }),
    h('button.link', { type: 'button', onclick: signOut, text: 'Sign out' }));
}

function signOut() {
  setApiKey(null);
  me = null;
  renderWho();
  route();
}

function signIn(reason) {
  clear(main);
  const input = h('input', { id: 'key-input', type: 'password', name: 'key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h('form.card.signin', { 'aria-labelledby': 'signin-title' },
    h('h2', { id: 'signin-title', text: 'Sign in with an API key' }),
    reason ? h('p.message.message-error', { role: 'alert', text: reason }) : null,
    h('label', { for: 'key-input', text: 'API key' }),
    input,
    h('p.muted', { text: 'Kept in this tab only (sessionStorage) and sent as the Authorization header; never in a URL.' }),
    h('button.primary', { type: 'submit', text: 'Sign in' }));
  form.addEventListener('submit', async event => {
    event.preventDefault();
    setApiKey(input.value.trim());
    await start();
  });
  main.append(form);
  input.focus();
}

async function start() {
  if (!apiKey()) return signIn();
  try {
    me = await api('/v1/me');
  } catch (e) {
    setApiKey(null);
    me = null;
    renderWho();
    return signIn(e instanceof ApiError && e.status === 401 ? 'That key was not accepted (401).' : describeError(e));
  }
  renderWho();
  route();
}

function route() {
  cleanup?.();
  cleanup = null;
  if (!me) return apiKey() ? start() : signIn();
  const hash = location.hash || '#/';
  for (const [pattern, page] of routes) {
    const match = hash.match(pattern);
    if (match) {
      clear(main);
      cleanup = page.render(main, context, ...match.slice(1).map(decodeURIComponent)) || null;
      for (const link of document.querySelectorAll('header nav a')) {
        link.toggleAttribute('aria-current', link.getAttribute('href') === hash);
      }
      return;
    }
  }
  clear(main);
  main.append(h('p', { text: 'No such page. ' }, h('a', { href: '#/', text: 'Back to the fleet' })));
}

window.addEventListener('hashchange', route);
start();
