interface Slot<V> {
  v: V;
  cost: number;
  /** Used since the clock hand last passed (second chance). */
  ref: boolean;
}

/**
 * A small cache with a cost bound (entries or bytes) and CLOCK eviction:
 * a hit only sets a flag (no map reordering, which is slow on large V8 maps),
 * and one persistent iterator acts as the clock hand. Values are usually
 * promises so concurrent readers of one block share a single device read.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, Slot<V>>();
  private used = 0;
  private hand: Iterator<[K, Slot<V>]> | undefined;

  constructor(
    private readonly capacity: number,
    private readonly costOf: (v: V) => number = () => 1,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(k: K): V | undefined {
    const e = this.map.get(k);
    if (!e) return undefined;
    e.ref = true;
    return e.v;
  }

  set(k: K, v: V, cost = this.costOf(v)): void {
    const old = this.map.get(k);
    if (old) {
      this.used += cost - old.cost;
      old.v = v;
      old.cost = cost;
      old.ref = true;
    } else {
      this.map.set(k, { v, cost, ref: false });
      this.used += cost;
    }
    this.evict(k);
  }

  private evict(keep: K): void {
    // Every slot is passed at most twice (once to clear its flag), so this ends.
    let budget = this.map.size * 2 + 2;
    while (this.used > this.capacity && this.map.size > 1 && budget-- > 0) {
      let r = this.hand?.next();
      if (!r || r.done) {
        this.hand = this.map.entries();
        r = this.hand.next();
        if (r.done) return;
      }
      const [k, e] = r.value;
      if (k === keep) continue;
      if (e.ref) {
        e.ref = false;
        continue;
      }
      this.map.delete(k);
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
    this.hand = undefined;
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
