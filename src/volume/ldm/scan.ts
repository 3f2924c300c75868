import type { BlockDevice } from '../../disk/types.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { LvDevice, type MappedSegment, UnavailableDevice } from '../lvm/lv-device.js';
import type { PartitionTable } from '../partition.js';
import { parseDatabase } from './database.js';
import { type LdmGroupModel, type LdmVolume, type LdmVolumeType, buildGroup } from './group.js';
import { PRIVHEAD_SIZE, type Privhead, parsePrivhead } from './privhead.js';
import { LdmVolumeDevice } from './volume-device.js';

export const LDM_METADATA_GUID = '5808C8AA-7E8F-42E0-85D2-E1E90434CFB3';
export const LDM_DATA_GUID = 'AF9B60A0-1431-4F62-BC68-3311714A69AD';
export const LDM_MBR_TYPE = '42';

/** A partition that belongs to a dynamic disk: its contents are only readable through the group's volumes. */
export function isLdmPartitionType(type: string): boolean {
  const t = type.toUpperCase();
  return t === LDM_MBR_TYPE || t === LDM_METADATA_GUID || t === LDM_DATA_GUID;
}

/** Where a disk's PRIVHEAD lies (bytes), when its table says it is a dynamic disk. */
export function privheadOffset(table: PartitionTable): number | undefined {
  if (table.scheme === 'mbr') return table.partitions.some((p) => p.type === LDM_MBR_TYPE) ? 6 * table.sectorSize : undefined;
  // GPT: the last sector of the LDM metadata partition
  const meta = table.partitions.find((p) => p.type.toUpperCase() === LDM_METADATA_GUID);
  return meta ? meta.start + meta.size - table.sectorSize : undefined;
}

export interface LdmCandidate {
  dev: BlockDevice;
  table: PartitionTable;
}

export interface LdmVolumeInfo {
  group: string;
  groupGuid: string;
  name: string;
  guid: string;
  type: LdmVolumeType;
  /** Bytes. */
  size: number;
  chunkSize: number;
  hint?: string;
  partitions: string[];
  /** Disk names (as the database names them) holding its partitions. */
  disks: string[];
  /** Disks it needs that were not given. */
  missingDisks?: string[];
  dev: BlockDevice;
  error?: GuestkitError;
}

export interface LdmScan {
  groups: (LdmGroupModel & { members: { name: string; guid: string; device?: string; dataStart?: number }[] })[];
  volumes: LdmVolumeInfo[];
  warnings: string[];
}

/** The database is 1 MiB on the disks Windows writes; anything far larger is not a database. */
const MAX_CONFIG = 16 << 20;

interface Member {
  dev: BlockDevice;
  ph: Privhead;
  ss: number;
  seq: bigint;
}

/** Reads the LDM database of every dynamic disk, groups them, and maps each volume to a block device. */
export async function scanLdm(candidates: LdmCandidate[]): Promise<LdmScan> {
  const warnings: string[] = [];
  const groups = new Map<string, { model: LdmGroupModel; seq: bigint; members: Member[] }>();
  for (const { dev, table } of candidates) {
    const at = privheadOffset(table);
    if (at === undefined) continue;
    try {
      const ss = table.sectorSize;
      if (at + PRIVHEAD_SIZE > dev.size) throw corrupt(`${dev.name}: the LDM PRIVHEAD lies past the end of the disk`);
      const ph = parsePrivhead(await dev.read(at, PRIVHEAD_SIZE), dev.name);
      const start = ph.configStart * ss;
      const len = ph.configSize * ss;
      if (len < 3 * ss || len > MAX_CONFIG || !Number.isSafeInteger(start + len) || start + len > dev.size) {
        throw corrupt(`${dev.name}: LDM database (sectors ${ph.configStart}+${ph.configSize}) lies outside the disk or is not plausible`);
      }
      const db = parseDatabase(await dev.read(start, len), ss, dev.name);
      const g = groups.get(ph.groupGuid);
      if (!g) {
        groups.set(ph.groupGuid, { model: buildGroup(db, ph.groupGuid, dev.name), seq: db.committedSeq, members: [{ dev, ph, ss, seq: db.committedSeq }] });
      } else if (g.seq !== db.committedSeq) {
        // as libldm: a member whose database disagrees is left out
        warnings.push(`${dev.name}: LDM disk group ${ph.groupGuid} is inconsistent (committed sequence ${db.committedSeq}, group has ${g.seq}); disk ignored`);
      } else {
        g.members.push({ dev, ph, ss, seq: db.committedSeq });
      }
    } catch (err) {
      if (!(err instanceof GuestkitError)) throw err;
      warnings.push(err.message.startsWith(dev.name) ? err.message : `${dev.name}: ${err.message}`);
    }
  }
  const out: LdmScan = { groups: [], volumes: [], warnings };
  for (const { model, members } of groups.values()) {
    const byGuid = new Map(members.map((m) => [m.ph.diskGuid, m]));
    const diskById = new Map(model.disks.map((d) => [d.id, { d, m: byGuid.get(d.guid) }]));
    for (const m of members) {
      if (!model.disks.some((d) => d.guid === m.ph.diskGuid)) warnings.push(`${m.dev.name}: not listed in its LDM disk group ${model.name}`);
    }
    out.groups.push({
      ...model,
      members: model.disks.map((d) => {
        const m = byGuid.get(d.guid);
        return { name: d.name, guid: d.guid, ...(m ? { device: m.dev.name, dataStart: m.ph.dataStart } : {}) };
      }),
    });
    for (const v of model.volumes) {
      const info = volumeDevice(model, v, diskById, warnings);
      out.volumes.push({ ...info, dev: new LdmVolumeDevice(info.dev, v.guid) });
    }
  }
  return out;
}

/** device-mapper's name as ldmtool creates it (libguestfs lists these): characters dm would mangle become \xNN. */
export function ldmVolumeDeviceName(group: string, volume: string): string {
  const mangle = (s: string) => s.replace(/[^A-Za-z0-9#+\-.:=@_]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `/dev/mapper/ldm_vol_${mangle(group)}_${mangle(volume)}`;
}

function volumeDevice(
  g: LdmGroupModel,
  v: LdmVolume,
  diskById: Map<number, { d: { name: string }; m: Member | undefined }>,
  warnings: string[],
): LdmVolumeInfo {
  const name = ldmVolumeDeviceName(g.name, v.name);
  const ss = [...diskById.values()].find((x) => x.m)?.m?.ss ?? 512;
  const size = v.size * ss;
  const diskNames = [...new Set(v.partitions.map((p) => diskById.get(p.diskId)!.d.name))];
  const info: Omit<LdmVolumeInfo, 'dev'> = {
    group: g.name,
    groupGuid: g.guid,
    name: v.name,
    guid: v.guid,
    type: v.type,
    size,
    chunkSize: v.chunkSize,
    ...(v.hint ? { hint: v.hint } : {}),
    partitions: v.partitions.map((p) => p.name),
    disks: diskNames,
  };
  // the entry carries the error; inspection reports it once, with the device
  const fail = (error: GuestkitError, extra: Partial<LdmVolumeInfo> = {}): LdmVolumeInfo => {
    return { ...info, ...extra, dev: new UnavailableDevice(name, Number.isSafeInteger(size) ? size : 0, error), error };
  };
  if (!Number.isSafeInteger(size)) return fail(corrupt(`${name}: size of ${v.size} sectors is out of range`));
  if (v.type === 'raid5') {
    return fail(
      new GuestkitError('UNSUPPORTED_FORMAT', `${name}: LDM RAID-5 volumes are not supported (simple, spanned, striped and mirrored volumes are)`, {
        details: { volume: v.name, type: 'raid5' },
      }),
    );
  }
  // each component is a plex; a mirror is read from the first plex whose disks are all present
  const missing = new Set<string>();
  let lastError: GuestkitError | undefined;
  for (const comp of v.components) {
    const absent = comp.parts.map((p) => diskById.get(p.diskId)!).filter((x) => !x.m);
    if (absent.length) {
      for (const a of absent) missing.add(a.d.name);
      continue;
    }
    try {
      const dev = new LvDevice(name, size, plexSegments(name, v, comp.type, comp.parts, diskById));
      // a mirror read from one plex while another lacks its disk: readable, but say so
      const absentAll = [...new Set(v.partitions.map((p) => diskById.get(p.diskId)!).filter((x) => !x.m).map((x) => x.d.name))];
      if (absentAll.length) warnings.push(`${name}: LDM mirror is degraded, disk ${absentAll.join(', ')} of group ${g.name} is missing; read from the plex on ${[...new Set(comp.parts.map((p) => diskById.get(p.diskId)!.d.name))].join(', ')}`);
      return { ...info, ...(absentAll.length ? { missingDisks: absentAll } : {}), dev };
    } catch (err) {
      if (!(err instanceof GuestkitError)) throw err;
      lastError = err;
    }
  }
  if (lastError && missing.size === 0) return fail(lastError);
  const list = [...missing];
  return fail(
    new GuestkitError('IMAGE_NOT_FOUND', `${name}: LDM ${v.type} volume is incomplete, disk ${list.join(', ')} of group ${g.name} is missing`, {
      details: { volume: v.name, group: g.name, missing_disks: list },
    }),
    { missingDisks: list },
  );
}

function plexSegments(
  name: string,
  v: LdmVolume,
  compType: number,
  parts: LdmVolume['partitions'],
  diskById: Map<number, { m: Member | undefined }>,
): MappedSegment[] {
  const size = v.size;
  const area = (p: (typeof parts)[number]) => {
    const m = diskById.get(p.diskId)!.m!;
    const offset = (m.ph.dataStart + p.start) * m.ss;
    const len = p.size * m.ss;
    if (!Number.isSafeInteger(offset + len) || offset + len > m.dev.size) {
      throw corrupt(`${name}: LDM partition ${p.name} (bytes ${offset}+${len}) lies past the end of ${m.dev.name}`);
    }
    return { dev: m.dev, offset, ss: m.ss };
  };
  if (compType === 1) {
    const chunk = v.chunkSize;
    if (chunk <= 0) throw corrupt(`${name}: striped LDM volume without a chunk size`);
    const areas = parts.map(area);
    const ss = areas[0]!.ss;
    const column = Math.min(...parts.map((p) => p.size));
    if (column * parts.length < size) throw corrupt(`${name}: ${parts.length} stripes of ${column} sectors cannot hold ${size} sectors`);
    return [{ start: 0, length: size * ss, stripeSize: chunk * ss, areas: areas.map(({ dev, offset }) => ({ dev, offset })) }];
  }
  // spanned/simple: the partitions by volume offset, back to back
  const sorted = [...parts].sort((a, b) => a.volOffset - b.volOffset);
  const segs: MappedSegment[] = [];
  let pos = 0;
  for (const p of sorted) {
    if (p.volOffset !== pos) throw corrupt(`${name}: LDM partition ${p.name} starts at volume sector ${p.volOffset}, expected ${pos}`);
    const a = area(p);
    const len = Math.min(p.size, size - pos);
    if (len > 0) segs.push({ start: pos * a.ss, length: len * a.ss, stripeSize: 0, areas: [{ dev: a.dev, offset: a.offset }] });
    pos += p.size;
  }
  if (pos < size) throw corrupt(`${name}: partitions hold ${pos} of the volume's ${size} sectors`);
  return segs;
}
