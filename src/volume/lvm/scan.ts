import type { BlockDevice } from '../../disk/types.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { type PvLabel, readPvLabel } from './label.js';
import { LvDevice, type MappedSegment, UnavailableDevice } from './lv-device.js';
import { readMdaHeader, readMetadataText } from './mda.js';
import { type LvMeta, type VgMeta, parseVgMetadata } from './metadata.js';

export interface PhysicalVolume {
  uuid: string;
  dev: BlockDevice;
  label: PvLabel;
}

export interface LogicalVolume {
  vg: string;
  name: string;
  uuid: string;
  size: number;
  /** Segment types in order ("striped", "thin", …). */
  segtypes: string[];
  /** Reads the LV; for an unavailable LV every read throws `error`. */
  dev: BlockDevice;
  /** Why the LV cannot be read (UNSUPPORTED_FORMAT naming the segment type, CORRUPT_IMAGE, …). */
  error?: GuestkitError;
  /** A PV it lives on is missing. */
  incomplete?: boolean;
}

export interface VolumeGroup {
  name: string;
  uuid: string;
  seqno: number;
  extentSize: number;
  pvs: { uuid: string; key: string; dev?: BlockDevice }[];
  /** Visible LVs, in metadata order. */
  lvs: LogicalVolume[];
}

export interface LvmScan {
  pvs: PhysicalVolume[];
  vgs: VolumeGroup[];
  warnings: string[];
}

/**
 * Finds LVM2 PVs among `devices`, reads every metadata copy and keeps the newest (highest
 * seqno) per VG, then maps each visible LV onto the PVs it was given. A VG whose PVs are
 * not all present still lists its LVs: those touching a missing PV are incomplete.
 */
export async function scanLvm(devices: BlockDevice[]): Promise<LvmScan> {
  const warnings: string[] = [];
  const pvs: PhysicalVolume[] = [];
  const byUuid = new Map<string, PhysicalVolume>();
  const newest = new Map<string, { meta: VgMeta; from: string }>();
  for (const dev of devices) {
    let label: PvLabel | null;
    try {
      label = await readPvLabel(dev);
    } catch (err) {
      if (!(err instanceof GuestkitError)) throw err;
      warnings.push(err.message);
      continue;
    }
    if (!label) continue;
    if (byUuid.has(label.pvUuid)) {
      warnings.push(`${dev.name}: PV ${label.pvUuid} was already seen on ${byUuid.get(label.pvUuid)!.dev.name}; ignoring this copy`);
      continue;
    }
    const pv = { uuid: label.pvUuid, dev, label };
    pvs.push(pv);
    byUuid.set(pv.uuid, pv);
    for (const area of label.metadataAreas) {
      try {
        const mda = await readMdaHeader(dev, area);
        const text = await readMetadataText(dev, mda);
        if (text === null) continue;
        const meta = parseVgMetadata(text, `${dev.name}: LVM metadata`);
        const prev = newest.get(meta.id);
        if (!prev || meta.seqno > prev.meta.seqno) newest.set(meta.id, { meta, from: dev.name });
      } catch (err) {
        if (!(err instanceof GuestkitError)) throw err;
        warnings.push(`${err.message} (metadata copy ignored)`);
      }
    }
  }
  const vgs: VolumeGroup[] = [];
  for (const { meta } of newest.values()) vgs.push(buildVg(meta, byUuid, warnings));
  vgs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { pvs, vgs, warnings };
}

function buildVg(meta: VgMeta, byUuid: Map<string, PhysicalVolume>, warnings: string[]): VolumeGroup {
  const pvs = meta.pvs.map((p) => ({ uuid: p.id, key: p.key, dev: byUuid.get(p.id)?.dev }));
  for (const p of meta.pvs) {
    if (!byUuid.has(p.id)) {
      warnings.push(`VG ${meta.name}: PV ${p.id}${p.device ? ` (last seen as ${p.device})` : ''} is missing; LVs on it are incomplete`);
    }
  }
  const lvs: LogicalVolume[] = [];
  const cowStores = new Set(meta.lvs.flatMap((lv) => lv.segments.map((s) => s.cowStore).filter((x): x is string => !!x)));
  for (const lv of meta.lvs) {
    if (!lv.visible) continue;
    lvs.push(buildLv(meta, lv, byUuid, cowStores, warnings));
  }
  return { name: meta.name, uuid: meta.id, seqno: meta.seqno, extentSize: meta.extentSize, pvs, lvs };
}

function buildLv(meta: VgMeta, lv: LvMeta, byUuid: Map<string, PhysicalVolume>, cowStores: Set<string>, warnings: string[]): LogicalVolume {
  const name = `/dev/${meta.name}/${lv.name}`;
  const size = lv.extentCount * meta.extentSize;
  const base = { vg: meta.name, name: lv.name, uuid: lv.id, size, segtypes: lv.segments.map((s) => s.type) };
  const unavailable = (error: GuestkitError, extra: Partial<LogicalVolume> = {}): LogicalVolume => {
    warnings.push(error.message);
    return { ...base, dev: new UnavailableDevice(name, size, error), error, ...extra };
  };
  if (!Number.isSafeInteger(size)) return unavailable(corrupt(`${name}: size of ${lv.extentCount} extents is out of range`));
  // The visible LV of an old-style snapshot holds the COW store, not the snapshot's data.
  const unsupported = cowStores.has(lv.name) ? 'snapshot' : lv.segments.find((s) => s.type !== 'striped')?.type;
  if (unsupported) {
    return unavailable(
      new GuestkitError('UNSUPPORTED_FORMAT', `${name}: LVM segment type "${unsupported}" is not supported (only linear and striped LVs can be read)`, {
        details: { lv: name, segment_type: unsupported },
      }),
    );
  }
  const pvByKey = new Map(meta.pvs.map((p) => [p.key, p]));
  const segments: MappedSegment[] = [];
  const missing = new Set<string>();
  try {
    for (const s of lv.segments) {
      const perStripe = s.extentCount / s.areas.length;
      const areas = [];
      for (const a of s.areas) {
        const pvMeta = pvByKey.get(a.pv);
        if (!pvMeta) throw corrupt(`${name}: segment refers to PV "${a.pv}", which the VG does not list`);
        const pv = byUuid.get(pvMeta.id);
        if (!pv) {
          missing.add(pvMeta.id);
          continue;
        }
        if (a.pe + perStripe > pvMeta.peCount) {
          throw corrupt(`${name}: segment uses extents ${a.pe}..${a.pe + perStripe - 1} of PV ${pvMeta.id}, which has ${pvMeta.peCount}`);
        }
        const offset = pvMeta.peStart + a.pe * meta.extentSize;
        const len = perStripe * meta.extentSize;
        if (!Number.isSafeInteger(offset + len) || offset + len > pv.dev.size) {
          throw corrupt(`${name}: segment (PV bytes ${offset}+${len}) lies past the end of ${pv.dev.name} (${pv.dev.size} bytes)`);
        }
        areas.push({ dev: pv.dev, offset });
      }
      segments.push({ start: s.startExtent * meta.extentSize, length: s.extentCount * meta.extentSize, stripeSize: s.stripeSize, areas });
    }
  } catch (err) {
    if (err instanceof GuestkitError) return unavailable(err);
    throw err;
  }
  if (missing.size > 0) {
    return unavailable(
      new GuestkitError('IMAGE_NOT_FOUND', `${name}: incomplete, PV ${[...missing].join(', ')} is missing`, {
        details: { lv: name, missing_pvs: [...missing] },
      }),
      { incomplete: true },
    );
  }
  return { ...base, dev: new LvDevice(name, size, segments) };
}
