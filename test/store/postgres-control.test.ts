/**
 * The PostgreSQL TokenStore and AuditLog: their contract suites on a private PostgreSQL,
 * a fresh schema per store, and the cluster cases (two processes appending to one chain,
 * a revoke through another process).
 *
 * The suites live in token-store.test.ts and audit-log.test.ts, which also register their
 * SQLite runs when imported: those run here too.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { PgAuditLog } from '../../src/store/postgres/pg-audit-log.js';
import { PgControlDb } from '../../src/store/postgres/pg-control-db.js';
import { PgTokenStore } from '../../src/store/postgres/pg-token-store.js';
import { startPostgres } from '../helpers/postgres.js';
import { auditLogContract, input, type AuditLogFactory } from './audit-log.test.js';
import { tokenStoreContract, type TokenStoreFactory } from './token-store.test.js';

const pgi = await startPostgres();
after(() => pgi.stop());
const url = await pgi.createDatabase('gk_control');

let schemas = 0;
const freshSchema = () => `c${process.pid}_${++schemas}`;

async function sql(text: string, params: unknown[] = []): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query(text, params);
  } finally {
    await c.end();
  }
}

type Clock = Parameters<TokenStoreFactory['open']>[0];

const openTokens = async (schema: string, clock: Clock, cacheTtlMs?: number) =>
  new PgTokenStore((await PgControlDb.open(url, { schema, maxConnections: 2 })).acquire(), { now: clock.now, cacheTtlMs });

tokenStoreContract({
  name: 'postgres',
  async open(clock) {
    const schema = freshSchema();
    return {
      store: await openTokens(schema, clock),
      reopen: () => openTokens(schema, clock),
      cleanup: () => sql(`DROP SCHEMA ${schema} CASCADE`),
    };
  },
});

const openLog = async (schema: string, clock: Clock, opts: { retryMs?: number; lockTimeoutMs?: number } = {}) =>
  PgAuditLog.create((await PgControlDb.open(url, { schema, maxConnections: 2 })).acquire(), { now: clock.now, ...opts });

const auditFactory: AuditLogFactory = {
  name: 'postgres',
  async open(clock) {
    const schema = freshSchema();
    // storage failures are tested without waiting: no retries, a short wait for the head
    const opts = { retryMs: 0, lockTimeoutMs: 100 };
    let holder: pg.Client | undefined;
    return {
      log: await openLog(schema, clock, opts),
      reopen: () => openLog(schema, clock, opts),
      setColumn: (seq, column, value) => sql(`UPDATE ${schema}.audit_log SET ${column} = $1 WHERE seq = $2`, [value, seq]),
      deleteRow: (seq) => sql(`DELETE FROM ${schema}.audit_log WHERE seq = $1`, [seq]),
      // another process holds the chain head: appends time out on its lock (55P03)
      blockWrites: async () => {
        holder = new pg.Client({ connectionString: url });
        await holder.connect();
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM ${schema}.audit_head WHERE id = 1 FOR UPDATE`);
        return async () => {
          await holder!.query('ROLLBACK');
          await holder!.end();
        };
      },
      // a full disk after some rows of the batch's insert: the server says disk_full (53100)
      failMidBatch: async () => {
        await sql(`CREATE FUNCTION ${schema}.full_disk() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            IF NEW.seq > 5 THEN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END IF;
            RETURN NEW;
          END $$`);
        await sql(`CREATE TRIGGER full_disk BEFORE INSERT ON ${schema}.audit_log FOR EACH ROW EXECUTE FUNCTION ${schema}.full_disk()`);
        return () => sql(`DROP TRIGGER full_disk ON ${schema}.audit_log`);
      },
      cleanup: () => sql(`DROP SCHEMA ${schema} CASCADE`),
    };
  },
};
auditLogContract(auditFactory);

function clock(): Clock {
  const c = { t: Date.UTC(2026, 0, 30, 16), now: () => c.t, advance: (ms: number) => void (c.t += ms) };
  return c as Clock;
}

test('postgres audit: two processes appending at once keep one chain, in commit order', async () => {
  const schema = freshSchema();
  const c = clock();
  const [a, b] = await Promise.all([openLog(schema, c), openLog(schema, c)]);
  try {
    const outs = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).append(input(`x-${i}`))));
    assert.deepEqual(new Set(outs.map((e) => e.seq)).size, 300, 'no sequence number given twice');
    assert.deepEqual([...outs.map((e) => e.seq)].sort((x, y) => x - y), Array.from({ length: 300 }, (_, i) => i + 1));
    assert.deepEqual(await a.verify(), { ok: true, entries: 300 });
  } finally {
    await a.close();
    await b.close();
    await sql(`DROP SCHEMA ${schema} CASCADE`);
  }
});

test('postgres audit: the newest entries deleted behind the log are a gap against the stored head, even after a restart', async () => {
  const schema = freshSchema();
  const c = clock();
  let log = await openLog(schema, c);
  try {
    await Promise.all([1, 2, 3].map((i) => log.append(input(`job-${i}`))));
    await sql(`DELETE FROM ${schema}.audit_log WHERE seq = 3`);
    await log.close();
    log = await openLog(schema, c);
    const v = await log.verify();
    assert.ok(!v.ok && v.brokenAt === 3, JSON.stringify(v));
    assert.equal((await log.append(input('job-4'))).seq, 4);
  } finally {
    await log.close();
    await sql(`DROP SCHEMA ${schema} CASCADE`);
  }
});

test('postgres tokens: a revoke by another process reaches a running server once its cache entry is older than the TTL', async () => {
  const schema = freshSchema();
  const c = clock();
  const server = await openTokens(schema, c, 5_000);
  const cli = await openTokens(schema, c);
  try {
    const { token, record } = await cli.create({ namespace: 'team-a', role: 'viewer' });
    assert.equal((await server.verify(token)).id, record.id);
    assert.equal(await cli.revoke(record.id), true);
    c.t += 4_999;
    assert.equal((await server.verify(token)).id, record.id, 'still cached');
    c.t += 1;
    await assert.rejects(server.verify(token), (e: { details?: { reason?: string } }) => e.details?.reason === 'revoked');
  } finally {
    await server.close();
    await cli.close();
    await sql(`DROP SCHEMA ${schema} CASCADE`);
  }
});
