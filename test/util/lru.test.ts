import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lru } from '../../src/util/lru.js';

const bytes = { sizeOf: (b: Buffer) => b.byteLength };

test('lru: evicts the least recently used entry past maxEntries; a hit refreshes', () => {
  const c = new Lru<number, string>(3);
  c.set(1, 'a');
  c.set(2, 'b');
  c.set(3, 'c');
  assert.equal(c.get(1), 'a');
  c.set(4, 'd'); // 2 is now the least recently used
  assert.equal(c.size, 3);
  assert.equal(c.has(2), false);
  assert.deepEqual([c.get(1), c.get(3), c.get(4)], ['a', 'c', 'd']);
  c.set(3, 'C'); // replacing refreshes too
  c.set(5, 'e'); // evicts 1 (order now 4, 3, 5 after 1 went)
  assert.equal(c.has(1), false);
  assert.equal(c.get(3), 'C');
  assert.equal(c.get(99), undefined);
});

test('lru: has() does not refresh; delete and clear empty it', () => {
  const c = new Lru<string, number>(2);
  c.set('x', 1);
  c.set('y', 2);
  assert.ok(c.has('x'));
  c.set('z', 3); // x was not refreshed by has(): evicted
  assert.equal(c.has('x'), false);
  assert.equal(c.delete('y'), true);
  assert.equal(c.delete('y'), false);
  assert.equal(c.size, 1);
  c.clear();
  assert.equal(c.size, 0);
  assert.equal(c.get('z'), undefined);
});

test('lru: a bound below one entry still keeps the newest entry', () => {
  const c = new Lru<number, number>(0);
  c.set(1, 1);
  c.set(2, 2);
  assert.equal(c.size, 1);
  assert.equal(c.get(2), 2);
});

test('lru: byte limit evicts oldest until within budget, counts replaced values once, skips oversized values', () => {
  const c = new Lru<number, Buffer>(100, { maxBytes: 100, ...bytes });
  c.set(1, Buffer.alloc(40));
  c.set(2, Buffer.alloc(40));
  assert.equal(c.bytes, 80);
  c.set(1, Buffer.alloc(30)); // replace: 30 + 40
  assert.equal(c.bytes, 70);
  c.set(3, Buffer.alloc(50)); // 120 > 100: evicts 2 (1 was refreshed by set)
  assert.equal(c.has(2), false);
  assert.equal(c.bytes, 80);
  c.set(4, Buffer.alloc(101)); // larger than the whole budget: not cached, nothing evicted
  assert.equal(c.has(4), false);
  assert.equal(c.size, 2);
  assert.equal(c.bytes, 80);
  c.set(3, Buffer.alloc(200)); // an oversized replacement drops the old value too
  assert.equal(c.has(3), false);
  assert.equal(c.bytes, 30);
  c.delete(1);
  assert.equal(c.bytes, 0);
  c.set(5, Buffer.alloc(100));
  c.clear();
  assert.equal(c.bytes, 0);
});

test('lru: matches a reference model over random operations (entries and bytes)', () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const c = new Lru<number, Buffer>(5, { maxBytes: 64, ...bytes });
  // reference: array ordered least → most recently used
  let model: [number, Buffer][] = [];
  const total = () => model.reduce((s, [, b]) => s + b.length, 0);
  for (let i = 0; i < 5000; i++) {
    const k = rnd(12);
    const op = rnd(10);
    if (op === 0) {
      assert.equal(c.delete(k), model.some(([mk]) => mk === k));
      model = model.filter(([mk]) => mk !== k);
    } else if (op < 4) {
      const got = c.get(k);
      const at = model.findIndex(([mk]) => mk === k);
      assert.equal(got, at < 0 ? undefined : model[at]![1]);
      if (at >= 0) model.push(model.splice(at, 1)[0]!);
    } else {
      const v = Buffer.alloc(rnd(80));
      c.set(k, v);
      model = model.filter(([mk]) => mk !== k);
      if (v.length <= 64) {
        model.push([k, v]);
        while (model.length > 5 || total() > 64) model.shift();
      }
    }
    assert.equal(c.size, model.length);
    assert.equal(c.bytes, total());
  }
});

test('lru: getOrCreate shares one promise between callers and drops a rejected one', async () => {
  const c = new Lru<string, Promise<number>>(8);
  let calls = 0;
  const make = () => {
    calls++;
    return new Promise<number>((r) => setTimeout(() => r(7), 5));
  };
  const got = await Promise.all([c.getOrCreate('a', make), c.getOrCreate('a', make)]);
  assert.deepEqual(got, [7, 7]);
  assert.equal(calls, 1);
  const failing = c.getOrCreate('b', () => Promise.reject(new Error('boom')));
  await assert.rejects(failing, /boom/);
  await new Promise((r) => setImmediate(r));
  assert.equal(c.has('b'), false);
  // a plain value is cached as is
  const n = new Lru<string, number>(2);
  assert.equal(n.getOrCreate('x', () => 1), 1);
  assert.equal(n.getOrCreate('x', () => 2), 1);
});

test('lru: a rejected promise replaced meanwhile does not remove its successor', async () => {
  const c = new Lru<string, Promise<number>>(8);
  let reject!: (e: Error) => void;
  const first = c.getOrCreate('k', () => new Promise<number>((_, j) => (reject = j)));
  const second = Promise.resolve(2);
  c.set('k', second);
  reject(new Error('late'));
  await assert.rejects(first, /late/);
  await new Promise((r) => setImmediate(r));
  assert.equal(c.get('k'), second);
});

test('lru: an explicit size overrides sizeOf (promises, costs that are not bytes)', async () => {
  // a directory cache bounded by total entries across directories, values cached as promises
  const c = new Lru<number, Promise<string[]>>(Infinity, { maxBytes: 10 });
  const p1 = c.getOrCreate(1, async () => ['a', 'b', 'c', 'd'], 1);
  assert.equal(c.bytes, 1);
  c.set(1, p1, (await p1).length); // re-costed once known
  assert.equal(c.bytes, 4);
  c.set(2, Promise.resolve(['x', 'y', 'z', 'w', 'v']), 5);
  c.set(3, Promise.resolve(['q', 'r']), 2); // 11 > 10: evicts 1
  assert.equal(c.has(1), false);
  assert.equal(c.bytes, 7);
  assert.equal(c.size, 2);
  c.set(4, Promise.resolve([]), 11); // more than the budget: not cached
  assert.equal(c.has(4), false);
  assert.equal(c.bytes, 7);
});

test('lru: sizes are ignored without a byte limit', () => {
  const c = new Lru<number, Buffer>(2);
  c.set(1, Buffer.alloc(1 << 20), 1 << 20);
  assert.equal(c.bytes, 0);
  assert.equal(c.size, 1);
});

test('lru: keepOversized caches a value larger than the budget alone, and the next value evicts it', () => {
  const c = new Lru<number, Buffer>(Infinity, { maxBytes: 100, ...bytes, keepOversized: true });
  c.set(1, Buffer.alloc(40));
  c.set(2, Buffer.alloc(40));
  c.set(3, Buffer.alloc(150)); // oversized: kept, everything older evicted
  assert.deepEqual([c.has(1), c.has(2), c.get(3)?.length], [false, false, 150]);
  assert.equal(c.bytes, 150);
  c.set(4, Buffer.alloc(10)); // 160 > 100: the oversized value goes, the new one stays
  assert.equal(c.has(3), false);
  assert.equal(c.size, 1);
  assert.equal(c.bytes, 10);
  c.set(4, Buffer.alloc(101)); // an oversized replacement stays too
  assert.equal(c.get(4)?.length, 101);
  assert.equal(c.bytes, 101);
});
