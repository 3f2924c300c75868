import { corrupt } from '../../protocol/errors.js';
import { type ConfigSection, type ConfigValue, isSection, parseConfig } from './config.js';

const SECTOR = 512;
const MAX_SEGMENTS = 10000;

export interface PvMeta {
  /** Key in the metadata ("pv0"), which segments refer to. */
  key: string;
  /** PV UUID, dashed. */
  id: string;
  /** Device name when the metadata was written (informational). */
  device?: string;
  /** Bytes from the PV's start to its first extent. */
  peStart: number;
  peCount: number;
}

export interface SegmentMeta {
  startExtent: number;
  extentCount: number;
  /** LVM segment type: "striped" (also linear), "thin", "raid1", "mirror", "snapshot", … */
  type: string;
  /** Bytes per stripe chunk (striped with more than one stripe). */
  stripeSize: number;
  /** For striped: (PV key, first PE on that PV) per stripe. */
  areas: { pv: string; pe: number }[];
  /** Snapshot segments: the origin and COW store LV names. */
  origin?: string;
  cowStore?: string;
}

export interface LvMeta {
  name: string;
  id: string;
  status: string[];
  visible: boolean;
  extentCount: number;
  segments: SegmentMeta[];
}

export interface VgMeta {
  name: string;
  id: string;
  seqno: number;
  /** Bytes per extent. */
  extentSize: number;
  pvs: PvMeta[];
  lvs: LvMeta[];
}

/** Parses one copy of VG metadata text into the VG model; CORRUPT_IMAGE when it does not hold together. */
export function parseVgMetadata(text: string, where: string): VgMeta {
  const cfg = parseConfig(text, where);
  const names = Object.keys(cfg).filter((k) => isSection(cfg[k]));
  if (names.length !== 1) throw corrupt(`${where}: expected one volume group section, found ${names.length}`);
  const name = names[0]!;
  const vg = cfg[name] as ConfigSection;
  const at = `${where}: VG ${name}`;
  const extentSectors = num(vg, 'extent_size', at);
  if (extentSectors <= 0) throw corrupt(`${at}: extent_size ${extentSectors} is not positive`);
  const pvSec = vg['physical_volumes'];
  const pvs: PvMeta[] = [];
  if (isSection(pvSec)) {
    for (const [key, v] of Object.entries(pvSec)) {
      if (!isSection(v)) continue;
      const pat = `${at}: PV ${key}`;
      pvs.push({
        key,
        id: str(v, 'id', pat),
        device: typeof v['device'] === 'string' ? v['device'] : undefined,
        peStart: num(v, 'pe_start', pat) * SECTOR,
        peCount: num(v, 'pe_count', pat),
      });
    }
  }
  const lvSec = vg['logical_volumes'];
  const lvs: LvMeta[] = [];
  if (isSection(lvSec)) {
    for (const [lvName, v] of Object.entries(lvSec)) {
      if (isSection(v)) lvs.push(parseLv(lvName, v, `${at}: LV ${lvName}`));
    }
  }
  return { name, id: str(vg, 'id', at), seqno: num(vg, 'seqno', at), extentSize: extentSectors * SECTOR, pvs, lvs };
}

function parseLv(name: string, v: ConfigSection, at: string): LvMeta {
  const status = strings(v['status']);
  const count = num(v, 'segment_count', at);
  if (count < 0 || count > MAX_SEGMENTS) throw corrupt(`${at}: segment_count ${count} is out of range`);
  const segments: SegmentMeta[] = [];
  for (let i = 1; i <= count; i++) {
    const s = v[`segment${i}`];
    if (!isSection(s)) throw corrupt(`${at}: segment${i} is missing`);
    segments.push(parseSegment(s, `${at}: segment${i}`));
  }
  segments.sort((a, b) => a.startExtent - b.startExtent);
  let extents = 0;
  for (const s of segments) {
    if (s.startExtent !== extents) throw corrupt(`${at}: segments leave a gap or overlap at extent ${extents}`);
    extents += s.extentCount;
  }
  return { name, id: str(v, 'id', at), status, visible: status.includes('VISIBLE'), extentCount: extents, segments };
}

function parseSegment(s: ConfigSection, at: string): SegmentMeta {
  const type = str(s, 'type', at);
  const seg: SegmentMeta = {
    startExtent: num(s, 'start_extent', at),
    extentCount: num(s, 'extent_count', at),
    type,
    stripeSize: 0,
    areas: [],
  };
  if (seg.startExtent < 0 || seg.extentCount <= 0) throw corrupt(`${at}: extent range ${seg.startExtent}+${seg.extentCount} is invalid`);
  if (type === 'striped') {
    const count = num(s, 'stripe_count', at);
    const list = s['stripes'];
    if (!Array.isArray(list) || count < 1 || list.length !== count * 2) {
      throw corrupt(`${at}: stripes list does not hold ${count} (PV, extent) pairs`);
    }
    for (let k = 0; k < count; k++) {
      const pv = list[2 * k];
      const pe = list[2 * k + 1];
      if (typeof pv !== 'string' || typeof pe !== 'number' || !Number.isSafeInteger(pe) || pe < 0) {
        throw corrupt(`${at}: stripe ${k} is not a (PV name, extent) pair`);
      }
      seg.areas.push({ pv, pe });
    }
    if (count > 1) {
      seg.stripeSize = num(s, 'stripe_size', at) * SECTOR;
      if (seg.stripeSize <= 0) throw corrupt(`${at}: stripe_size is not positive`);
      if (seg.extentCount % count !== 0) throw corrupt(`${at}: ${seg.extentCount} extents do not divide into ${count} stripes`);
    }
  } else if (type === 'snapshot') {
    if (typeof s['origin'] === 'string') seg.origin = s['origin'];
    if (typeof s['cow_store'] === 'string') seg.cowStore = s['cow_store'];
  }
  return seg;
}

function num(sec: ConfigSection, key: string, at: string): number {
  const v = sec[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw corrupt(`${at}: "${key}" is missing or not an integer`);
  return v;
}

function str(sec: ConfigSection, key: string, at: string): string {
  const v = sec[key];
  if (typeof v !== 'string') throw corrupt(`${at}: "${key}" is missing or not a string`);
  return v;
}

function strings(v: ConfigValue | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
