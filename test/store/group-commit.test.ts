import assert from 'node:assert/strict';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { GroupCommit } from '../../src/store/sqlite/group-commit.js';

function setup() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  const failures: unknown[] = [];
  const gc = new GroupCommit(db, 1000, { failed: (e) => failures.push(e), committed: () => undefined });
  const insert = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  const keys = () => (db.prepare('SELECT k FROM t ORDER BY k').all() as { k: string }[]).map((r) => r.k);
  return { db, gc, insert, keys, failures };
}

test('group commit: a bare write refused midway is undone; the writes refused before it are never run again', async () => {
  const { db, gc, insert, keys, failures } = setup();
  let flaky = 0;
  let bareRuns = 0;
  const out = await Promise.allSettled([
    gc.runBare('ok-1', () => insert.run('a1', 1)),
    // a savepointed write refused on its first run (it would pass on a second: it must not get one)
    gc.run('refused', () =>
      db.transaction(() => {
        insert.run('r1', 1);
        if (flaky++ === 0) throw new Error('refused once');
      })(),
    ),
    gc.runBare('bare-bad', () => {
      bareRuns++;
      insert.run('b1', 1);
      insert.run('b1', 2); // the same key: refused after its first row was written
    }),
    gc.runBare('ok-2', () => insert.run('a2', 1)),
  ]);
  assert.deepEqual(out.map((o) => o.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  assert.equal(flaky, 1, 'the refused write ran once');
  assert.equal(bareRuns, 2, 'the bare write ran bare, then again in a savepoint');
  assert.match(String((out[2] as PromiseRejectedResult).reason), /UNIQUE|constraint/i);
  assert.deepEqual(keys(), ['a1', 'a2']);
  assert.equal(failures.length, 0, 'refused writes are not storage failures');
  assert.equal(db.inTransaction, false);
  // the next batch runs bare again and commits
  await Promise.all([gc.runBare('ok-3', () => insert.run('a3', 1))]);
  assert.deepEqual(keys(), ['a1', 'a2', 'a3']);
  db.close();
});

test('group commit: bare writes that all succeed share one commit with no savepoint', async () => {
  const { db, gc, insert, keys } = setup();
  const seen: string[] = [];
  const exec = db.exec.bind(db);
  db.exec = ((sql: string) => {
    seen.push(sql);
    return exec(sql);
  }) as typeof db.exec;
  await Promise.all(Array.from({ length: 20 }, (_, i) => gc.runBare(`w${i}`, () => insert.run(`k${String(i).padStart(2, '0')}`, i))));
  assert.deepEqual(seen, ['BEGIN IMMEDIATE', 'COMMIT']);
  assert.equal(keys().length, 20);
  db.close();
});
