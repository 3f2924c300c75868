/**
 * The shared metadata cache (src/util/lru.ts) under a hit-heavy mix, next to the
 * Map-reinsertion LRU it replaced (a hit deletes and re-sets the key), at a small
 * and at an inode/dirent-cache size. Prints the median of BENCH_RUNS runs.
 */
import { Lru } from '../src/util/lru.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const OPS = 2_000_000;

/** The per-folder LRU every driver used to carry. */
class MapReinsertLru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

for (const n of [4096, 200_000]) {
  // keys over 1.2× the capacity: ~80% hits
  let x = 12345;
  const keys = Int32Array.from({ length: OPS }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 4) % Math.floor(n * 1.2);
  });
  for (const [name, make] of [
    ['util/lru', () => new Lru<number, number>(n)],
    ['map-reinsert', () => new MapReinsertLru<number, number>(n)],
  ] as const) {
    const times: number[] = [];
    let hits = 0;
    for (let r = 0; r < RUNS; r++) {
      const c = make();
      hits = 0;
      const t = performance.now();
      for (const k of keys) {
        if (c.get(k) !== undefined) hits++;
        else c.set(k, k);
      }
      times.push(performance.now() - t);
    }
    const ms = median(times);
    console.log(`lru ${name} capacity ${n}: ${ms.toFixed(0)} ms for ${OPS / 1e6}M ops (${((ms * 1e6) / OPS).toFixed(0)} ns/op), hit rate ${(hits / OPS).toFixed(2)}`);
  }
}
