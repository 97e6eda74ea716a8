// Watches the README walkthrough from the dashboard in headless chromium and keeps screenshots of each page:
// runs deploy/walkthrough.sh against a running engine (deploy/run.sh), follows each rollout it starts on the rollout
// page until it ends, then opens the canary analysis, governance and fleet pages. Console errors are collected.
//
//   node deploy/dashboard-tour.mjs        (after `dotnet build tests/Ui.Tests`, which brings playwright-core)
//
// Environment: API (default http://127.0.0.1:${DEPLOY_API_PORT:-5080}), KEY (default .data/dev-api-key),
// OUT (default .data/tour), CHROMIUM (default /usr/bin/chromium), PLAYWRIGHT_CORE (the playwright-core package).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const api = process.env.API || `http://127.0.0.1:${process.env.DEPLOY_API_PORT || 5080}`;
const key = process.env.KEY || readFileSync(join(repo, '.data/dev-api-key'), 'utf8').trim();
const out = resolve(process.env.OUT || join(repo, '.data/tour'));
const core = process.env.PLAYWRIGHT_CORE || join(repo, 'tests/Ui.Tests/bin/Debug/net10.0/.playwright/package/index.mjs');
const { chromium } = await import(pathToFileURL(core).href);
mkdirSync(out, { recursive: true });

const env = `tour-${Math.floor(Date.now() / 1000)}`;
const get = async path => (await fetch(api + path, { headers: { Authorization: `Bearer ${key}` } })).json();
const sleep = ms => new Promise(r => setTimeout(r, ms));
const TERMINAL = new Set(['Succeeded', 'RolledBack', 'Failed', 'Aborted']);

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const errors = [];
page.on('console', m => { if (m.type() === 'error') errors.push(`${m.text()} (${page.url()})`); });
page.on('pageerror', e => errors.push(`page error: ${e.message} (${page.url()})`));
await page.goto(`${api}/ui`);
await page.fill('#key-input', key);
await page.click('form.signin button[type=submit]');
await page.waitForSelector('#who');

let shot = 0;
const snap = async name => {
  const file = join(out, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`tour: ${file}`);
};

const walk = spawn(join(repo, 'deploy/walkthrough.sh'), { env: { ...process.env, API: api, KEY: key, ENV_NAME: env }, stdio: ['ignore', 'pipe', 'inherit'] });
let finished = false;
walk.stdout.on('data', d => process.stdout.write(d));
const exited = new Promise(r => walk.on('exit', code => { finished = true; r(code); }));

// The fleet while the first rollout starts.
while (!finished && !(await get(`/v1/rollouts?environment=${env}&limit=1`)).items?.length) await sleep(500);
await page.goto(`${api}/ui/#/`);
await sleep(2500);
await snap('fleet-first-rollout');

// Each rollout the walkthrough starts: mid-way, and where it ends (both read live by the page).
const seen = new Set();
let last = null;
while (!finished || seen.size === 0) {
  const next = (await get(`/v1/rollouts?environment=${env}&limit=50`)).items?.reverse().find(r => !seen.has(r.id));
  if (!next) { await sleep(500); continue; }
  seen.add(next.id);
  last = next.id;
  const name = `${next.version}`;
  await page.goto(`${api}/ui/#/rollout/${encodeURIComponent(next.id)}`);
  await sleep(3000);
  await snap(`rollout-${name}-live`);
  for (let i = 0; i < 240; i++) {
    const status = (await page.textContent('.rollout-head .badge').catch(() => '')) || '';
    if (TERMINAL.has(status.trim())) break;
    if (status.trim() === 'Paused' && !seen.has(`${next.id}:paused`)) {
      seen.add(`${next.id}:paused`);
      await snap(`rollout-${name}-paused`);
    }
    await sleep(500);
  }
  await sleep(1500);
  await snap(`rollout-${name}-end`);
}
const code = await exited;

const rollout = await get(`/v1/rollouts/${encodeURIComponent(last)}`);
if (rollout.analyses?.length) {
  await page.goto(`${api}/ui/#/analysis/${encodeURIComponent(rollout.analyses[0])}`);
  await sleep(2500);
  await snap('analysis');
}
await page.goto(`${api}/ui/#/governance`);
await sleep(3000);
await snap('governance');
await page.goto(`${api}/ui/#/`);
await sleep(3000);
await snap('fleet-after');
await browser.close();

writeFileSync(join(out, 'console-errors.txt'), errors.join('\n') + '\n');
console.log(`tour: walkthrough exited ${code}; ${errors.length} console error(s) (${join(out, 'console-errors.txt')})`);
process.exit(code || (errors.length ? 3 : 0));
