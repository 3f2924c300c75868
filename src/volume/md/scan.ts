import type { BlockDevice } from '../../disk/types.js';
import { GuestkitError } from '../../protocol/errors.js';
import type { VolumeEntry } from '../enumerate.js';
import type { ProbeResult } from '../probe/context.js';
import { SliceDevice } from '../slice.js';
import { readPartitionTable } from '../table.js';
import { assembleMd, type MdMember } from './assemble.js';
import { findMdSuperblock, mdProbeResult, wantsMdProbe } from './probe.js';

/**
 * The md part of volume enumeration: `check` looks at each device once (only devices that
 * may be members cost a read), `arrays` assembles what was found since the last call and
 * returns the arrays as volume entries, probed like any other device.
 */
export class MdScan {
  private pending: MdMember[] = [];
  private readonly taken = new Set<string>();
  private next = 127;

  constructor(private readonly warnings: string[]) {}

  /** The device's probe result: `found` unchanged, or linux_raid_member when it carries an md superblock. */
  async check(dev: BlockDevice, found: ProbeResult | null, partType: string | undefined, wholeDisk: boolean): Promise<ProbeResult | null> {
    if (!wantsMdProbe(found, partType, wholeDisk)) return found;
    try {
      const sb = await findMdSuperblock(dev, true);
      if (!sb) return found;
      this.pending.push({ dev, sb });
      return mdProbeResult(sb);
    } catch (err) {
      if (!(err instanceof GuestkitError)) throw err;
      this.warnings.push(`${dev.name}: ${err.message}`);
      return found;
    }
  }

  async arrays(probe: (dev: BlockDevice) => Promise<ProbeResult | null>): Promise<VolumeEntry[]> {
    if (this.pending.length === 0) return [];
    const arrays = assembleMd(this.pending, this.next, this.taken, this.warnings);
    this.pending = [];
    const out: VolumeEntry[] = [];
    for (const a of arrays) {
      const m = /^\/dev\/md(\d+)$/.exec(a.device);
      if (m) this.next = Math.min(this.next, Number(m[1]) - 1);
      const e: VolumeEntry = {
        device: a.device,
        ...(a.aliases.length ? { aliases: a.aliases } : {}),
        kind: 'md',
        size: a.size,
        dev: a.dev,
        md: { uuid: a.uuid, ...(a.name ? { name: a.name } : {}), level: a.level, version: a.version, members: a.members, ...(a.degraded ? { degraded: true } : {}) },
        probe: a.error ? null : await probe(a.dev),
      };
      if (a.error) e.error = a.error.toProtocol();
      out.push(e);
      if (e.probe?.pttype) out.push(...(await this.partitions(e, probe)));
    }
    return out;
  }

  /** A partitioned array's partitions, named as the kernel names them (/dev/md127p1). */
  private async partitions(e: VolumeEntry, probe: (dev: BlockDevice) => Promise<ProbeResult | null>): Promise<VolumeEntry[]> {
    const out: VolumeEntry[] = [];
    try {
      const table = await readPartitionTable(e.dev);
      if (!table) return out;
      const { partitions, warnings, ...rest } = table;
      e.table = rest;
      this.warnings.push(...warnings);
      for (const p of partitions) {
        if (p.extended) continue;
        const name = `${e.device}p${p.number}`;
        const dev = new SliceDevice(e.dev, p.start, p.size, name);
        out.push({ device: name, ...(e.aliases?.length ? { aliases: e.aliases.map((a) => `${a}${/\d$/.test(a) ? 'p' : ''}${p.number}`) } : {}), kind: 'partition', size: p.size, dev, partition: p, probe: await probe(dev) });
      }
    } catch (err) {
      if (!(err instanceof GuestkitError)) throw err;
      this.warnings.push(`${e.device}: partition table unreadable: ${err.message}`);
    }
    return out;
  }
}
