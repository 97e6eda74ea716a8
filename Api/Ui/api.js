// The API key lives in sessionStorage only (gone when the tab closes), and travels in the Authorization header;
// it is never put in a URL.
const KEY = 'deploy-engine.api-key';

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

/** An API answer other than 2xx, carrying the ProblemDetails the engine wrote. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(describe(status, problem));
    this.status = status;
    this.problem = problem;
  }
}

function describe(status, problem) {
  const head = problem?.title ? `${status} ${problem.title}` : `HTTP ${status}`;
  const errors = problem?.errors ? Object.entries(problem.errors).map(([k, v]) => `${k}: ${[].concat(v).join(', ')}`).join('; ') : '';
  return [head, problem?.detail, errors].filter(Boolean).join(' — ');
}

export function headers(extra) {
  const h = { Accept: 'application/json', ...extra };
  const key = apiKey();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

/** GET or send JSON; resolves to the parsed body, rejects with ApiError (status and problem) otherwise. */
export async function api(path, { method = 'GET', body, signal } = {}) {
  const init = { method, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }), signal, cache: 'no-store' };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  const text = await response.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = { detail: text.slice(0, 300) }; }
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** Like api(), but a 404 (a route another build does not have yet, a thing that is gone) resolves to null. */
export async function apiOptional(path, options) {
  try {
    return await api(path, options);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
    throw e;
  }
}

/** Every page of a paged list (offset/limit), fetched a few at a time. */
export async function allPages(path, { pageSize = 500, parallel = 4, max = 20000, signal } = {}) {
  const sep = path.includes('?') ? '&' : '?';
  const first = await api(`${path}${sep}offset=0&limit=${pageSize}`, { signal });
  const items = [...first.items];
  const total = Math.min(first.total ?? items.length, max);
  const offsets = [];
  for (let o = pageSize; o < total; o += pageSize) offsets.push(o);
  for (let i = 0; i < offsets.length; i += parallel) {
    const pages = await Promise.all(offsets.slice(i, i + parallel)
      .map(o => api(`${path}${sep}offset=${o}&limit=${pageSize}`, { signal })));
    for (const page of pages) items.push(...page.items);
  }
  return items;
}

let described = null;

/**
 * Whether this engine serves a route (from its OpenAPI document), so the page can leave out what an older or
 * smaller build lacks instead of probing it and logging a 404.
 */
export async function hasRoute(path, method = 'get') {
  described ??= fetch('/openapi/v1.json', { cache: 'no-store' })
    .then(r => (r.ok ? r.json() : { paths: {} }))
    .then(doc => doc.paths || {})
    .catch(() => ({}));
  return !!(await described)[path]?.[method];
}
