import { after } from 'node:test';
import { PostgresJobStore } from '../../src/store/postgres/pg-job-store.js';
import { PgJobStats } from '../../src/store/postgres/stats-query.js';
import { startPostgres } from '../helpers/postgres.js';
import { statsContract } from './stats-contract.js';

/** The charts' figures from a shared PostgreSQL store: the same answers as the embedded store's. */
const pgi = await startPostgres();

statsContract('postgres', async () => {
  const store = await PostgresJobStore.open(await pgi.createDatabase('gk_stats'), { maxConnections: 4 });
  return {
    store,
    stats: new PgJobStats(store.pool),
    setTimes: async (id, queued, started, finished) => {
      await store.pool.query('UPDATE jobs SET queued_at = $1, started_at = $2, finished_at = $3 WHERE job_id = $4', [queued, started, finished, id]);
    },
    close: () => store.close(),
  };
});

// after the contract's own after(): the store closes before its server stops
after(() => pgi.stop());
