import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { toJson, type AuditInput, type AuditLog } from '../../src/ports/audit-log.js';
import { isStoreUnavailable } from '../../src/ports/job-store.js';
import { ControlDb } from '../../src/store/sqlite/control-db.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';

class FakeClock {
  constructor(public t = Date.UTC(2026, 0, 30, 16)) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * The AuditLog contract: every adapter (SQLite now, PostgreSQL next) runs these tests.
 * Besides the log, a factory hands out what an intruder with database access could do
 * (edit or delete a row behind the log's back) and a way to make the store refuse writes.
 */
export interface AuditLogHandle {
  log: AuditLog;
  reopen(): Promise<AuditLog>;
  setColumn(seq: number, column: string, value: string | number | null): Promise<void>;
  deleteRow(seq: number): Promise<void>;
  /** From now on every write batch fails as a storage failure before it writes anything, until the returned function is called. */
  blockWrites(): Promise<() => Promise<void>>;
  /** From now on a batch fails as a storage failure after some of its entries were written (a full disk), until the returned function is called. */
  failMidBatch(): Promise<() => Promise<void>>;
  cleanup?(): Promise<void>;
}

export interface AuditLogFactory {
  name: string;
  open(clock: FakeClock): Promise<AuditLogHandle>;
}

export const input = (target: string, over: Partial<AuditInput> = {}): AuditInput => ({
  actor: 'token:abcdefghij12',
  role: 'submitter',
  namespace: 'team-a',
  action: 'job.submit',
  target,
  sourceIp: '10.0.0.7',
  outcome: 'ok',
  status: 202,
  ...over,
});

/** The documented formula, written out independently of the implementation. */
function docHash(json: Record<string, unknown>): string {
  const canon = (v: unknown): string =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : Array.isArray(v)
        ? `[${v.map(canon).join(',')}]`
        : JSON.stringify(v);
  const { hash: _hash, ...rest } = json;
  return createHash('sha256').update(`${String(json.prev_hash)}\n${canon(rest)}`).digest('hex');
}

async function all(log: AuditLog): Promise<number[]> {
  const seqs: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await log.list({ limit: 7, cursor });
    seqs.push(...page.items.map((e) => e.seq));
    cursor = page.next;
  } while (cursor);
  return seqs;
}

export function auditLogContract(f: AuditLogFactory): void {
  const withLog = (title: string, fn: (h: AuditLogHandle, clock: FakeClock) => Promise<void>) =>
    test(`${f.name} AuditLog contract: ${title}`, async () => {
      const clock = new FakeClock();
      const h = await f.open(clock);
      try {
        await fn(h, clock);
      } finally {
        await h.log.close();
        await h.cleanup?.();
      }
    });

  withLog('entries are chained from 64 zeros; the JSON form is snake_case and its hash checks with the documented formula', async ({ log }, clock) => {
    const a = await log.append(input('job-1', { details: { b: [1, { z: true, a: null }], a: 'x' } }));
    clock.advance(5);
    const b = await log.append(input('job-2', { outcome: 'denied', status: 403, namespace: null, sourceIp: null }));
    assert.deepEqual([a.seq, a.prevHash, a.at], [1, '0'.repeat(64), clock.t - 5]);
    assert.deepEqual([b.seq, b.prevHash], [2, a.hash]);
    assert.match(a.hash, /^[0-9a-f]{64}$/);
    const ja = toJson(a);
    assert.deepEqual(Object.keys(ja).sort(), ['action', 'actor', 'at', 'details', 'hash', 'namespace', 'outcome', 'prev_hash', 'role', 'seq', 'source_ip', 'status', 'target']);
    assert.equal(ja.at, new Date(a.at).toISOString());
    assert.equal(ja.source_ip, '10.0.0.7');
    assert.equal(docHash(ja), a.hash);
    const jb = toJson(b);
    assert.ok(!('details' in jb), 'no details key when the entry has none');
    assert.equal(docHash(jb), b.hash);
    assert.deepEqual(await log.list(), { items: [b, a] });
    assert.deepEqual(await log.verify(), { ok: true, entries: 2 });
  });

  withLog('many appends in one turn and across turns: sequence = append order, no gaps, one valid chain', async ({ log }) => {
    const one = await Promise.all(Array.from({ length: 500 }, (_, i) => log.append(input(`t0-${i}`))));
    assert.deepEqual(one.map((e) => e.seq), Array.from({ length: 500 }, (_, i) => i + 1));
    for (let i = 1; i < one.length; i++) assert.equal(one[i]!.prevHash, one[i - 1]!.hash);
    // several turns, each with its own burst, none awaited before the next starts
    const bursts: Promise<{ seq: number; target: string | null }>[] = [];
    for (let turn = 1; turn <= 20; turn++) {
      for (let i = 0; i < turn * 7; i++) bursts.push(log.append(input(`t${turn}-${i}`)));
      await new Promise((r) => setImmediate(r));
    }
    const later = await Promise.all(bursts);
    assert.deepEqual(later.map((e) => e.seq), Array.from({ length: later.length }, (_, i) => 501 + i));
    const total = 500 + later.length;
    assert.deepEqual(await log.verify(), { ok: true, entries: total });
    const seqs = await all(log);
    assert.deepEqual(seqs, Array.from({ length: total }, (_, i) => total - i), 'paging: newest first, no duplicates, no gaps');
    assert.equal((await log.list({ limit: 1 })).items[0]!.target, later[later.length - 1]!.target);
  });

  withLog('list: limit, cursor and from/to (inclusive, on at); a bad cursor is a validation error', async ({ log }, clock) => {
    const t0 = clock.t;
    for (let i = 1; i <= 10; i++) {
      await log.append(input(`job-${i}`));
      clock.advance(1000);
    }
    const page = await log.list({ limit: 3 });
    assert.deepEqual(page.items.map((e) => e.seq), [10, 9, 8]);
    assert.deepEqual((await log.list({ limit: 3, cursor: page.next })).items.map((e) => e.seq), [7, 6, 5]);
    assert.deepEqual((await log.list({ from: t0 + 2000, to: t0 + 4000 })).items.map((e) => e.seq), [5, 4, 3]);
    assert.deepEqual((await log.list({ from: t0 + 8000 })).items.map((e) => e.seq), [10, 9]);
    assert.deepEqual((await log.list({ to: t0 + 999 })).items.map((e) => e.seq), [1]);
    const bounded = await log.list({ from: t0 + 1000, limit: 4 });
    assert.deepEqual(bounded.items.map((e) => e.seq), [10, 9, 8, 7]);
    assert.deepEqual((await log.list({ from: t0 + 1000, limit: 4, cursor: bounded.next })).items.map((e) => e.seq), [6, 5, 4, 3]);
    assert.equal((await log.list({ limit: 10 })).next, undefined, 'no next page when everything fitted');
    assert.deepEqual([(await log.list({ limit: Number.NaN })).items.length, (await log.list({ limit: 0 })).items.length], [10, 1], 'a bad limit falls back to the default, a small one to 1');
    for (const cursor of ['abc', '0', '-1', '1.5', '']) await assert.rejects(log.list({ cursor }), (e) => isGuestkitError(e, 'VALIDATION_ERROR'), cursor);
  });

  withLog('a restart keeps the chain: close, reopen, the next entry links onto the last one', async (h) => {
    await Promise.all([1, 2, 3].map((i) => h.log.append(input(`job-${i}`, { details: { n: i, nested: { y: 1, x: [2] } } }))));
    const last = (await h.log.list({ limit: 1 })).items[0]!;
    await h.log.close();
    h.log = await h.reopen();
    const next = await h.log.append(input('job-4'));
    assert.deepEqual([next.seq, next.prevHash], [4, last.hash]);
    assert.deepEqual((await h.log.list({ limit: 2 })).items[1], last, 'entries (details too) read back as written');
    assert.deepEqual(await h.log.verify(), { ok: true, entries: 4 });
  });

  withLog('verify names the first entry edited behind the log\'s back', async (h) => {
    await Promise.all(Array.from({ length: 6 }, (_, i) => h.log.append(input(`job-${i + 1}`))));
    await h.setColumn(4, 'outcome', 'denied');
    await h.setColumn(5, 'actor', 'someone-else');
    const v = await h.log.verify();
    assert.ok(!v.ok);
    assert.deepEqual([v.brokenAt, v.entries], [4, 3]);
    assert.match(v.reason, /entry 4 does not match its hash: edited/);
    await h.setColumn(4, 'outcome', 'ok');
    await h.setColumn(5, 'actor', 'token:abcdefghij12');
    assert.deepEqual(await h.log.verify(), { ok: true, entries: 6 }, 'put back as it was, the chain holds again');
  });

  withLog('verify: an entry re-hashed after an edit breaks the link to the next one; a changed time or prev_hash is caught', async (h) => {
    const es = await Promise.all(Array.from({ length: 5 }, (_, i) => h.log.append(input(`job-${i + 1}`))));
    // the intruder recomputes entry 2's hash after editing it: entry 3 no longer links to it
    await h.setColumn(2, 'target', 'job-x');
    const forged = toJson({ ...es[1]!, target: 'job-x' });
    await h.setColumn(2, 'hash', docHash(forged));
    let v = await h.log.verify();
    assert.ok(!v.ok);
    assert.equal(v.brokenAt, 3);
    assert.match(v.reason, /entry 3's prev_hash is not the hash of entry 2/);
    await h.setColumn(2, 'target', 'job-2');
    await h.setColumn(2, 'hash', es[1]!.hash);
    await h.setColumn(4, 'at', es[3]!.at + 1);
    v = await h.log.verify();
    assert.ok(!v.ok && v.brokenAt === 4);
    await h.setColumn(4, 'at', es[3]!.at);
    await h.setColumn(1, 'prev_hash', 'f'.repeat(64));
    v = await h.log.verify();
    assert.ok(!v.ok && v.brokenAt === 1, JSON.stringify(v));
  });

  withLog('verify names a deleted entry (in the middle or the first)', async (h) => {
    await Promise.all(Array.from({ length: 6 }, (_, i) => h.log.append(input(`job-${i + 1}`))));
    await h.deleteRow(3);
    let v = await h.log.verify();
    assert.ok(!v.ok);
    assert.deepEqual([v.brokenAt, v.entries], [3, 2]);
    assert.match(v.reason, /entry 3 is missing .*next stored entry is 4/);
    await h.deleteRow(4);
    await h.deleteRow(1);
    v = await h.log.verify();
    assert.ok(!v.ok);
    assert.deepEqual([v.brokenAt, v.entries], [1, 0]);
  });

  withLog('a failed batch leaves the chain head where it was: every entry of it is refused, the next append continues the chain', async (h) => {
    await h.log.append(input('before-1'));
    const before = await h.log.append(input('before-2'));
    const unblock = await h.blockWrites();
    let outs: PromiseSettledResult<unknown>[];
    try {
      outs = await Promise.allSettled([h.log.append(input('lost-1')), h.log.append(input('lost-2')), h.log.append(input('lost-3'))]);
    } finally {
      await unblock();
    }
    for (const o of outs) assert.ok(o.status === 'rejected' && isStoreUnavailable(o.reason), String((o as PromiseRejectedResult).reason));
    const after = await Promise.all([h.log.append(input('after-1')), h.log.append(input('after-2'))]);
    assert.deepEqual([after[0].seq, after[0].prevHash, after[1].seq], [3, before.hash, 4]);
    assert.deepEqual((await h.log.list()).items.map((e) => e.target), ['after-2', 'after-1', 'before-2', 'before-1']);
    assert.deepEqual(await h.log.verify(), { ok: true, entries: 4 });
    await h.log.close();
    h.log = await h.reopen();
    assert.equal((await h.log.append(input('after-restart'))).prevHash, after[1].hash);
  });

  withLog('a batch that fails after some of its entries were written rolls the chain head back', async (h) => {
    const before = await h.log.append(input('before-1'));
    const restore = await h.failMidBatch();
    let outs: PromiseSettledResult<unknown>[];
    try {
      const big = { blob: 'x'.repeat(2000) };
      outs = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => h.log.append(input(`lost-${i}`, { details: big }))));
    } finally {
      await restore();
    }
    for (const o of outs) assert.ok(o.status === 'rejected' && isStoreUnavailable(o.reason), String((o as PromiseRejectedResult).reason));
    const after = await h.log.append(input('after-1'));
    assert.deepEqual([after.seq, after.prevHash], [2, before.hash]);
    assert.deepEqual(await h.log.verify(), { ok: true, entries: 2 });
  });

  withLog('a malformed input is refused alone and takes no sequence number', async ({ log }) => {
    const outs = await Promise.allSettled([
      log.append(input('ok-1')),
      log.append(input('bad', { outcome: 'maybe' as never })),
      log.append(input('bad', { status: 1.5 })),
      log.append(input('bad', { actor: '' })),
      log.append(input('bad', { details: [] as never })),
      log.append(input('ok-2', { details: { gone: undefined, kept: 1 } })),
    ]);
    assert.deepEqual(outs.map((o) => o.status), ['fulfilled', 'rejected', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    for (const o of outs) if (o.status === 'rejected') assert.ok(isGuestkitError(o.reason, 'VALIDATION_ERROR'));
    const ok2 = (outs[5] as PromiseFulfilledResult<{ seq: number; details?: unknown }>).value;
    assert.deepEqual([ok2.seq, ok2.details], [2, { kept: 1 }]);
    assert.deepEqual(await log.verify(), { ok: true, entries: 2 });
  });
}

// --- SQLite ---

const openLog = (dir: string, clock: FakeClock, cdb = ControlDb.open(dir, { busyTimeoutMs: 20 })) => new SqliteAuditLog(cdb.acquire(), { now: clock.now });

function sqliteHandle(dir: string, clock: FakeClock): AuditLogHandle {
  const file = join(dir, 'control.db');
  let cdb = ControlDb.open(dir, { busyTimeoutMs: 20 });
  const raw = (fn: (db: Database.Database) => void) => {
    const db = new Database(file);
    try {
      fn(db);
    } finally {
      db.close();
    }
  };
  return {
    log: openLog(dir, clock, cdb),
    reopen: async () => openLog(dir, clock, (cdb = ControlDb.open(dir, { busyTimeoutMs: 20 }))),
    setColumn: async (seq, column, value) => raw((db) => db.prepare(`UPDATE audit_log SET ${column} = ? WHERE seq = ?`).run(value, seq)),
    deleteRow: async (seq) => raw((db) => db.prepare('DELETE FROM audit_log WHERE seq = ?').run(seq)),
    blockWrites: async () => {
      const other = new Database(file);
      other.exec('BEGIN IMMEDIATE');
      return async () => {
        other.exec('ROLLBACK');
        other.close();
      };
    },
    failMidBatch: async () => {
      // the file may not grow: the first inserts fill the free space of its last page, then SQLITE_FULL
      const db = cdb.db;
      const before = db.pragma('max_page_count', { simple: true }) as number;
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      return async () => void db.pragma(`max_page_count = ${before}`);
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

auditLogContract({
  name: 'sqlite',
  open: async (clock) => sqliteHandle(mkdtempSync(join(tmpdir(), 'gk-audit-')), clock),
});

const hasSqlite3 = spawnSync('sqlite3', ['-version']).status === 0;

test('sqlite audit: an entry edited with the sqlite3 command-line shell is named by verify', { skip: !hasSqlite3 && 'no sqlite3 shell' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-audit-'));
  const h = sqliteHandle(dir, new FakeClock());
  try {
    await Promise.all(Array.from({ length: 4 }, (_, i) => h.log.append(input(`job-${i + 1}`))));
    const r = spawnSync('sqlite3', [join(dir, 'control.db'), "UPDATE audit_log SET status = 500 WHERE seq = 2;"], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const v = await h.log.verify();
    assert.ok(!v.ok);
    assert.equal(v.brokenAt, 2);
  } finally {
    await h.log.close();
    await h.cleanup?.();
  }
});

test('sqlite audit: another process appending to the same file (the CLI beside a server) keeps one chain', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-audit-'));
  const clock = new FakeClock();
  const server = openLog(dir, clock);
  const cli = openLog(dir, clock);
  try {
    await Promise.all([server.append(input('s-1')), server.append(input('s-2'))]);
    const c = await cli.append(input('c-1', { action: 'token.create' }));
    const s = await server.append(input('s-3'));
    assert.deepEqual([c.seq, s.seq, s.prevHash], [3, 4, c.hash]);
    await Promise.all([cli.append(input('c-2')), server.append(input('s-4'))]);
    assert.deepEqual(await server.verify(), { ok: true, entries: 6 });
  } finally {
    await server.close();
    await cli.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite audit: one insert refused inside a batch (not a storage failure) leaves no gap; the batch commits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-audit-'));
  const log = openLog(dir, new FakeClock());
  try {
    const db = new Database(join(dir, 'control.db'));
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON audit_log WHEN NEW.target = 'refused' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END");
    db.close();
    const outs = await Promise.allSettled(['a', 'refused', 'b', 'refused', 'c'].map((t) => log.append(input(t))));
    assert.deepEqual(outs.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    assert.ok(!isStoreUnavailable((outs[1] as PromiseRejectedResult).reason));
    assert.deepEqual((await log.list()).items.map((e) => [e.seq, e.target]), [[3, 'c'], [2, 'b'], [1, 'a']]);
    assert.deepEqual(await log.verify(), { ok: true, entries: 3 });
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite audit: the newest entries deleted while the log is open leave a gap verify reports (the head is not taken back)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-audit-'));
  const h = sqliteHandle(dir, new FakeClock());
  try {
    await Promise.all(Array.from({ length: 3 }, (_, i) => h.log.append(input(`job-${i + 1}`))));
    await h.deleteRow(3);
    assert.equal((await h.log.append(input('job-4'))).seq, 4);
    const v = await h.log.verify();
    assert.ok(!v.ok && v.brokenAt === 3, JSON.stringify(v));
  } finally {
    await h.log.close();
    await h.cleanup?.();
  }
});

test('sqlite audit: appends of one turn share one commit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-audit-'));
  const cdb = ControlDb.open(dir);
  const log = new SqliteAuditLog(cdb.acquire());
  try {
    let commits = 0;
    const exec = cdb.db.exec.bind(cdb.db);
    cdb.db.exec = ((sql: string) => {
      if (sql === 'COMMIT') commits++;
      return exec(sql);
    }) as typeof cdb.db.exec;
    await Promise.all(Array.from({ length: 200 }, (_, i) => log.append(input(`job-${i}`))));
    assert.equal(commits, 1);
  } finally {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
