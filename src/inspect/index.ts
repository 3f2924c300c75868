import type { ImageFormatName } from '../disk/image.js';
import { GuestkitError } from '../protocol/errors.js';
import { InspectionBudget, isBudgetError, type BudgetClock } from './budget.js';
import { assembleRoot } from './guest.js';
import { inspectLinux, type StageTimer } from './linux/index.js';
import { inspectWindows } from './windows/index.js';
import { GuestSession } from './session.js';
import { DEFAULT_INSPECT_OPTIONS, type Inspection, type InspectOptions, type OperatingSystem } from './types.js';

export * from './types.js';
export { GuestSession } from './session.js';
export { BudgetExceededError, budgetFromEnv, capBudget, InspectionBudget, isBudgetError, INSPECT_BUDGET_DEFAULTS, BUDGET_NAMES, BUDGET_ENV } from './budget.js';
export { CollectorBugError, isCollectorBug } from './faults.js';

export interface InspectRequest {
  /** Disks of ONE guest, in order: the first is /dev/sda. */
  disks: string[];
  /** Stated image format (applies to every disk); `auto` detects. */
  format?: ImageFormatName | 'img' | 'auto';
  options?: InspectOptions;
  /** Real paths the images and every file they name (backing files, extents) must lie under. */
  allowedRoots?: readonly string[];
  /** Called when a stage starts, for progress reporting. */
  onStage?: (stage: string) => void;
  /** The clock the wall-time budget reads (tests inject one; default performance.now()). */
  clock?: BudgetClock;
}

/**
 * Inspects one guest made of one or more disk images: finds every operating
 * system, assembles each root's mounts from its fstab, and collects the facts
 * the options ask for. Pure: reads the images, returns data, prints nothing.
 */
export async function inspect(req: InspectRequest | string): Promise<Inspection> {
  const r: InspectRequest = typeof req === 'string' ? { disks: [req] } : req;
  if (r.disks.length === 0) throw new GuestkitError('VALIDATION_ERROR', 'inspect: no disk image given');
  // every byte, listing, open and second of this inspection is counted against it (budget.ts)
  const budget = new InspectionBudget(r.options?.budget, r.clock);
  const run = new StageClock(r.onStage);
  // A budget spent before any OS was found leaves nothing to report: that is the BUDGET_EXCEEDED error.
  const session = await run.time('disk_attach', () => GuestSession.open(r.disks, { format: r.format, budget, allowedRoots: r.allowedRoots }));
  try {
    return await inspectSession(session, { options: r.options, onStage: r.onStage }, run);
  } finally {
    await session.close();
  }
}

/** Stage times of one inspection (stats.stages_ms). */
export class StageClock {
  readonly stages: Record<string, number> = {};
  readonly t0 = performance.now();
  constructor(private readonly onStage?: (stage: string) => void) {}
  readonly time: StageTimer = async (stage, fn) => {
    this.onStage?.(stage);
    const s = performance.now();
    try {
      return await fn();
    } finally {
      this.stages[stage] = round((this.stages[stage] ?? 0) + performance.now() - s);
    }
  };
}

/**
 * The inspection of an opened session, under the session's budget (`options.budget` is the one
 * given to GuestSession.open; here it is not read again). inspect() is open + this + close.
 */
export async function inspectSession(session: GuestSession, req: Pick<InspectRequest, 'options' | 'onStage'> = {}, clock?: StageClock): Promise<Inspection> {
  const { budget: _budget, ...flags } = req.options ?? {};
  const opts = { ...DEFAULT_INSPECT_OPTIONS, ...stripUndefined(flags) };
  const budget = session.budget;
  const stats = session.stats;
  const run = clock ?? new StageClock(req.onStage);
  const time = run.time;
  const mountables = await time('disk_inspection', () => session.mountables());
  const operating_systems: OperatingSystem[] = [];
  for (const m of mountables) {
    if (m.role !== 'linux-root' && m.role !== 'windows-root') continue;
    if (budget.exhausted) break;
    try {
      const assembled = await time('disk_inspection', () => assembleRoot(m, session.devices, session.pool));
      operating_systems.push(
        m.role === 'linux-root' ? await inspectLinux(assembled, opts, time) : await inspectWindows(assembled, opts, time, session.devices),
      );
    } catch (err) {
      // partial: the OSes already inspected are the result; fail (or nothing yet): the error
      if (!isBudgetError(err) || budget.failFast || operating_systems.length === 0) throw err;
      break;
    }
  }
  if (budget.exhausted && (budget.failFast || operating_systems.length === 0)) throw budget.exhausted;
  // A device's role is the strongest among its subvolumes (Btrfs roots live in @ or root).
  const rank = ['linux-root', 'windows-root', 'usr', 'boot', 'var', 'data'];
  const roles = new Map<string, string>();
  for (const m of mountables) {
    const cur = roles.get(m.device.device);
    if (cur === undefined || rank.indexOf(m.role) < rank.indexOf(cur)) roles.set(m.device.device, m.role);
  }
  return {
    image: session.images.map((img) => {
      const info = img.info();
      return {
        path: info.filename,
        format: info.format,
        virtual_size: info.virtual_size,
        backing_chain: (info.backing_chain ?? []).slice(1).map((b) => b.filename),
      };
    }),
    partition_table: session.layout.tables,
    filesystems: session.devices
      .filter((d) => d.fsType !== undefined)
      .map((d) => {
        const role = roles.get(d.device) ?? (d.usage === 'swap' ? 'swap' : undefined);
        return {
          device: d.device,
          type: d.fsType!,
          ...(d.uuid ? { uuid: d.uuid } : {}),
          ...(d.label ? { label: d.label } : {}),
          size: d.size,
          ...(role ? { role } : {}),
          ...(d.error ? { error: d.error } : {}),
        };
      }),
    operating_systems,
    warnings: budget.exhausted ? [...session.warnings, `inspection stopped early, the result is partial: ${budget.exhausted.message}`] : session.warnings,
    stats: {
      bytes_read: stats.bytesRead,
      reads: stats.reads,
      total_ms: round(performance.now() - run.t0),
      stages_ms: run.stages,
      dir_entries: budget.used.dir_entries,
      files_opened: budget.used.files_opened,
      collected_bytes: budget.used.collected_bytes,
    },
    ...(budget.trips.length ? { partial: true as const, budget_exceeded: budget.trips.map((t) => ({ ...t })) } : {}),
  };
}

/** Throws NO_OS_FOUND (with the disk layout in its details) when an inspection found no OS. */
export function requireOs(result: Inspection): Inspection {
  if (result.operating_systems.length === 0) {
    throw new GuestkitError('NO_OS_FOUND', `no operating system found on ${result.image.map((i) => i.path).join(', ')} (${result.filesystems.length} filesystems examined)`, {
      details: { filesystems: result.filesystems, partition_table: result.partition_table, warnings: result.warnings },
    });
  }
  return result;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
