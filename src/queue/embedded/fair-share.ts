import { Heap, IndexedHeap, type Indexed } from './heap.js';

/** A waiting job as the queue keeps it. */
export interface Slot {
  jobId: string;
  namespace: string;
  priority: number;
  seq: number;
  /** Taken out (removed or handed out) while still in a heap. */
  dead: boolean;
}

/** Caps a namespace's jobs in flight (null: no cap); read each time the namespace is reconsidered. */
export type RunningCap = (namespace: string) => number | null;

/** One namespace: its waiting jobs (best first) and how many of its jobs are out. */
class Tenant implements Indexed {
  readonly waiting = new Heap<Slot>(slotBefore);
  inFlight = 0;
  heapIndex = -1;
  blocked = false;
  constructor(readonly name: string) {}
}

function slotBefore(a: Slot, b: Slot): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}

// fewest in flight first; between equals, the better head job
function tenantBefore(a: Tenant, b: Tenant): boolean {
  return a.inFlight < b.inFlight || (a.inFlight === b.inFlight && slotBefore(a.waiting.peek()!, b.waiting.peek()!));
}

/**
 * Fair share among namespaces: the next job comes from the namespace with the fewest jobs
 * in flight (reserved, not yet acked), ties going to the better head (priority, then
 * arrival); inside a namespace, priority then arrival. Namespaces sit in a heap keyed on
 * that, so a choice costs O(log namespaces + log jobs). A namespace at its running cap
 * waits outside the heap until one of its jobs ends (or capsChanged()).
 *
 * Invariant: a namespace in `ready` has a live head and was under its cap when last looked at.
 */
export class FairShare {
  private readonly tenants = new Map<string, Tenant>();
  private readonly ready = new IndexedHeap<Tenant>(tenantBefore);
  private readonly blocked = new Set<Tenant>();
  /** Jobs handed out and not yet settled, by id (a count: a job id may be out twice). */
  private readonly out = new Map<string, { t: Tenant; n: number }>();

  constructor(private readonly cap?: RunningCap) {}

  push(s: Slot): void {
    const t = this.tenant(s.namespace);
    t.waiting.push(s);
    this.refresh(t);
  }

  /** The next job by fair share, counted in flight; undefined when none may start now. */
  take(): Slot | undefined {
    const t = this.ready.peek();
    if (!t) return undefined;
    const s = t.waiting.pop()!;
    s.dead = true;
    t.inFlight++;
    const o = this.out.get(s.jobId);
    if (o) o.n++;
    else this.out.set(s.jobId, { t, n: 1 });
    this.refresh(t);
    return s;
  }

  /** A waiting slot was marked dead: if it was its namespace's head, the head moves on. */
  dropped(s: Slot): void {
    const t = this.tenants.get(s.namespace);
    if (t && t.waiting.peek() === s) this.refresh(t);
  }

  /** A handed-out job ended or came back (ack, retry, release). False when it was not out. */
  settle(jobId: string): boolean {
    const o = this.out.get(jobId);
    if (!o) return false;
    if (--o.n === 0) this.out.delete(jobId);
    o.t.inFlight--;
    this.refresh(o.t);
    return true;
  }

  inFlight(namespace: string): number {
    return this.tenants.get(namespace)?.inFlight ?? 0;
  }

  /** Looks at capped namespaces again (the caps changed). True when one may run now. */
  recheck(): boolean {
    let freed = false;
    for (const t of [...this.blocked]) {
      this.refresh(t);
      freed ||= !t.blocked;
    }
    return freed;
  }

  clear(): void {
    this.tenants.clear();
    this.blocked.clear();
    this.out.clear();
    while (this.ready.pop());
  }

  private tenant(name: string): Tenant {
    let t = this.tenants.get(name);
    if (!t) this.tenants.set(name, (t = new Tenant(name)));
    return t;
  }

  /** Puts a namespace where it belongs after its head, in-flight count or cap changed. */
  private refresh(t: Tenant): void {
    while (t.waiting.peek()?.dead) t.waiting.pop();
    const c = t.waiting.size > 0 ? this.cap?.(t.name) : undefined;
    const atCap = c !== undefined && c !== null && t.inFlight >= c;
    if (t.waiting.size === 0 || atCap) {
      this.ready.delete(t);
      if (t.waiting.size > 0) this.blocked.add(t);
      else this.blocked.delete(t);
      t.blocked = atCap;
      if (t.waiting.size === 0 && t.inFlight === 0) this.tenants.delete(t.name);
      return;
    }
    this.blocked.delete(t);
    t.blocked = false;
    if (this.ready.has(t)) this.ready.update(t);
    else this.ready.push(t);
  }
}
