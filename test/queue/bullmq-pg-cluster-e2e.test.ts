import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resolveServeConfig } from '../../src/app/serve-config.js';
import { resolveWorkerConfig } from '../../src/app/worker-config.js';
import { ClusterRun, clusterTests } from '../helpers/cluster-e2e.js';
import { assertUsage, runCli } from '../helpers/cli.js';
import { startPostgres, type PgInstance } from '../helpers/postgres.js';
import { testJob } from '../helpers/serve.js';
import { makeSpool } from '../worker/helpers/daemon.js';

/**
 * Cluster mode with no Redis: serve + 2 workers whose shared queue is BullMQ's PostgreSQL
 * backend in the same database as the store (`--queue` = `--store`), events and cancels over
 * LISTEN/NOTIFY. The scenario is the Redis cluster's (test/helpers/cluster-e2e.ts), plus a
 * PostgreSQL restart mid-run.
 */
let pg: PgInstance;
let run: ClusterRun;

describe('cluster: serve + 2 workers, queue and store in one PostgreSQL', { timeout: 600_000 }, () => {
  before(async () => {
    pg = await startPostgres();
    const db = await pg.createDatabase('pgcluster');
    run = new ClusterRun(db, db);
    await run.start();
  });

  after(async () => {
    await run?.stop();
    await pg?.stop();
  });

  clusterTests(() => run);

  test('a PostgreSQL restart mid-run: every job accepted before it completes once, the workers take new jobs after it', async () => {
    const ids = await run.submit(Array.from({ length: 12 }, (_, i) => testJob('test.sleep', { seconds: 0.5 }, { job_id: `pg-restart-${i}` })));
    await run.waitJob(ids[0]!, (j) => j.status === 'running' || j.status === 'completed', 'started');
    await pg.restart({ downMs: 2000 });
    for (const id of ids) {
      const j = await run.waitEnd(id);
      assert.equal(j.status, 'completed', JSON.stringify(j));
      assert.equal((j.attempts as { status: string }[]).filter((a) => a.status === 'completed').length, 1, `completed once: ${JSON.stringify(j.attempts)}`);
    }
    const [later] = await run.submit([testJob('test.sleep', { seconds: 0.1 }, { job_id: 'pg-restart-after' })]);
    assert.equal((await run.waitEnd(later!)).status, 'completed');
  });
});

describe('PostgreSQL queue configuration', { timeout: 120_000 }, () => {
  test('--queue postgres:// resolves for worker and serve; a worker needs a shared store; a bad URL is refused', () => {
    const pgUrl = 'postgres://gk@db/guestkit';
    assert.equal(resolveWorkerConfig({ store: pgUrl, queue: pgUrl }, {}).queue, pgUrl);
    assert.equal(resolveWorkerConfig({ store: pgUrl }, { GUESTKIT_QUEUE: 'postgresql://gk@db:5433/q' }).queue, 'postgresql://gk@db:5433/q');
    assert.equal(resolveServeConfig({ store: pgUrl, queue: pgUrl }, {}).worker.queue, pgUrl);
    assert.throws(() => resolveWorkerConfig({ queue: pgUrl }, {}), /--store sqlite.*postgres:\/\//);
    assert.throws(() => resolveWorkerConfig({ store: pgUrl, queue: 'postgres:///guestkit' }, {}), /name the PostgreSQL server/);
    assert.throws(() => resolveWorkerConfig({ store: pgUrl, queue: 'mysql://db/q' }, {}), /--queue must be embedded or a redis:\/\/.* or postgres:\/\//);
  });

  test('a worker whose PostgreSQL queue cannot be reached exits with a usage error naming it', async () => {
    const pgi = await startPostgres();
    try {
      const store = await pgi.createDatabase('unreach');
      const spool = makeSpool('gk-pgq-unreach-');
      const r = await runCli(['worker', '--jobs-dir', spool.jobs, '--data-dir', spool.data, '--store', store, '--queue', 'postgres://gk:secret@127.0.0.1:1/q'], undefined, { timeoutMs: 60_000 });
      assertUsage(r, /--queue postgres:\/\/gk:\*\*\*@127\.0\.0\.1:1\/q: cannot use the PostgreSQL there/);
    } finally {
      await pgi.stop();
    }
  });
});
