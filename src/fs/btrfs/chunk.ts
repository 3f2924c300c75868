import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { CHUNK_ITEM, KEY_SIZE, readKey } from './key.js';

const BG_RAID0 = 1 << 3;
const BG_RAID1 = 1 << 4;
const BG_DUP = 1 << 5;
const BG_RAID10 = 1 << 6;
const BG_RAID5 = 1 << 7;
const BG_RAID6 = 1 << 8;
const BG_RAID1C3 = 1 << 9;
const BG_RAID1C4 = 1 << 10;
const CHUNK_ITEM_SIZE = 48;
const STRIPE_SIZE = 32;

/** One chunk: logical [logical, logical+length) stored at `physical` on this device (first usable copy). */
export interface Chunk {
  logical: number;
  length: number;
  physical: number;
  type: number;
}

/** Parses one chunk item (the fixed part plus its stripes); picks a stripe on device `devid`. */
export function parseChunkItem(r: BinaryReader, off: number, logical: number, devid: number): { chunk: Chunk; size: number } {
  const length = r.u64le(off);
  const type = r.u32le(off + 24);
  const numStripes = r.u16le(off + 44);
  const size = CHUNK_ITEM_SIZE + numStripes * STRIPE_SIZE;
  if (numStripes < 1 || off + size > r.length) throw corrupt(`btrfs: chunk at ${logical} has ${numStripes} stripes that do not fit`);
  if (length <= 0) throw corrupt(`btrfs: chunk at ${logical} has length ${length}`);
  if (type & (BG_RAID5 | BG_RAID6 | BG_RAID10) || (type & BG_RAID0 && numStripes > 1)) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `btrfs: chunk at ${logical} uses a striped/parity profile (type 0x${type.toString(16)}); only single, DUP and mirrored profiles are read`);
  }
  // SINGLE, DUP and the RAID1 family keep whole copies: any stripe on our device serves.
  void (BG_RAID1 | BG_DUP | BG_RAID1C3 | BG_RAID1C4);
  for (let i = 0; i < numStripes; i++) {
    const s = off + CHUNK_ITEM_SIZE + i * STRIPE_SIZE;
    if (r.u64le(s) === devid) return { chunk: { logical, length, physical: r.u64le(s + 8), type }, size };
  }
  throw new GuestkitError('UNSUPPORTED_FORMAT', `btrfs: chunk at ${logical} has no copy on this device (multi-device filesystem)`);
}

/** Logical → physical map over the chunks, searched by binary search. */
export class ChunkMap {
  private chunks: Chunk[] = [];

  add(c: Chunk): void {
    const i = this.chunks.findIndex((x) => x.logical === c.logical);
    if (i >= 0) this.chunks[i] = c;
    else this.chunks.push(c);
    this.chunks.sort((a, b) => a.logical - b.logical);
  }

  get size(): number {
    return this.chunks.length;
  }

  /** Physical offset of `logical` and how many bytes from there stay in the same chunk. */
  map(logical: number, what: string): { physical: number; avail: number } {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = this.chunks[mid]!;
      if (logical < c.logical) hi = mid - 1;
      else if (logical >= c.logical + c.length) lo = mid + 1;
      else return { physical: c.physical + (logical - c.logical), avail: c.logical + c.length - logical };
    }
    throw corrupt(`btrfs: no chunk maps logical address ${logical} (${what})`, { logical });
  }
}

/** The bootstrap chunks in the superblock's sys_chunk_array (enough to read the chunk tree). */
export function parseSysChunkArray(arr: Buffer, devid: number, map: ChunkMap): void {
  const r = new BinaryReader(arr, 'btrfs sys_chunk_array');
  let off = 0;
  while (off < arr.length) {
    const key = readKey(r, off);
    if (key.type !== CHUNK_ITEM) throw corrupt(`btrfs: sys_chunk_array holds key type ${key.type}`);
    const { chunk, size } = parseChunkItem(r, off + KEY_SIZE, key.off, devid);
    map.add(chunk);
    off += KEY_SIZE + size;
  }
  if (map.size === 0) throw corrupt('btrfs: sys_chunk_array is empty');
}
