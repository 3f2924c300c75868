import { z } from 'zod';
import { GuestkitError } from '../protocol/errors.js';

/** A namespace's limits; null is unlimited. */
export interface Limits {
  maxQueued: number | null;
  maxRunning: number | null;
  perHour: number | null;
}

export interface QuotaConfig {
  default: Limits;
  /** Per-namespace overrides of the default; a key left out keeps the default's value. */
  namespaces: Record<string, Partial<Limits>>;
}

/** What a namespace holds now, as the store counts it. */
export interface QuotaLoad {
  queued: number;
  running: number;
  submittedLastHour: number;
}

export const UNLIMITED: Limits = { maxQueued: null, maxRunning: null, perHour: null };

const limit = z.int().min(0).nullable();
const LimitsYaml = z.strictObject({ max_queued: limit.optional(), max_running: limit.optional(), jobs_per_hour: limit.optional() });

function fromYaml(y: z.output<typeof LimitsYaml>): Partial<Limits> {
  const out: Partial<Limits> = {};
  if (y.max_queued !== undefined) out.maxQueued = y.max_queued;
  if (y.max_running !== undefined) out.maxRunning = y.max_running;
  if (y.jobs_per_hour !== undefined) out.perHour = y.jobs_per_hour;
  return out;
}

/**
 * The `quotas:` block of the configuration: `{default: {max_queued, max_running,
 * jobs_per_hour}, namespaces: {team-a: {...}}}`. Whole numbers ≥ 0; null or a key left
 * out of `default` is unlimited. Unknown keys are refused (a misspelt limit must not
 * silently be no limit).
 */
export const QuotaConfigSchema = z
  .strictObject({
    default: LimitsYaml.optional(),
    namespaces: z.record(z.string().min(1), LimitsYaml).optional(),
  })
  .transform(
    (y): QuotaConfig => ({
      default: { ...UNLIMITED, ...fromYaml(y.default ?? {}) },
      namespaces: Object.fromEntries(Object.entries(y.namespaces ?? {}).map(([ns, l]) => [ns, fromYaml(l)])),
    }),
  );

export interface QuotaGateOptions {
  /** How long a namespace's load from the store is reused (ms). */
  ttlMs?: number;
  /**
   * Admissions this recent when a fresh load is read may not be in it yet (their submit is
   * still being committed): they are counted on top, erring towards refusing, never overshooting.
   */
  settleMs?: number;
  now?: () => number;
}

interface Snapshot {
  at: number;
  load: QuotaLoad;
  /** This process's admissions: when, how many (oldest first). */
  admitted: { at: number; n: number }[];
  /** Sum of admitted[].n. */
  extra: number;
  fetching?: Promise<void>;
}

/**
 * Namespace quotas at submit: queued jobs and jobs per hour. The store's counts are read
 * at most once per ttl per namespace (thousands of submits a second must not each
 * query it); what this process admitted since is counted on top, so a burst cannot
 * slip past a limit between two reads. max_running is enforced at dispatch
 * (runningCap, given to the queue), not here.
 */
export class QuotaGate {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly ttlMs: number;
  private readonly settleMs: number;
  private readonly now: () => number;

  constructor(
    private readonly cfg: QuotaConfig,
    private readonly load: (namespace: string) => Promise<QuotaLoad>,
    opts: QuotaGateOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 250;
    this.settleMs = opts.settleMs ?? 100;
    this.now = opts.now ?? Date.now;
  }

  limits(namespace: string): Limits {
    return { ...this.cfg.default, ...this.cfg.namespaces[namespace] };
  }

  /** The most jobs of a namespace that may run at once (null: no cap). */
  runningCap(namespace: string): number | null {
    return this.limits(namespace).maxRunning;
  }

  /** Admits `n` more jobs of the namespace, or throws QUOTA_EXCEEDED naming the quota hit. */
  async check(namespace: string, n: number): Promise<void> {
    const l = this.limits(namespace);
    if (n <= 0 || (l.maxQueued === null && l.perHour === null)) return;
    const s = await this.snapshot(namespace);
    // from here on synchronous: concurrent checks see each other's admissions
    if (l.maxQueued !== null && s.load.queued + s.extra + n > l.maxQueued) {
      // jobs leave the queue as workers take them: no estimate of when, a short wait
      this.refuse(namespace, 'max_queued', l.maxQueued, s.load.queued + s.extra, n, 5, 'jobs waiting');
    }
    if (l.perHour !== null && s.load.submittedLastHour + s.extra + n > l.perHour) {
      // on average one submission leaves the hour's window every 3600/limit seconds
      const wait = l.perHour === 0 ? 3600 : Math.min(3600, Math.ceil((3600 * n) / l.perHour));
      this.refuse(namespace, 'jobs_per_hour', l.perHour, s.load.submittedLastHour + s.extra, n, wait, 'jobs submitted in the last hour');
    }
    s.admitted.push({ at: this.now(), n });
    s.extra += n;
  }

  private refuse(namespace: string, quota: string, limit: number, current: number, n: number, retryAfter: number, what: string): never {
    const adds = n === 1 ? 'this job' : `these ${n} jobs`;
    throw new GuestkitError('QUOTA_EXCEEDED', `namespace "${namespace}" is at its ${quota} quota: limit ${limit}, ${current} ${what}; ${adds} would exceed it`, {
      phase: 'validation',
      recoverable: true,
      retryRecommended: true,
      details: { quota, limit, current, requested: n, namespace, retry_after_seconds: retryAfter },
    });
  }

  /** The namespace's load, read again once older than the ttl (one read shared by all waiting checks). */
  private async snapshot(namespace: string): Promise<Snapshot> {
    let s = this.snapshots.get(namespace);
    if (!s) {
      this.sweep();
      s = { at: -Infinity, load: { queued: 0, running: 0, submittedLastHour: 0 }, admitted: [], extra: 0 };
      this.snapshots.set(namespace, s);
    }
    if (this.now() - s.at >= this.ttlMs) {
      const entry = s;
      entry.fetching ??= this.fetch(namespace, entry).finally(() => (entry.fetching = undefined));
      await entry.fetching;
    }
    return s;
  }

  private async fetch(namespace: string, s: Snapshot): Promise<void> {
    const started = this.now();
    const load = await this.load(namespace);
    // admissions from well before the read are in it; later ones are kept on top
    const keepFrom = started - this.settleMs;
    let drop = 0;
    while (drop < s.admitted.length && s.admitted[drop]!.at < keepFrom) s.extra -= s.admitted[drop++]!.n;
    s.admitted.splice(0, drop);
    s.load = load;
    s.at = this.now();
  }

  /** Forgets namespaces not asked about for a while (their entries only grow the map). */
  private sweep(): void {
    if (this.snapshots.size < 1024) return;
    const old = this.now() - Math.max(60_000, this.ttlMs * 10);
    for (const [ns, s] of this.snapshots) if (s.at < old && !s.fetching) this.snapshots.delete(ns);
  }
}
