import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../helpers/cli.js';
import { ensureWebBuild } from '../helpers/web-build.js';
import { call, echo, removeDataDir, startServe, testJob, waitFinal, type Served } from '../helpers/serve.js';

/**
 * The dashboard's live list (GET /events, with the poll as its fallback), bulk actions through
 * POST /jobs/bulk and the charts page, in Debian's chromium against a spawned `guestkit serve`
 * (test handlers only: no fixture images needed).
 */
const root = repoRoot();
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const shots = join(root, 'test-results');

let s: Served;
let base: string;
let admin: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
/** API paths the page asked for, in order. */
const asked: string[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: bash scripts/ensure-system.sh test installs Debian's chromium`);
  ensureWebBuild();
  mkdirSync(shots, { recursive: true });
  s = await startServe({ args: ['--max-concurrent', '1'] });
  base = s.url.replace(/\/api\/v1$/, '');
  admin = s.adminToken;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/v1/')) asked.push(`${r.method()} ${u.pathname.slice(7)}`);
  });
  await page.goto(base + '/');
  await page.getByLabel('API token').fill(admin);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
});

after(async () => {
  await browser?.close();
  await s?.stop();
  if (s) removeDataDir(s.dataDir);
});

async function submitApi(doc: Record<string, unknown>): Promise<string> {
  const r = await call(s.url, 'POST', '/jobs', { token: admin, body: doc });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return (r.body.job as { job_id: string }).job_id;
}

const sleepJob = (seconds: number, name: string) => testJob('test.sleep', { seconds }, { metadata: { name } });

async function axe(p: Page, what: string): Promise<void> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await p.evaluate(source);
  const out = (await p.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) })))`)) as { id: string; impact: string }[];
  const bad = out.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${what}: axe-core found serious violations: ${JSON.stringify(bad, null, 1)}`);
}

test('the jobs list follows GET /events: a new job appears and finishes without a reload or a poll', async () => {
  const note = page.getByTestId('live-note');
  await page.locator('[data-testid=live-note][data-live=stream]').waitFor({ timeout: 20_000 });
  assert.match(await note.innerText(), /updates as jobs change/);
  assert.ok(asked.includes('GET /events'));
  // while the stream is up the page polls once a minute only: rows that change within seconds came from it
  const id = await submitApi(sleepJob(1, 'streamed job'));
  const row = page.locator('table.jobs tbody tr').filter({ hasText: 'streamed job' });
  await row.waitFor({ timeout: 20_000 });
  await row.locator('.badge.s-completed').waitFor({ timeout: 30_000 });
  assert.equal((await waitFinal(s.url, admin, id)).status, 'completed');
  // the counts of the filters follow too, with the throttled reload that the event schedules
  await page.getByTestId('status-counts').filter({ hasText: /completed/ }).waitFor({ timeout: 20_000 });
});

test('when the stream drops, the list says so and polls instead; it comes back to the stream', async () => {
  await page.route('**/api/v1/events', (r) => r.abort());
  await page.reload();
  await page.locator('[data-testid=live-note][data-live=poll]').waitFor({ timeout: 20_000 });
  assert.match(await page.getByTestId('live-note').innerText(), /interrupted/);
  await submitApi(echo('polled', { metadata: { name: 'polled job' } }));
  await page.locator('table.jobs tbody tr').filter({ hasText: 'polled job' }).waitFor({ timeout: 30_000 });
  await page.unroute('**/api/v1/events');
  await page.locator('[data-testid=live-note][data-live=stream]').waitFor({ timeout: 40_000 });
});

test('bulk cancel and delete from the list go through POST /jobs/bulk', async () => {
  const long = await submitApi(sleepJob(60, 'bulk slot holder'));
  const names = ['bulk-1', 'bulk-2', 'bulk-3'];
  const ids = [];
  for (const n of names) ids.push(await submitApi(sleepJob(1, n)));
  await page.goto(`${base}/?operation=test.sleep`);
  for (const n of names) await page.getByLabel(`Select job ${n}`).check();
  const before = asked.length;
  const [req] = await Promise.all([page.waitForRequest((r) => r.url().endsWith('/api/v1/jobs/bulk') && r.method() === 'POST'), page.getByRole('button', { name: 'Cancel 3' }).click()]);
  assert.equal((JSON.parse(req.postData() ?? '{}') as { action: string }).action, 'cancel');
  assert.equal((JSON.parse(req.postData() ?? '{}') as { ids: string[] }).ids.sort().join(), [...ids].sort().join());
  await page.getByText('3 jobs cancelled.').waitFor();
  assert.ok(!asked.slice(before).some((a) => /\/cancel$/.test(a)), 'no per-job cancel calls');
  for (const id of ids) assert.equal((await waitFinal(s.url, admin, id)).status, 'cancelled');
  // the rows turn cancelled live; then delete them in one request too
  for (const n of names) await page.locator('table.jobs tbody tr').filter({ hasText: n }).locator('.badge.s-cancelled').waitFor({ timeout: 15_000 });
  for (const n of names) await page.getByLabel(`Select job ${n}`).check();
  await page.getByRole('button', { name: 'Delete 3…' }).click();
  await Promise.all([page.waitForRequest((r) => r.url().endsWith('/api/v1/jobs/bulk')), page.getByRole('button', { name: 'Yes, delete 3' }).click()]);
  await page.getByText('3 jobs deleted.').waitFor();
  for (const id of ids) assert.equal((await call(s.url, 'GET', `/jobs/${id}`, { token: admin })).status, 404);
  assert.equal((await call(s.url, 'POST', `/jobs/${long}/cancel`, { token: admin })).status, 202);
  await waitFinal(s.url, admin, long);
});

test('the charts page draws jobs per minute, wait and run percentiles and usage by namespace', async () => {
  for (let i = 0; i < 3; i++) await waitFinal(s.url, admin, await submitApi(echo(`chart ${i}`)));
  await page.getByRole('link', { name: 'Charts' }).click();
  await page.getByRole('heading', { level: 1, name: 'Charts' }).waitFor();
  for (const id of ['chart-throughput', 'chart-wait', 'chart-run', 'chart-usage']) await page.getByTestId(id).locator('canvas').waitFor({ timeout: 20_000 });
  assert.match((await page.getByTestId('chart-throughput').getAttribute('aria-label')) ?? '', /Jobs finished per minute by status/);
  assert.match(await page.locator('#throughput figcaption').innerText(), /\d+ jobs in all/);
  const usage = page.getByTestId('usage-table');
  assert.match(await usage.innerText(), /default/);
  const latency = await page.getByTestId('latency-table').innerText();
  assert.match(latency, /Queue wait/);
  assert.match(latency, /Run time/);
  // uPlot came with the charts chunk, not with the first load
  const scripts = (await page.evaluate('performance.getEntriesByType("resource").map(e => e.name)')) as string[];
  assert.ok(scripts.some((n) => /\/assets\/charts-[A-Z0-9]{8}\.js$/.test(n)), 'the charts chunk was loaded on demand');
  // wait for each response from before the action that asks for it: a fast answer can come before a later wait starts
  await Promise.all([page.waitForResponse((r) => r.url().includes('/stats/usage?window=7d')), page.getByRole('button', { name: '7 d' }).click()]);
  assert.equal(await page.getByRole('button', { name: '7 d' }).getAttribute('aria-pressed'), 'true');
  await Promise.all([page.waitForResponse((r) => r.url().includes('/stats/throughput?range=7d')), page.getByLabel('Time range').selectOption('7d')]);
  await page.locator('#throughput h2', { hasText: 'per hour' }).waitFor();
  await page.getByTestId('chart-throughput').locator('canvas').waitFor();
  await page.screenshot({ path: join(shots, 'dashboard-charts.png') });
  await axe(page, 'charts page');
});

test('no script errors and no CSP violations', () => {
  assert.deepEqual(pageErrors, []);
});
