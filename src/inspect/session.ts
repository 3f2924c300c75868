import { openImage } from '../disk/open.js';
import type { ImageDevice, ImageFormatName } from '../disk/image.js';
import { newReadStats, type ReadStats } from '../disk/types.js';
import { Vfs } from '../fs/vfs.js';
import { GuestkitError } from '../protocol/errors.js';
import { InspectionBudget } from './budget.js';
import type { GuestDevice } from './devices.js';
import { assembleRoot, classifyAll, FsPool, isReadable, type AssembledRoot, type Mountable } from './guest.js';
import { describeLayout, type Layout } from './layout.js';

export interface SessionOptions {
  format?: ImageFormatName | 'img' | 'auto';
  /** Real paths every image file (and its backing files) must lie under. */
  allowedRoots?: readonly string[];
  stats?: ReadStats;
  /** The inspection's budget; its readStats count the image reads (given `stats` is then ignored). */
  budget?: InspectionBudget;
}

/**
 * The disks of one guest, opened: their layout (partitions, LVs, filesystems),
 * the filesystems opened once and shared, and the OS roots assembled from fstab.
 * Close it to release every file handle.
 */
export class GuestSession {
  readonly warnings: string[] = [];
  readonly pool: FsPool;
  private mountablesP?: Promise<Mountable[]>;

  private constructor(
    readonly images: ImageDevice[],
    readonly layout: Layout,
    readonly stats: ReadStats,
    readonly budget: InspectionBudget,
  ) {
    this.pool = new FsPool(budget);
  }

  static async open(disks: string[], opts: SessionOptions = {}): Promise<GuestSession> {
    const budget = opts.budget ?? InspectionBudget.unlimited();
    const stats = opts.budget ? opts.budget.readStats : (opts.stats ?? newReadStats());
    const images: ImageDevice[] = [];
    try {
      for (const path of disks) images.push(await openImage(path, { format: opts.format, stats, allowedRoots: opts.allowedRoots }));
      const warnings: string[] = [];
      const layout = await describeLayout(images, warnings);
      const s = new GuestSession(images, layout, stats, budget);
      s.warnings.push(...warnings);
      return s;
    } catch (err) {
      for (const img of images) await img.close().catch(() => undefined);
      throw err;
    }
  }

  get devices(): GuestDevice[] {
    return this.layout.devices;
  }

  /** Every readable filesystem (and Btrfs subvolume) with its role; computed once. */
  mountables(): Promise<Mountable[]> {
    this.mountablesP ??= classifyAll(this.devices, this.pool, this.warnings);
    return this.mountablesP;
  }

  async roots(): Promise<AssembledRoot[]> {
    const out: AssembledRoot[] = [];
    for (const m of await this.mountables()) {
      if (m.role === 'linux-root' || m.role === 'windows-root') out.push(await assembleRoot(m, this.devices, this.pool));
    }
    return out;
  }

  /** The guest's file tree as its first OS sees it (NO_OS_FOUND when there is none). */
  async osView(): Promise<Vfs> {
    const roots = await this.roots();
    if (roots.length === 0) {
      throw new GuestkitError('NO_OS_FOUND', `no operating system root found on ${this.images.map((i) => i.name).join(', ')}; use --device to read one filesystem`, {
        details: { devices: this.devices.map((d) => d.device) },
      });
    }
    return roots[0]!.vfs;
  }

  /** One filesystem by device name (/dev/sda1, /dev/VG/LV, or an alias). */
  async deviceView(device: string): Promise<Vfs> {
    const d = this.devices.find((x) => x.device === device || x.aliases.includes(device));
    if (!d) {
      throw new GuestkitError('NOT_FOUND', `no device ${device} in this guest (devices: ${this.devices.map((x) => x.device).join(', ')})`);
    }
    // an encrypted volume (BitLocker) says so, with its protectors, rather than "cannot be read"
    if (d.error) throw new GuestkitError(d.error.code, d.error.message, { details: d.error.details });
    if (!isReadable(d)) {
      throw new GuestkitError('UNSUPPORTED_FORMAT', `${device} holds ${d.fsType ?? 'no recognised filesystem'}, which cannot be read`);
    }
    return new Vfs(await this.pool.get(d), d.device);
  }

  async close(): Promise<void> {
    await this.pool.close();
    for (const img of this.images) await img.close().catch(() => undefined);
  }
}
