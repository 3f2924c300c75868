import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { openControlStores } from '../../src/store/sqlite/control-db.js';
import { repoRoot } from '../helpers/cli.js';
import { ensureWebBuild } from '../helpers/web-build.js';
import { call, removeDataDir, startServe, testJob, waitFinal, type Served } from '../helpers/serve.js';

/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against a spawned
 * `guestkit serve` on the real fixture images: sign-in, the submit form, live progress, the
 * inspection report, bulk cancel, a viewer's view, field errors, axe-core, phone widths.
 * Screenshots go to test-results/ (GUESTKIT_UPDATE_DOCS=1 copies them to docs/).
 */
const root = repoRoot();
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const fixtures = join(root, 'test', 'fixtures', 'out');
const debian = join(fixtures, 'inspect', 'debian.qcow2');
const lvm = join(fixtures, 'inspect-layouts', 'lvm-guest.qcow2');
const win11 = join(fixtures, 'windows', 'win11.vmdk');
const shots = join(root, 'test-results');

let s: Served;
let base: string;
let admin: string;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: bash scripts/ensure-system.sh test installs Debian's chromium`);
  assert.ok(existsSync(debian), `${debian} is missing: bash test/fixtures/build-all.sh builds it`);
  ensureWebBuild();
  mkdirSync(shots, { recursive: true });
  s = await startServe({ args: ['--allow-path', fixtures, '--max-concurrent', '1'] });
  base = s.url.replace(/\/api\/v1$/, '');
  admin = s.adminToken;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  watchErrors(page);
});

after(async () => {
  await browser?.close();
  await s?.stop();
  if (s) removeDataDir(s.dataDir);
});

function watchErrors(p: Page): void {
  p.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  p.on('console', (m) => {
    // a refused fetch (the role probe's 403, a 404 before a result exists) is logged by the browser itself
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
}

async function signIn(p: Page, token: string): Promise<void> {
  await p.goto(base + '/');
  await p.getByLabel('API token').fill(token);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
}

async function submitApi(doc: Record<string, unknown>): Promise<string> {
  const r = await call(s.url, 'POST', '/jobs', { token: admin, body: doc });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return (r.body.job as { job_id: string }).job_id;
}

const sleepJob = (seconds: number, name: string) => testJob('test.sleep', { seconds }, { metadata: { name, labels: { suite: 'web' } } });
const inspectJob = (path: string, name: string) => testJob('guestkit.inspect', { image: { path, format: 'auto' } }, { metadata: { name } });

/** axe-core in the page: the serious and critical violations, described. */
async function axe(p: Page, what: string): Promise<void> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await p.evaluate(source);
  const out = (await p.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) })))`)) as { id: string; impact: string; help: string; nodes: string[] }[];
  const bad = out.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${what}: axe-core found ${bad.length} serious violation(s): ${JSON.stringify(bad, null, 1)}`);
}

async function shot(p: Page, name: string): Promise<void> {
  const file = join(shots, `${name}.png`);
  await p.screenshot({ path: file, fullPage: false });
  if (process.env.GUESTKIT_UPDATE_DOCS === '1') copyFileSync(file, join(root, 'docs', `${name}.png`));
}

test('serve sends the dashboard: hashed assets immutable, index.html revalidated, client routes get the page, /api/* stays JSON', async () => {
  const index = await fetch(base + '/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.match(index.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await index.text();
  const js = /src="(\/assets\/main-[A-Z0-9]{8}\.js)"/.exec(html)?.[1];
  assert.ok(js, html);
  const asset = await fetch(base + js, { headers: { 'accept-encoding': 'br' } });
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
  assert.match(asset.headers.get('content-type') ?? '', /javascript/);
  const again = await fetch(base + '/', { headers: { 'if-none-match': index.headers.get('etag') ?? '' } });
  assert.equal(again.status, 304);
  const route = await fetch(base + '/jobs/01ABCDEF/report');
  assert.equal(route.status, 200);
  assert.match(await route.text(), /<div id="app">/);
  const missing = await fetch(base + '/assets/main-OLDHASH0.js');
  assert.equal(missing.status, 404);
  const api = await call(s.url, 'GET', '/nope', { token: admin });
  assert.equal(api.status, 404);
  assert.equal((api.body as { error: { code: string } }).error.code, 'NOT_FOUND');
  assert.equal((await call(base, 'GET', '/api/v2/jobs')).status, 404);
  assert.equal((await call(base, 'GET', '/healthz')).status, 200);
});

test('sign-in: a wrong token is refused next to the field; the admin token opens the jobs list, kept in sessionStorage only', async () => {
  await page.goto(base + '/');
  await page.getByLabel('API token').fill('gk_nope_nope');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#token-err').waitFor();
  assert.match(await page.locator('#token-err').innerText(), /refused/);
  await axe(page, 'sign-in page');
  await signIn(page, admin);
  assert.equal(await page.evaluate('sessionStorage.getItem("guestkit.token")'), admin);
  assert.equal(await page.evaluate('localStorage.length'), 0);
  assert.ok(!page.url().includes(admin), 'the token is never in a URL');
  assert.equal(await page.locator('.role').innerText(), 'admin');
});

test('submit an inspect job through the form, watch it wait, run and finish live, then open the report', async () => {
  // one slot: a sleeping job holds it, so the inspection is seen waiting first
  const blocker = await submitApi(sleepJob(2, 'blocker'));
  await page.getByRole('link', { name: 'Submit' }).click();
  await page.getByRole('heading', { level: 1, name: 'Submit a job' }).waitFor();
  await page.getByLabel('Image path').fill(debian);
  await page.getByRole('button', { name: 'Submit job' }).click();
  await page.waitForURL(/\/jobs\/[^/]+$/);
  const id = decodeURIComponent(page.url().split('/').pop()!);
  const line = page.getByTestId('job-status-line');
  await line.locator('.badge.s-pending').waitFor({ timeout: 10_000 });
  await line.locator('.badge.s-completed').waitFor({ timeout: 60_000 });
  // the events arrived over the stream without a reload
  const log = await page.locator('details.events summary').innerText();
  assert.match(log, /Event log \((\d+)/);
  assert.ok(Number(/\((\d+)/.exec(log)![1]) >= 3, log);
  await page.getByRole('heading', { name: 'Attempts' }).waitFor();
  assert.equal((await waitFinal(s.url, admin, id)).status, 'completed');
  assert.equal((await waitFinal(s.url, admin, blocker)).status, 'completed');
  await axe(page, 'job page');

  await page.getByRole('link', { name: 'Open the inspection report' }).click();
  await page.getByRole('heading', { level: 1, name: 'Debian GNU/Linux 12 (bookworm)' }).waitFor();
  const layout = page.getByTestId('disk-layout');
  await layout.getByText('/dev/sda4').waitFor();
  assert.match(await layout.innerText(), /GPT/);
  assert.match(await layout.innerText(), /\/boot\/efi/);
  await page.getByLabel('Search packages').fill('openssh-server');
  const rows = page.locator('#pkg-table tbody tr');
  await rows.first().getByText('openssh-server').waitFor();
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().innerText(), /1:9\.2p1-2\+deb12u10/);
  await page.getByLabel('Search packages').fill('');
  await page.getByLabel('Search packages').blur();
  await page.evaluate('window.scrollTo(0, 0)');
  await shot(page, 'dashboard-report');
  // sortable: the Name header flips to descending
  await page.getByRole('button', { name: /^Name/ }).first().click();
  assert.equal(await page.locator('#pkg-table thead th').first().getAttribute('aria-sort'), 'descending');
  await page.getByRole('heading', { name: /^Users/ }).waitFor();
  await page.getByRole('heading', { name: 'Security settings' }).waitFor();
  assert.match(await page.locator('#network').innerText(), /192\.0\.2\.10\/24/);
  await axe(page, 'report page');
});

test('reports of an LVM guest and a Windows guest: volume groups and drive letters', async () => {
  const lvmId = await submitApi(inspectJob(lvm, 'lvm guest'));
  const winId = await submitApi(inspectJob(win11, 'win11'));
  assert.equal((await waitFinal(s.url, admin, lvmId, 60_000)).status, 'completed');
  assert.equal((await waitFinal(s.url, admin, winId, 60_000)).status, 'completed');
  await page.goto(`${base}/jobs/${lvmId}/report`);
  const layout = page.getByTestId('disk-layout');
  await layout.getByText('LVM volume group vg0').waitFor();
  assert.match(await layout.innerText(), /\/dev\/vg0\/root/);
  await page.goto(`${base}/jobs/${winId}/report`);
  await page.getByTestId('disk-layout').getByText('C:').waitFor();
  assert.match(await page.locator('#packages').innerText(), /Microsoft Edge/);
  // issue 19's Windows facts in the System card, a locked-out account in Users
  const sys = await page.locator('#os').innerText();
  assert.match(sys, /Domain\s+workgroup WORKGROUP/i);
  assert.match(sys, /Pending reboot\s+yes: cbs_reboot_pending/i);
  assert.match(sys, /Paravirtual drivers\s+virtio, hyperv/i);
  assert.match(sys, /Telegram Desktop \(Дмитрий\)/);
  assert.match(await page.locator('#users').innerText(), /locked out/);
  await axe(page, 'windows report');
});

test('bulk-cancel three waiting jobs from the list', async () => {
  const long = await submitApi(sleepJob(60, 'long runner'));
  const waiting = [await submitApi(sleepJob(1, 'wait-1')), await submitApi(sleepJob(1, 'wait-2')), await submitApi(sleepJob(1, 'wait-3'))];
  await page.goto(`${base}/?operation=test.sleep&status=pending`);
  for (const name of ['wait-1', 'wait-2', 'wait-3']) await page.getByLabel(`Select job ${name}`).check();
  // one POST /jobs/bulk for the selection, not a request per job
  const [bulkReq] = await Promise.all([page.waitForRequest((r) => r.url().endsWith('/api/v1/jobs/bulk') && r.method() === 'POST'), page.getByRole('button', { name: 'Cancel 3' }).click()]);
  assert.deepEqual((JSON.parse(bulkReq.postData() ?? '{}') as { ids: string[] }).ids.sort(), [...waiting].sort());
  await page.getByText('3 jobs cancelled.').waitFor();
  for (const id of waiting) assert.equal((await call(s.url, 'GET', `/jobs/${id}`, { token: admin })).body.status, 'cancelled');
  assert.notEqual((await call(s.url, 'GET', `/jobs/${long}`, { token: admin })).body.status, 'cancelled', 'only the selected jobs');
  // the list is live: the cancelled jobs leave the "pending" filter without a reload
  await page.getByText('No job matches these filters.').waitFor({ timeout: 10_000 });
  await page.goto(`${base}/`);
  await page.locator('table.jobs tbody tr').first().waitFor();
  await shot(page, 'dashboard-jobs');
  await axe(page, 'jobs list');
  assert.equal((await call(s.url, 'POST', `/jobs/${long}/cancel`, { token: admin })).status, 202);
});

test('bad form input shows each error next to its field, from the schemas and from the server', async () => {
  await page.goto(`${base}/submit`);
  await page.getByRole('button', { name: 'Submit job' }).click();
  assert.match(await page.locator('#image-path-err').innerText(), /required/);
  assert.equal(await page.getByLabel('Image path').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate('document.activeElement.id'), 'image-path', 'focus moves to the first bad field');
  await page.getByLabel('Image path').fill(debian);
  await page.getByText('Name, labels and execution').click();
  await page.getByLabel('Priority (1–10)').fill('42');
  await page.getByLabel('Labels').fill('env=prod, oops');
  await page.getByRole('button', { name: 'Submit job' }).click();
  assert.match(await page.locator('#priority-err').innerText(), /between 1 and 10/);
  assert.match(await page.locator('#labels-err').innerText(), /oops/);
  assert.equal(await page.locator('#image-path-err').count(), 0);
  await axe(page, 'submit form with errors');
  // only the server knows its --allow-path roots: its PATH_NOT_ALLOWED lands on the image field
  await page.getByLabel('Priority (1–10)').fill('');
  await page.getByLabel('Labels').fill('');
  await page.getByLabel('Image path').fill('/etc/passwd');
  await page.getByRole('button', { name: 'Submit job' }).click();
  await page.locator('#image-path-err').waitFor();
  assert.match(await page.locator('#image-path-err').innerText(), /allow|under|root/i);
  assert.ok(page.url().endsWith('/submit'), 'nothing was submitted');
});

test('a viewer sees no submit link and no mutating buttons', async () => {
  const control = openControlStores(s.dataDir);
  const made = await control.tokens.create({ namespace: 'default', role: 'viewer', description: 'dashboard e2e viewer' });
  await control.close();
  const vctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const vp = await vctx.newPage();
  watchErrors(vp);
  await signIn(vp, made.token);
  assert.equal(await vp.locator('.role').innerText(), 'viewer');
  await vp.locator('table.jobs tbody tr').first().waitFor();
  assert.equal(await vp.getByRole('link', { name: 'Submit' }).count(), 0);
  assert.equal(await vp.locator('table.jobs input[type=checkbox]').count(), 0);
  await vp.locator('table.jobs tbody tr a').first().click();
  await vp.getByRole('heading', { name: 'Attempts' }).waitFor();
  for (const name of ['Cancel job', 'Retry as a new job', 'Delete']) assert.equal(await vp.getByRole('button', { name }).count(), 0, name);
  await vp.goto(`${base}/submit`);
  await vp.getByText('viewer token').waitFor();
  assert.equal(await vp.getByRole('button', { name: 'Submit job' }).count(), 0);
  await vctx.close();
});

test('workers and fleet pages; the banner when waiting jobs have no worker to run them', async () => {
  await page.goto(`${base}/workers`);
  await page.getByRole('heading', { level: 1, name: 'Workers' }).waitFor();
  await page.getByText('guestkit.inspect', { exact: true }).first().waitFor();
  await axe(page, 'workers page');
  // a profile of the Debian guest gives the fleet its open findings and the report its Findings
  const profiled = await submitApi(testJob('guestkit.profile', { image: { path: debian, format: 'auto' }, profiles: ['security'] }, { metadata: { name: 'debian profile' } }));
  assert.equal((await waitFinal(s.url, admin, profiled, 60_000)).status, 'completed');
  await page.goto(`${base}/fleet`);
  const table = page.getByTestId('fleet-table');
  await table.waitFor({ timeout: 20_000 });
  assert.match(await table.innerText(), /debian\.qcow2[\s\S]*Debian GNU\/Linux 12/);
  assert.match(await table.innerText(), /win11\.vmdk/);
  const debianRow = table.locator('tbody tr').filter({ hasText: 'debian.qcow2' });
  await debianRow.locator(`a[href="/jobs/${profiled}/report"]`).waitFor();
  assert.match(await debianRow.locator(`a[href="/jobs/${profiled}/report"]`).innerText(), /^\d+/);
  // the package search is the inventory API's: a name, then a version bound
  const search = page.getByRole('form', { name: 'Package search' });
  await page.getByLabel('Images with the package').fill('openssh-server');
  await search.getByRole('button', { name: 'Search' }).click();
  await page.getByText('2 images with openssh-server').waitFor();
  assert.match(await table.innerText(), /openssh-server version/);
  await page.getByLabel('Version', { exact: true }).selectOption('ge');
  await page.getByLabel('Compared with').fill('0');
  await search.getByRole('button', { name: 'Search' }).click();
  await page.getByText('2 images with openssh-server at least 0').waitFor();
  await shot(page, 'dashboard-fleet');
  await axe(page, 'fleet page');
  await page.getByLabel('Version', { exact: true }).selectOption('lt');
  await page.getByLabel('Compared with').fill('0');
  await search.getByRole('button', { name: 'Search' }).click();
  await page.getByText('0 images with openssh-server below 0').waitFor();
  // a bound that is no version in any ecosystem: the API's 400, shown at the field
  await page.getByLabel('Compared with').fill('1 2');
  await search.getByRole('button', { name: 'Search' }).click();
  await page.locator('#fleet-ver-error').waitFor();
  assert.match(await page.locator('#fleet-ver-error').innerText(), /not a version in any ecosystem/);
  await search.getByRole('button', { name: 'Show all' }).click();
  // the profile report, and the inspection report's Findings from it
  await debianRow.locator(`a[href="/jobs/${profiled}/report"]`).click();
  await page.getByRole('heading', { level: 1, name: /^Profile of Debian GNU\/Linux 12/ }).waitFor();
  await page.locator('#findings .severity-group').first().waitFor();
  await axe(page, 'profile report');
  await page.goto(`${base}/fleet`);
  await debianRow.locator('td.path a').click();
  await page.locator('#findings').getByText('From the latest profile of this image').waitFor();
  assert.ok((await page.locator('#findings .finding').count()) > 0, 'the report lists the open findings');
  // the embedded node fails a job it can never run at once (CAPABILITY_MISMATCH), so jobs only
  // wait stuck when no worker is live (workers elsewhere, all gone): GET /workers is answered
  // here as after the last worker's heartbeat stopped, while real jobs wait for the one slot
  const holder = await submitApi(sleepJob(60, 'slot holder'));
  const waiter = await submitApi(sleepJob(1, 'waiter'));
  const real = (await call(s.url, 'GET', '/workers', { token: admin })).body as { items: Record<string, unknown>[] };
  await page.route('**/api/v1/workers', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ items: real.items.map((w) => ({ ...w, live: false, state: 'offline' })) }) }));
  await page.goto(`${base}/`);
  const banner = page.getByRole('alert').filter({ hasText: 'Jobs are stuck.' });
  await banner.waitFor({ timeout: 15_000 });
  // the holder may still be waiting for its slot at first: the banner settles on the one waiter
  await banner.filter({ hasText: /No live worker is connected: 1 waiting job cannot run/ }).waitFor({ timeout: 15_000 });
  assert.match(await banner.innerText(), /test\.sleep/);
  await page.unroute('**/api/v1/workers');
  await banner.waitFor({ state: 'detached', timeout: 15_000 });
  for (const id of [waiter, holder]) assert.equal((await call(s.url, 'POST', `/jobs/${id}/cancel`, { token: admin })).status, 202);
});

test('phone width: no sideways scrolling on the jobs list, a job and the report; keyboard reaches the skip link first', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const pp = await phone.newPage();
  watchErrors(pp);
  await signIn(pp, admin);
  const fits = async (what: string) => {
    const [sw, iw] = (await pp.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number];
    assert.ok(sw <= iw + 1, `${what}: page is ${sw}px wide in a ${iw}px viewport`);
  };
  await pp.locator('table.jobs tbody tr').first().waitFor();
  await fits('jobs list');
  const list = await call(s.url, 'GET', '/jobs?operation=guestkit.inspect&status=completed&limit=1', { token: admin });
  const id = ((list.body as { items: { job_id: string }[] }).items[0]!).job_id;
  await pp.goto(`${base}/jobs/${id}`);
  await pp.getByRole('heading', { name: 'Attempts' }).waitFor();
  await fits('job page');
  await pp.goto(`${base}/jobs/${id}/report`);
  await pp.getByTestId('disk-layout').waitFor();
  await fits('report');
  await pp.screenshot({ path: join(shots, 'dashboard-report-phone.png') });
  await pp.keyboard.press('Tab');
  assert.equal(await pp.evaluate('document.activeElement.textContent'), 'Skip to content');
  await phone.close();
});

test('no script errors and no CSP violations on any page', () => {
  assert.deepEqual(pageErrors, []);
});
