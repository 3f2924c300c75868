import type { BlockDevice } from '../../disk/types.js';
import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { lvmCrc } from '../crc32.js';

const LABEL_ID = 'LABELONE';
const LABEL_TYPE = 'LVM2 001';
const SECTOR = 512;
/** LVM looks for its label in the first four sectors. */
export const LABEL_SCAN_BYTES = 4 * SECTOR;
const MAX_LOCNS = 16;

/** An area of the PV: byte offset from the PV's start and size (0 = to the end, for data). */
export interface DiskLocn {
  offset: number;
  size: number;
}

export interface PvLabel {
  /** Sector (0–3) the label was found in. */
  sector: number;
  /** PV UUID in LVM's dashed form (6-4-4-4-4-4-6). */
  pvUuid: string;
  deviceSize: number;
  dataAreas: DiskLocn[];
  metadataAreas: DiskLocn[];
}

/** 32 UUID characters as LVM prints them: 6-4-4-4-4-4-6. */
export function formatLvmUuid(raw: string): string {
  return [raw.slice(0, 6), raw.slice(6, 10), raw.slice(10, 14), raw.slice(14, 18), raw.slice(18, 22), raw.slice(22, 26), raw.slice(26)].join('-');
}

/**
 * Finds and checks the LVM2 label in the first four sectors (`head` holds them). Null when
 * there is no "LABELONE"; CORRUPT_IMAGE when there is one that does not hold together.
 */
export function parsePvLabel(head: Buffer, name: string): PvLabel | null {
  for (let sector = 0; sector < 4 && (sector + 1) * SECTOR <= head.length; sector++) {
    const buf = head.subarray(sector * SECTOR, (sector + 1) * SECTOR);
    const r = new BinaryReader(buf, `${name}: LVM2 label`);
    if (r.cstring(0, 8) !== LABEL_ID) continue;
    if (r.cstring(24, 8) !== LABEL_TYPE) throw corrupt(`${name}: LVM label in sector ${sector} has unknown type "${r.cstring(24, 8)}"`);
    if (r.u64le(8) !== sector) throw corrupt(`${name}: LVM label in sector ${sector} says it is in sector ${r.u64le(8)}`);
    const crc = lvmCrc(buf.subarray(20));
    if (crc !== r.u32le(16)) throw corrupt(`${name}: LVM label in sector ${sector} has a bad checksum`);
    const off = r.u32le(20);
    if (off < 32 || off + 40 > SECTOR) throw corrupt(`${name}: LVM PV header offset ${off} lies outside the label sector`);
    const raw = r.cstring(off, 32);
    if (!/^[0-9A-Za-z!#]{32}$/.test(raw)) throw corrupt(`${name}: LVM PV UUID is not 32 UUID characters`);
    let p = off + 40;
    const readList = (what: string): DiskLocn[] => {
      const out: DiskLocn[] = [];
      for (;;) {
        if (out.length > MAX_LOCNS) throw corrupt(`${name}: LVM PV header lists more than ${MAX_LOCNS} ${what}`);
        const offset = r.u64le(p);
        const size = r.u64le(p + 8);
        p += 16;
        if (offset === 0) return out;
        out.push({ offset, size });
      }
    };
    const dataAreas = readList('data areas');
    const metadataAreas = readList('metadata areas');
    return { sector, pvUuid: formatLvmUuid(raw), deviceSize: r.u64le(off + 32), dataAreas, metadataAreas };
  }
  return null;
}

export async function readPvLabel(dev: BlockDevice): Promise<PvLabel | null> {
  if (dev.size < LABEL_SCAN_BYTES) return null;
  return parsePvLabel(await dev.read(0, LABEL_SCAN_BYTES), dev.name);
}
