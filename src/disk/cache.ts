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
  private readonly map = new Map<K, V>();
  private readonly pending = new Map<K, Promise<V>>();
  private bytes = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;
  hits = 0;
  misses = 0;

  constructor(opts: BlockCacheOptions = {}) {
    this.maxEntries = Math.max(1, opts.maxEntries ?? 256);
    this.maxBytes = Math.max(1, opts.maxBytes ?? 16 * 1024 * 1024);
  }

  get size(): number {
    return this.map.size;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      // Re-insert: Map iteration order is insertion order, so the first key is the least recently used.
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.bytes -= old.byteLength;
      this.map.delete(key);
    }
    // A value larger than the whole budget is not cached at all.
    if (value.byteLength > this.maxBytes) return;
    this.map.set(key, value);
    this.bytes += value.byteLength;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const first = this.map.keys().next();
      if (first.done) break;
      this.bytes -= this.map.get(first.value)!.byteLength;
      this.map.delete(first.value);
    }
  }

  /** Cached value, or `load()` once for all concurrent callers, then cached. */
  async getOrLoad(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    this.misses++;
    const p = load().then(
      (v) => {
        this.pending.delete(key);
        this.set(key, v);
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
    this.map.clear();
    this.bytes = 0;
  }
}
