/** Byte budget of an Lru. Sizes come from `sizeOf(v)` or from the `size` given to set (any additive cost works). */
export interface LruByteLimit<V> {
  maxBytes: number;
  sizeOf?: (v: V) => number;
  /**
   * Cache a value larger than the whole budget anyway, alone (every other entry is evicted),
   * instead of not caching it: for values that are expensive to rebuild and read again right
   * away, such as a huge directory being walked entry by entry.
   */
  keepOversized?: boolean;
}

class Entry<K, V> {
  prev: Entry<K, V> | null = null;
  next: Entry<K, V> | null = null;
  constructor(
    readonly key: K,
    public value: V,
    public size: number,
  ) {}
}

/**
 * A bounded least-recently-used map for metadata (tables, blocks, parsed inodes):
 * at most `maxEntries` entries and, when given, at most `maxBytes` of values, so a
 * hostile image cannot make a cache grow without limit. Recency is a linked list
 * beside the Map: re-inserting Map keys on every hit is very slow on large V8 maps.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, Entry<K, V>>();
  /** Least recently used end of the list (evicted first). */
  private oldest: Entry<K, V> | null = null;
  private newest: Entry<K, V> | null = null;
  private used = 0;
  readonly maxEntries: number;
  readonly maxBytes: number;
  private readonly sizeOf: ((v: V) => number) | undefined;
  private readonly keepOversized: boolean;

  constructor(maxEntries: number, bytes?: LruByteLimit<V>) {
    this.maxEntries = Math.max(1, Math.floor(maxEntries));
    this.maxBytes = bytes ? Math.max(1, bytes.maxBytes) : Infinity;
    this.sizeOf = bytes?.sizeOf;
    this.keepOversized = bytes?.keepOversized ?? false;
  }

  get size(): number {
    return this.map.size;
  }

  /** Total size of the cached values (0 without a byte limit). */
  get bytes(): number {
    return this.used;
  }

  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e !== this.newest) {
      this.unlink(e);
      this.append(e);
    }
    return e.value;
  }

  /** Whether `key` is cached, without making it recently used. */
  has(key: K): boolean {
    return this.map.has(key);
  }

  /**
   * Caches `value` as the most recently used; a value larger than the whole byte budget is not
   * cached at all (or, with `keepOversized`, cached alone).
   */
  set(key: K, value: V, size?: number): void {
    const cost = this.maxBytes === Infinity ? 0 : (size ?? this.sizeOf?.(value) ?? 0);
    const old = this.map.get(key);
    if (cost > this.maxBytes && !this.keepOversized) {
      if (old) this.remove(old);
      return;
    }
    if (old) {
      this.used += cost - old.size;
      old.value = value;
      old.size = cost;
      if (old !== this.newest) {
        this.unlink(old);
        this.append(old);
      }
    } else {
      const e = new Entry(key, value, cost);
      this.map.set(key, e);
      this.append(e);
      this.used += cost;
    }
    // the newest entry always stays (it fits on its own, or is kept oversized)
    while ((this.map.size > this.maxEntries || this.used > this.maxBytes) && this.oldest !== this.newest) this.remove(this.oldest!);
  }

  delete(key: K): boolean {
    const e = this.map.get(key);
    if (!e) return false;
    this.remove(e);
    return true;
  }

  clear(): void {
    this.map.clear();
    this.oldest = this.newest = null;
    this.used = 0;
  }

  /**
   * The cached value, or the one `make()` returns, cached. Caching a promise lets
   * concurrent readers share one load; a promise that rejects is dropped so the
   * next caller tries again.
   */
  getOrCreate(key: K, make: () => V, size?: number): V {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const v = make();
    this.set(key, v, size);
    if (v instanceof Promise) {
      v.catch(() => {
        if (this.map.get(key)?.value === v) this.delete(key);
      });
    }
    return v;
  }

  private remove(e: Entry<K, V>): void {
    this.unlink(e);
    this.map.delete(e.key);
    this.used -= e.size;
  }

  private unlink(e: Entry<K, V>): void {
    if (e.prev) e.prev.next = e.next;
    else this.oldest = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.newest = e.prev;
    e.prev = e.next = null;
  }

  private append(e: Entry<K, V>): void {
    e.prev = this.newest;
    if (this.newest) this.newest.next = e;
    else this.oldest = e;
    this.newest = e;
  }
}
