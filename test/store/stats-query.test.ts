import assert from 'node:assert/strict';
import { test } from 'node:test';
import { percentiles } from '../../src/ports/job-stats.js';
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js';
import { SqliteJobStats } from '../../src/store/sqlite/stats-query.js';
import { statsContract, T0 } from './stats-contract.js';

/** The JobStats adapter over a real (in-memory) SQLite store with jobs at known times. */
let store: SqliteJobStore;

statsContract('sqlite', async () => {
  store = SqliteJobStore.open(':memory:');
  return {
    store,
    stats: new SqliteJobStats(store.db),
    setTimes: async (id, queued, started, finished) => {
      store.db.prepare('UPDATE jobs SET queued_at = ?, started_at = ?, finished_at = ? WHERE job_id = ?').run(queued, started, finished, id);
    },
    close: () => store.close(),
  };
});

test('percentiles: nearest rank, in seconds; none of nothing', () => {
  assert.deepEqual(percentiles([]), { n: 0, p50: null, p90: null, p99: null });
  assert.deepEqual(percentiles([3000, 1000, 2000]), { n: 3, p50: 2, p90: 3, p99: 3 });
  const hundred = Array.from({ length: 100 }, (_, i) => (i + 1) * 1000);
  assert.deepEqual(percentiles(hundred), { n: 100, p50: 50, p90: 90, p99: 99 });
});

test('the charts read an index, not the jobs’ rows (schema v6)', () => {
  const plan = (sql: string) => (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(T0, T0) as { detail: string }[]).map((r) => r.detail).join(' | ');
  assert.match(plan('SELECT status, COUNT(*) FROM jobs WHERE finished_at >= ? AND finished_at < ? GROUP BY status'), /COVERING INDEX jobs_by_finished/);
  assert.match(plan('SELECT finished_at, started_at - queued_at FROM jobs WHERE finished_at >= ? AND finished_at < ? AND started_at IS NOT NULL'), /COVERING INDEX jobs_by_finished/);
});
