import type { BlockDevice } from '../../disk/types.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { crc32c } from '../../util/crc32c.js';

export const BTRFS_MAGIC = Buffer.from('_BHRfS_M');
/** Primary superblock and its mirrors (64 KiB, 64 MiB, 256 GiB). */
export const SUPER_OFFSETS = [0x10000, 0x4000000, 0x4000000000];
const SUPER_SIZE = 4096;
const CSUM_CRC32C = 0;
const INCOMPAT_METADATA_UUID = 1n << 10n;
const INCOMPAT_EXTENT_TREE_V2 = 1n << 13n;
const INCOMPAT_RAID_STRIPE_TREE = 1n << 14n;

export interface BtrfsSuperblock {
  offset: number;
  fsid: string;
  /** The UUID metadata blocks carry (differs from fsid after `btrfstune -m`). */
  metadataFsid: Buffer;
  generation: number;
  root: number;
  chunkRoot: number;
  logRoot: number;
  totalBytes: number;
  bytesUsed: number;
  sectorSize: number;
  nodeSize: number;
  rootLevel: number;
  chunkRootLevel: number;
  csumType: number;
  devid: number;
  label: string;
  sysChunkArray: Buffer;
  incompat: bigint;
}

function cstringUtf8(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

function parse(buf: Buffer, offset: number): BtrfsSuperblock {
  const r = new BinaryReader(buf, 'btrfs superblock');
  if (!r.bytes(64, 8).equals(BTRFS_MAGIC)) throw corrupt(`btrfs superblock at ${offset}: bad magic`);
  if (r.u64le(48) !== offset) throw corrupt(`btrfs superblock at ${offset}: records its offset as ${r.u64le(48)}`);
  const csumType = r.u16le(196);
  if (csumType === CSUM_CRC32C && r.u32le(0) !== crc32c(buf.subarray(32, SUPER_SIZE))) {
    throw corrupt(`btrfs superblock at ${offset}: checksum mismatch`);
  }
  const incompat = r.u64leBig(188);
  if (incompat & (INCOMPAT_EXTENT_TREE_V2 | INCOMPAT_RAID_STRIPE_TREE)) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `btrfs: incompatible features 0x${incompat.toString(16)} (extent tree v2 / raid stripe tree) are not supported`);
  }
  const sectorSize = r.u32le(144);
  const nodeSize = r.u32le(148);
  const pow2 = (v: number) => v > 0 && (v & (v - 1)) === 0;
  if (!pow2(sectorSize) || sectorSize < 4096 || sectorSize > 65536) throw corrupt(`btrfs superblock: bad sector size ${sectorSize}`);
  if (!pow2(nodeSize) || nodeSize < sectorSize || nodeSize > 65536) throw corrupt(`btrfs superblock: bad node size ${nodeSize}`);
  const sysSize = r.u32le(160);
  if (sysSize > 2048) throw corrupt(`btrfs superblock: sys_chunk_array of ${sysSize} bytes (max 2048)`);
  const rootLevel = r.u8(198);
  const chunkRootLevel = r.u8(199);
  if (rootLevel > 7 || chunkRootLevel > 7) throw corrupt('btrfs superblock: tree root level above 7');
  const fsidBuf = r.bytes(32, 16);
  return {
    offset,
    fsid: r.uuid(32),
    metadataFsid: Buffer.from(incompat & INCOMPAT_METADATA_UUID ? r.bytes(571, 16) : fsidBuf),
    generation: r.u64le(72),
    root: r.u64le(80),
    chunkRoot: r.u64le(88),
    logRoot: r.u64le(96),
    totalBytes: r.u64le(112),
    bytesUsed: r.u64le(120),
    sectorSize,
    nodeSize,
    rootLevel,
    chunkRootLevel,
    csumType,
    devid: r.u64le(201),
    label: cstringUtf8(r.bytes(299, 256)),
    sysChunkArray: Buffer.from(r.bytes(811, sysSize)),
    incompat,
  };
}

/** Reads the primary superblock and the mirrors that fit the device; the valid one with the highest generation wins. */
export async function readSuperblock(dev: BlockDevice): Promise<BtrfsSuperblock> {
  let best: BtrfsSuperblock | undefined;
  let firstErr: unknown;
  for (const off of SUPER_OFFSETS) {
    if (off + SUPER_SIZE > dev.size) break;
    try {
      const sb = parse(await dev.read(off, SUPER_SIZE), off);
      if (!best || sb.generation > best.generation) best = sb;
    } catch (err) {
      if (err instanceof GuestkitError && err.code === 'UNSUPPORTED_FORMAT') throw err;
      firstErr ??= err;
    }
  }
  if (!best) throw firstErr ?? corrupt('btrfs: device too small for a superblock');
  return best;
}
