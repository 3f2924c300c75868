import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { test } from 'node:test';
import { call, echo, removeDataDir, startServe, tempDataDir, testJob, waitFinal } from '../helpers/serve.js';

/** Nothing accepted over HTTP is lost: not to kill -9, not to a store that stops taking writes. */

async function allFinal(url: string, token: string, ids: readonly string[], timeoutMs: number): Promise<Map<string, string>> {
  const end = Date.now() + timeoutMs;
  const want = new Set(ids);
  for (;;) {
    const status = new Map<string, string>();
    let cursor: string | undefined;
    do {
      const page = await call(url, 'GET', `/jobs?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
      for (const j of page.body.items as { job_id: string; status: string }[]) if (want.has(j.job_id)) status.set(j.job_id, j.status);
      cursor = page.body.next as string | undefined;
    } while (cursor);
    const open = [...want].filter((id) => !['completed', 'failed', 'cancelled', 'timeout'].includes(status.get(id) ?? ''));
    if (open.length === 0) return status;
    if (Date.now() > end) throw new Error(`${open.length} of ${ids.length} jobs not final after ${timeoutMs} ms (e.g. ${open[0]}: ${status.get(open[0]!)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('kill -9 of serve with 500 jobs accepted: after a restart all 500 reach a final state, none twice', { timeout: 240_000 }, async () => {
  const dataDir = tempDataDir('gk-restart-');
  const first = await startServe({ dataDir, args: ['--max-concurrent', '2'] });
  const token = first.adminToken;
  const ids: string[] = [];
  try {
    for (let b = 0; b < 5; b++) {
      const jobs = Array.from({ length: 100 }, (_, i) => testJob('test.sleep', { seconds: 0.05 }, { job_id: `restart-${b}-${String(i).padStart(3, '0')}`, execution: { max_attempts: 2 } }));
      const r = await call(first.url, 'POST', '/jobs', { token, body: { jobs } });
      assert.equal(r.status, 202);
      ids.push(...(r.body.jobs as { job_id: string }[]).map((j) => j.job_id));
    }
    assert.equal(ids.length, 500);
  } finally {
    await first.daemon.stop('SIGKILL');
  }
  const second = await startServe({ dataDir, args: ['--max-concurrent', '2'] });
  try {
    const recovered = await second.daemon.waitForLog((l) => l.msg === 'http intake: unfinished jobs recovered');
    assert.ok(Number(recovered.requeued) >= 100, `most jobs were still waiting at the kill: ${JSON.stringify(recovered)}`);
    const status = await allFinal(second.url, token, ids, 180_000);
    assert.equal(status.size, 500);
    const counts: Record<string, number> = {};
    for (const s of status.values()) counts[s] = (counts[s] ?? 0) + 1;
    assert.deepEqual(counts, { completed: 500 }, JSON.stringify(counts));
    // each ran to completion once: one completed attempt per job
    for (const id of ids.slice(0, 50)) {
      const j = await call(second.url, 'GET', `/jobs/${id}`, { token });
      const attempts = j.body.attempts as { status: string }[];
      assert.equal(attempts.filter((a) => a.status === 'completed').length, 1, id);
    }
  } finally {
    await second.stop();
    removeDataDir(dataDir);
  }
});

test('a store that stops taking writes: 503 UNAVAILABLE, nothing half-accepted; after it recovers every accepted job runs', { timeout: 120_000 }, async () => {
  const s = await startServe({ args: ['--max-concurrent', '2'], env: { GUESTKIT_STORE_BUSY_TIMEOUT_MS: '200' } });
  const token = s.adminToken;
  try {
    const before = await call(s.url, 'POST', '/jobs', { token, body: { jobs: Array.from({ length: 20 }, (_, i) => echo(`before ${i}`)) } });
    assert.equal(before.status, 202);
    const accepted = (before.body.jobs as { job_id: string }[]).map((j) => j.job_id);
    const db = new Database(join(s.dataDir, 'guestkit.db'));
    db.exec('BEGIN IMMEDIATE'); // another process holds the write lock past the busy timeout
    let refused: Awaited<ReturnType<typeof call<Record<string, unknown>>>>;
    try {
      refused = await call(s.url, 'POST', '/jobs', { token, body: { ...echo('during'), job_id: 'during-outage-01' } });
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal((refused.body.error as { code: string }).code, 'UNAVAILABLE');
      assert.ok(refused.headers.get('retry-after'));
      assert.ok(refused.body.request_id);
      const ready = await call(s.url.replace(/\/api\/v1$/, ''), 'GET', '/readyz');
      assert.equal(ready.status, 503, 'not ready while the store fails');
      assert.equal(ready.body.ok, false);
      assert.equal((ready.body.error as { code: string }).code, 'UNAVAILABLE', 'the protocol error object, as every error');
      assert.match((ready.body.error as { message: string }).message, /^not ready: /);
      assert.equal(ready.body.request_id, ready.headers.get('x-request-id'));
    } finally {
      db.exec('ROLLBACK');
      db.close();
    }
    assert.equal((await call(s.url, 'GET', '/jobs/during-outage-01', { token })).status, 404, 'the refused job was not kept');
    // the store answers again: the same job is accepted now, and everything runs
    let again = await call(s.url, 'POST', '/jobs', { token, body: { ...echo('during'), job_id: 'during-outage-01' } });
    for (let i = 0; i < 50 && again.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await call(s.url, 'POST', '/jobs', { token, body: { ...echo('during'), job_id: 'during-outage-01' } });
    }
    assert.equal(again.status, 202);
    for (const id of [...accepted, 'during-outage-01']) assert.equal((await waitFinal(s.url, token, id, 60_000)).status, 'completed', id);
  } finally {
    await s.stop();
    removeDataDir(s.dataDir);
  }
});
