/**
 * A small LRU map with a cost bound (entries or bytes). Values are usually
 * promises so concurrent readers of one block share a single device read.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, { v: V; cost: number }>();
  private used = 0;

  constructor(
    private readonly capacity: number,
    private readonly costOf: (v: V) => number = () => 1,
  ) {}

  get(k: K): V | undefined {
    const e = this.map.get(k);
    if (!e) return undefined;
    this.map.delete(k);
    this.map.set(k, e);
    return e.v;
  }

  set(k: K, v: V, cost = this.costOf(v)): void {
    const old = this.map.get(k);
    if (old) {
      this.used -= old.cost;
      this.map.delete(k);
    }
    this.map.set(k, { v, cost });
    this.used += cost;
    while (this.used > this.capacity && this.map.size > 1) {
      const [oldest, e] = this.map.entries().next().value as [K, { v: V; cost: number }];
      this.map.delete(oldest);
      this.used -= e.cost;
    }
  }

  delete(k: K): void {
    const e = this.map.get(k);
    if (e) {
      this.used -= e.cost;
      this.map.delete(k);
    }
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }

  /** Cached value, or the one `make` produces (a rejected promise is not kept). */
  getOrCreate(k: K, make: () => V, cost?: number): V {
    const hit = this.get(k);
    if (hit !== undefined) return hit;
    const v = make();
    this.set(k, v, cost);
    if (v instanceof Promise) v.catch(() => this.delete(k));
    return v;
  }
}
