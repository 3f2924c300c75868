import { Lru } from '../util/lru.js';

/**
 * A small LRU cache for metadata blocks (qcow2 L2 tables, decompressed
 * clusters, …), bounded both by entry count and by total bytes so a hostile
 * image cannot make it grow without limit. Concurrent loads of one key share
 * one read.
 */
export interface BlockCacheOptions {
  /** Maximum number of entries (default 256). */
  maxEntries?: number;
  /** Maximum total bytes of cached values (default 16 MiB). */
  maxBytes?: number;
}

export class BlockCache<K, V extends { byteLength: number } = Buffer> {
  private readonly lru: Lru<K, V>;
  private readonly pending = new Map<K, Promise<V>>();
  hits = 0;
  misses = 0;

  constructor(opts: BlockCacheOptions = {}) {
    this.lru = new Lru(opts.maxEntries ?? 256, { maxBytes: opts.maxBytes ?? 16 * 1024 * 1024, sizeOf: (v) => v.byteLength });
  }

  get maxEntries(): number {
    return this.lru.maxEntries;
  }

  get maxBytes(): number {
    return this.lru.maxBytes;
  }

  get size(): number {
    return this.lru.size;
  }

  get totalBytes(): number {
    return this.lru.bytes;
  }

  get(key: K): V | undefined {
    return this.lru.get(key);
  }

  /** Caches `value` (a value larger than the whole byte budget is not cached at all). */
  set(key: K, value: V): void {
    this.lru.set(key, value);
  }

  /** Cached value, or `load()` once for all concurrent callers, then cached. */
  async getOrLoad(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.lru.get(key);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    this.misses++;
    // resolved values are cached, not the promise: their byte size is known only then
    const p = load().then(
      (v) => {
        this.pending.delete(key);
        this.lru.set(key, v);
        return v;
      },
      (err: unknown) => {
        this.pending.delete(key);
        throw err;
      },
    );
    this.pending.set(key, p);
    return p;
  }

  clear(): void {
    this.lru.clear();
  }
}
