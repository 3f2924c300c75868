/** Byte budget of an Lru: values cost `sizeOf(v)` bytes (which must not change while cached). */
export interface LruByteLimit<V> {
  maxBytes: number;
  sizeOf: (v: V) => number;
}

/**
 * A bounded least-recently-used map for metadata (tables, blocks, parsed inodes):
 * at most `maxEntries` entries and, when given, at most `maxBytes` of values, so a
 * hostile image cannot make a cache grow without limit. Map iteration order is
 * insertion order: a hit re-inserts its key, so the first key is the least recently used.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  private used = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;
  private readonly sizeOf: ((v: V) => number) | undefined;

  constructor(maxEntries: number, bytes?: LruByteLimit<V>) {
    this.maxEntries = Math.max(1, Math.floor(maxEntries));
    this.maxBytes = bytes ? Math.max(1, bytes.maxBytes) : Infinity;
    this.sizeOf = bytes?.sizeOf;
  }

  get size(): number {
    return this.map.size;
  }

  /** Bytes of the cached values (0 without a byte limit). */
  get bytes(): number {
    return this.used;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  set(key: K, value: V): void {
    this.delete(key);
    const cost = this.sizeOf ? this.sizeOf(value) : 0;
    // a value larger than the whole budget is not cached at all
    if (cost > this.maxBytes) return;
    this.map.set(key, value);
    this.used += cost;
    while (this.map.size > this.maxEntries || this.used > this.maxBytes) {
      const first = this.map.keys().next();
      if (first.done) break;
      this.delete(first.value);
    }
  }

  delete(key: K): boolean {
    if (!this.sizeOf) return this.map.delete(key);
    const old = this.map.get(key);
    if (old === undefined) return false;
    this.used -= this.sizeOf(old);
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }

  /**
   * The cached value, or the one `make()` returns, cached. Caching a promise lets
   * concurrent readers share one load; a promise that rejects is dropped so the
   * next caller tries again.
   */
  getOrCreate(key: K, make: () => V): V {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const v = make();
    this.set(key, v);
    if (v instanceof Promise) {
      v.catch(() => {
        if (this.map.get(key) === v) this.delete(key);
      });
    }
    return v;
  }
}
