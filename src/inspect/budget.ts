import type { ReadStats } from '../disk/types.js';
import { GuestkitError } from '../protocol/errors.js';
import {
  BUDGET_NAMES,
  INSPECT_BUDGET_DEFAULTS,
  type BudgetName,
  type BudgetOnExceeded,
  type InspectBudgetOptions,
} from '../protocol/payloads/inspect-budget.js';

export { BUDGET_NAMES, INSPECT_BUDGET_DEFAULTS, type BudgetName, type BudgetOnExceeded, type InspectBudgetOptions } from '../protocol/payloads/inspect-budget.js';

export type BudgetLimits = Record<BudgetName, number>;

/** One budget that was exceeded, as the result reports it. */
export interface BudgetTrip {
  budget: BudgetName;
  limit: number;
  /** What had been used when it tripped (for max_file_bytes: the file's size). */
  used: number;
  /** The guest path or stage where it tripped, when known. */
  where?: string;
}

/** What one inspection used of its budgets. */
export interface BudgetUsage {
  image_bytes: number;
  image_reads: number;
  dir_entries: number;
  files_opened: number;
  collected_bytes: number;
}

/** A budget ran out. A GuestkitError (BUDGET_EXCEEDED) that collectors must never turn into a warning. */
export class BudgetExceededError extends GuestkitError {
  constructor(readonly trip: BudgetTrip) {
    super(
      'BUDGET_EXCEEDED',
      `inspection budget ${trip.budget} exceeded: ${trip.used} > ${trip.limit}${trip.where ? ` (at ${trip.where})` : ''}; raise it (options.budget.${trip.budget}, or ${BUDGET_ENV[trip.budget]} for the CLI and workers) to read further`,
      { details: { ...trip }, recoverable: false, retryRecommended: false },
    );
  }
}

export function isBudgetError(err: unknown): err is BudgetExceededError {
  return err instanceof BudgetExceededError;
}

/** The worker-wide ceilings from the environment: GUESTKIT_INSPECT_MAX_IMAGE_BYTES … (unset: the defaults). */
export const BUDGET_ENV: Record<BudgetName, string> = Object.fromEntries(BUDGET_NAMES.map((n) => [n, `GUESTKIT_INSPECT_${n.toUpperCase()}`])) as Record<BudgetName, string>;

/** Budget options from GUESTKIT_INSPECT_* variables; a value that is not a positive number is a usage error. */
export function budgetFromEnv(env: NodeJS.ProcessEnv = process.env): InspectBudgetOptions {
  const out: InspectBudgetOptions = {};
  for (const n of BUDGET_NAMES) {
    const v = env[BUDGET_ENV[n]];
    if (v === undefined || v.trim() === '') continue;
    const num = Number(v);
    if (!Number.isFinite(num) || num <= 0) throw new GuestkitError('USAGE_ERROR', `${BUDGET_ENV[n]} must be a positive number, got ${JSON.stringify(v)}`);
    out[n] = num;
  }
  const mode = env.GUESTKIT_INSPECT_ON_BUDGET_EXCEEDED;
  if (mode !== undefined && mode !== '') {
    if (mode !== 'partial' && mode !== 'fail') throw new GuestkitError('USAGE_ERROR', `GUESTKIT_INSPECT_ON_BUDGET_EXCEEDED must be partial or fail, got ${JSON.stringify(mode)}`);
    out.on_exceeded = mode;
  }
  return out;
}

/**
 * A job's budget under the worker's ceilings: a job may ask for less than the worker allows,
 * never more (a submitter must not lift the operator's bounds on hostile images).
 */
export function capBudget(requested: InspectBudgetOptions | undefined, ceiling: InspectBudgetOptions): InspectBudgetOptions {
  const out: InspectBudgetOptions = { ...ceiling };
  for (const n of BUDGET_NAMES) {
    const r = requested?.[n];
    if (r === undefined) continue;
    const c = ceiling[n] ?? INSPECT_BUDGET_DEFAULTS[n];
    out[n] = Math.min(r, c);
  }
  const mode = requested?.on_exceeded ?? ceiling.on_exceeded;
  if (mode) out.on_exceeded = mode;
  return out;
}

export interface BudgetClock {
  /** Milliseconds, monotonic (performance.now() unless a test injects its own). */
  now(): number;
}

/**
 * The resources one inspection may use, counted where they are spent: image reads (through
 * the ReadStats the image reader updates), and the collectors' directory listings, file opens
 * and bytes read into memory (GuestView). A total budget that runs out stays run out: every
 * later read or listing throws the same BudgetExceededError, so no loop can go on past it, even
 * one that swallowed the first throw.
 */
export class InspectionBudget {
  readonly limits: BudgetLimits;
  readonly onExceeded: BudgetOnExceeded;
  readonly used: BudgetUsage = { image_bytes: 0, image_reads: 0, dir_entries: 0, files_opened: 0, collected_bytes: 0 };
  /** Every budget exceeded, in order (the first total one stops the inspection; a file over max_file_bytes is skipped). */
  readonly trips: BudgetTrip[] = [];
  /** The total budget that ran out, once one did. */
  exhausted?: BudgetExceededError;
  private readonly clock: BudgetClock;
  private readonly t0: number;
  /** The image reader's counters: plain fields to it, budget checks here. */
  readonly readStats: ReadStats;

  constructor(opts: InspectBudgetOptions = {}, clock: BudgetClock = performance) {
    const limits = { ...INSPECT_BUDGET_DEFAULTS } as BudgetLimits;
    for (const n of BUDGET_NAMES) {
      const v = opts[n];
      if (v === undefined) continue;
      if (!(typeof v === 'number' && v > 0)) throw new GuestkitError('VALIDATION_ERROR', `budget ${n} must be a positive number, got ${String(v)}`);
      limits[n] = v;
    }
    this.limits = limits;
    this.onExceeded = opts.on_exceeded ?? 'partial';
    this.clock = clock;
    this.t0 = clock.now();
    const used = this.used;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const budget = this;
    // The image reader (src/disk) only adds to these fields; the setters are where its bytes are budgeted.
    this.readStats = {
      get bytesRead() {
        return used.image_bytes;
      },
      set bytesRead(v: number) {
        used.image_bytes = v;
        budget.check('image read');
        if (v > budget.limits.max_image_bytes) budget.exhaust({ budget: 'max_image_bytes', limit: budget.limits.max_image_bytes, used: v });
      },
      get reads() {
        return used.image_reads;
      },
      set reads(v: number) {
        used.image_reads = v;
      },
    };
  }

  /** No limits: for sessions and views used outside inspect() (ls, cat, profile), which keep their own bounds. */
  static unlimited(): InspectionBudget {
    return new InspectionBudget(Object.fromEntries(BUDGET_NAMES.map((n) => [n, Infinity])));
  }

  get failFast(): boolean {
    return this.onExceeded === 'fail';
  }

  /** Throws when a total budget has run out or the wall time is over. Cheap: call it often. */
  check(where?: string): void {
    if (this.exhausted) throw this.exhausted;
    const ms = this.clock.now() - this.t0;
    if (ms > this.limits.max_wall_seconds * 1000) {
      this.exhaust({ budget: 'max_wall_seconds', limit: this.limits.max_wall_seconds, used: Math.round(ms / 10) / 100, ...(where ? { where } : {}) });
    }
  }

  /** A directory listing of `n` entries. */
  chargeEntries(n: number, where: string): void {
    this.check(where);
    this.used.dir_entries += n;
    if (this.used.dir_entries > this.limits.max_dir_entries) this.exhaust({ budget: 'max_dir_entries', limit: this.limits.max_dir_entries, used: this.used.dir_entries, where });
  }

  /** A guest file about to be opened. */
  chargeOpen(where: string): void {
    this.check(where);
    this.used.files_opened++;
    if (this.used.files_opened > this.limits.max_files_opened) this.exhaust({ budget: 'max_files_opened', limit: this.limits.max_files_opened, used: this.used.files_opened, where });
  }

  /** `n` bytes of a guest file now held in memory. */
  chargeCollected(n: number, where: string): void {
    this.used.collected_bytes += n;
    if (this.used.collected_bytes > this.limits.max_collected_bytes) {
      this.exhaust({ budget: 'max_collected_bytes', limit: this.limits.max_collected_bytes, used: this.used.collected_bytes, where });
    }
  }

  /** The cap for reading one file whole: the collector's own, never above max_file_bytes. */
  fileCap(collectorCap: number): number {
    return Math.min(collectorCap, this.limits.max_file_bytes);
  }

  /** A file larger than max_file_bytes was skipped: recorded (the result is partial), the inspection goes on. */
  fileSkipped(path: string, size: number | undefined): BudgetTrip {
    const trip: BudgetTrip = { budget: 'max_file_bytes', limit: this.limits.max_file_bytes, used: size ?? this.limits.max_file_bytes + 1, where: path };
    this.trips.push(trip);
    if (this.failFast) throw new BudgetExceededError(trip);
    return trip;
  }

  private exhaust(trip: BudgetTrip): never {
    if (!this.exhausted) {
      this.exhausted = new BudgetExceededError(trip);
      this.trips.push(trip);
    }
    throw this.exhausted;
  }
}
