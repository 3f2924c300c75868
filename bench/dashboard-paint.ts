/**
 * Time to the first meaningful paint of the dashboard in headless Chromium (playwright-core +
 * Debian's /usr/bin/chromium) against a spawned `guestkit serve` whose store holds 100,000 jobs:
 *   - the jobs list: navigation start → the frame after the first job row is in the DOM;
 *   - a report of an inspection with 3,000 packages: → the frame after the first package row.
 * Each run is a fresh browser context (no cache, token put in sessionStorage before the page
 * loads). Prints every run, the medians, and the server time of the calls behind them.
 *
 *   node --import tsx bench/dashboard-paint.ts [runs=5] [jobs=100000] [packages=3000]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { SqliteJobStore } from '../src/store/sqlite/sqlite-job-store.js';
import type { JobDocument } from '../src/protocol/envelope.js';
import type { JobResult } from '../src/protocol/result.js';
import { repoRoot } from '../test/helpers/cli.js';
import { startServe } from '../test/helpers/serve.js';

const [runs = 5, jobs = 100_000, packages = 3000] = process.argv.slice(2).map(Number);
const root = repoRoot();
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const work = join(root, 'bench', 'out', 'dashboard-paint');
const dataDir = join(work, 'data');
const REPORT_ID = 'bench-report-3000';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function doc(id: string, i: number, op: string, ns: string): JobDocument {
  return {
    version: '1.0',
    job_id: id,
    created_at: new Date().toISOString(),
    kind: 'VMOperation',
    operation: op,
    metadata: { namespace: ns, name: `disk ${i}`, labels: { env: i % 3 ? 'prod' : 'dev', team: `t${i % 7}` } },
    execution: { priority: 5, timeout_seconds: 600, max_attempts: 3, attempt: 1, cancellable: true },
    payload: { type: `${op}.v1`, data: { image: { path: `/data/images/vm-${i}.qcow2`, format: 'qcow2' } } },
  } as unknown as JobDocument;
}

/** 100,000 finished jobs over 30 days, written straight into the store's database in one transaction. */
async function seed(): Promise<void> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const store = SqliteJobStore.open(dataDir);
  const t0 = Date.now();
  const now = Date.now();
  const span = 30 * 24 * 3600_000;
  const insert = store.db.prepare(`INSERT INTO jobs (job_id, operation, namespace, status, priority, attempt, max_attempts, doc, created_at,
      queued_at, started_at, finished_at, error_code, updated_at) VALUES (?, ?, ?, ?, 5, 1, 3, ?, ?, ?, ?, ?, ?, ?)`);
  const statuses = ['completed', 'completed', 'completed', 'completed', 'completed', 'completed', 'completed', 'completed', 'failed', 'cancelled'];
  store.db.transaction(() => {
    for (let i = 0; i < jobs; i++) {
      const id = `bench-${String(i).padStart(7, '0')}`;
      const op = i % 4 ? 'guestkit.inspect' : 'guestkit.profile';
      const ns = `team-${i % 5}`;
      const queued = now - span + Math.floor((i / jobs) * span);
      const started = queued + 200 + (i % 50) * 20;
      const finished = started + 1000 + (i % 100) * 30;
      const st = statuses[i % statuses.length]!;
      const d = doc(id, i, op, ns);
      insert.run(id, op, ns, st, JSON.stringify(d), d.created_at, queued, started, finished, st === 'failed' ? 'EXECUTION_ERROR' : null, finished);
    }
  })();
  // the report: an inspection with `packages` applications, through the store's own calls
  const job = doc(REPORT_ID, 0, 'guestkit.inspect', 'default');
  await store.submit({ job, source: 'bench' });
  await store.begin(REPORT_ID, 'bench-worker');
  const apps = Array.from({ length: packages }, (_, i) => ({ name: `pkg-${String(i).padStart(4, '0')}-${['lib', 'tool', 'daemon'][i % 3]}`, epoch: 0, version: `${1 + (i % 9)}.${i % 17}.${i % 5}-${i % 3}`, release: '', arch: i % 4 ? 'amd64' : 'all', source_package: `src-${i}`, summary: `synthetic package number ${i} for the paint benchmark` }));
  const result = {
    job_id: REPORT_ID,
    status: 'completed',
    worker_id: 'bench-worker',
    completed_at: new Date().toISOString(),
    execution_summary: { started_at: new Date().toISOString(), duration_seconds: 1.2, attempt: 1 },
    metrics: { cpu_seconds: 0.4, wall_seconds: 1.2 },
    data: {
      image: [{ path: '/data/images/big.qcow2', format: 'qcow2', virtual_size: 21474836480, backing_chain: [] }],
      partition_table: [{ device: '/dev/sda', scheme: 'gpt' }],
      filesystems: [
        { device: '/dev/sda1', type: 'vfat', uuid: 'AAAA-BBBB', label: 'EFI', size: 536870912, role: 'data' },
        { device: '/dev/sda2', type: 'ext4', uuid: '5b1d3c1e-0f6a-4c55-9a43-2f1f6b0e7a01', label: 'root', size: 20937965568, role: 'root' },
      ],
      operating_systems: [
        {
          root: '/dev/sda2', type: 'linux', name: 'linux', distro: 'debian', product_name: '12.15', pretty_name: 'Debian GNU/Linux 12 (bookworm)', major_version: 12, minor_version: 15,
          arch: 'x86_64', hostname: 'big-01', osinfo: 'debian12', package_format: 'deb', package_management: 'apt', mountpoints: { '/': '/dev/sda2', '/boot/efi': '/dev/sda1' },
          filesystems: ['/dev/sda1', '/dev/sda2'], warnings: [], fstab: [], crypttab: [], applications: apps, kernels: [], services: [], users: [], groups: [],
        },
      ],
      warnings: [],
      stats: { bytes_read: 942479, reads: 124, total_ms: 40, stages_ms: {} },
    },
  } as unknown as JobResult;
  await store.finish(REPORT_ID, 'completed', result);
  await store.close();
  console.log(`seeded ${jobs.toLocaleString()} jobs and a report of ${packages.toLocaleString()} packages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(root, 'scripts', 'build-web.mjs'), '--quiet'], { cwd: root, stdio: 'inherit' });
  await seed();
  const served = await startServe({ dataDir });
  const base = served.url.replace(/\/api\/v1$/, '');
  const token = served.adminToken;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  const api = async (path: string) => {
    const t = performance.now();
    const r = await fetch(`${served.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    return performance.now() - t;
  };
  const paint = async (path: string, selector: string): Promise<{ dom: number; frame: number }> => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // as text: a function would be serialised with tsx's helpers (__name), which the page lacks
    await ctx.addInitScript({
      content: `sessionStorage.setItem('guestkit.token', ${JSON.stringify(token)});
        sessionStorage.setItem('guestkit.role', 'admin');
        new MutationObserver(function () {
          if (window.__dom === undefined && document.querySelector(${JSON.stringify(selector)})) {
            window.__dom = performance.now();
            requestAnimationFrame(function () { setTimeout(function () { window.__frame = performance.now(); }, 0); });
          }
        }).observe(document, { subtree: true, childList: true });`,
    });
    const page = await ctx.newPage();
    await page.goto(base + path);
    // polled from here (waitForFunction evaluates strings, which the page's CSP forbids); the times are the page's own
    let out: { dom?: number; frame?: number } = {};
    for (const end = Date.now() + 60_000; out.frame === undefined; await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() > end) throw new Error(`${path}: no ${selector} within 60 s`);
      out = await page.evaluate(() => {
        const w = globalThis as unknown as { __dom?: number; __frame?: number };
        return { dom: w.__dom, frame: w.__frame };
      });
    }
    await ctx.close();
    return out as { dom: number; frame: number };
  };
  const figures: Record<string, number[]> = { list: [], listDom: [], report: [], reportDom: [], apiList: [], apiCounts: [], apiResult: [] };
  try {
    await paint('/', 'table.jobs tbody tr'); // warm-up: the server's first answers, chromium's first start
    for (let r = 0; r < runs; r++) {
      const l = await paint('/', 'table.jobs tbody tr');
      const p = await paint(`/jobs/${REPORT_ID}/report`, '#pkg-table tbody tr');
      figures.list!.push(l.frame);
      figures.listDom!.push(l.dom);
      figures.report!.push(p.frame);
      figures.reportDom!.push(p.dom);
      figures.apiList!.push(await api('/jobs?limit=50'));
      figures.apiCounts!.push(await api('/stats/counts'));
      figures.apiResult!.push(await api(`/jobs/${REPORT_ID}/result`));
      console.log(`run ${r + 1}: jobs list ${l.frame.toFixed(0)} ms (row in DOM ${l.dom.toFixed(0)}), report ${p.frame.toFixed(0)} ms (row in DOM ${p.dom.toFixed(0)})`);
    }
  } finally {
    await browser.close();
    await served.stop();
  }
  const m = (k: string) => median(figures[k]!).toFixed(0);
  console.log(`\nmachine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`medians of ${runs} runs (target < 1000 ms each):`);
  console.log(`  jobs list, ${jobs.toLocaleString()} jobs stored: first paint ${m('list')} ms (first row in DOM ${m('listDom')} ms) ${Number(m('list')) < 1000 ? '✓' : '✗'}`);
  console.log(`  report, ${packages.toLocaleString()} packages: first paint ${m('report')} ms (first row in DOM ${m('reportDom')} ms) ${Number(m('report')) < 1000 ? '✓' : '✗'}`);
  console.log(`  server: GET /jobs?limit=50 ${m('apiList')} ms, GET /stats/counts (all ${jobs.toLocaleString()}) ${m('apiCounts')} ms, GET /jobs/{id}/result (${packages} packages) ${m('apiResult')} ms`);
}

await main();
