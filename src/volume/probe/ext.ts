import { type ProbeContext, type ProbeResult, isZero, result, trimLabel } from './context.js';

// Feature bits (e2fsprogs lib/ext2fs/ext2_fs.h) that decide ext2/ext3/ext4 as blkid does.
const COMPAT_HAS_JOURNAL = 0x0004;
const INCOMPAT_FILETYPE = 0x0002;
const INCOMPAT_RECOVER = 0x0004;
const INCOMPAT_JOURNAL_DEV = 0x0008;
const INCOMPAT_META_BG = 0x0010;
const RO_COMPAT_SUPP = 0x0001 | 0x0002 | 0x0004; // sparse_super, large_file, btree_dir
const EXT2_INCOMPAT_SUPP = INCOMPAT_FILETYPE | INCOMPAT_META_BG;
const EXT3_INCOMPAT_SUPP = INCOMPAT_FILETYPE | INCOMPAT_RECOVER | INCOMPAT_META_BG;

/** ext2/3/4 (and an external ext journal, "jbd"): superblock at 1024, magic 0xEF53 at +56. */
export async function probeExt(ctx: ProbeContext): Promise<ProbeResult | null> {
  const r = await ctx.reader(1024, 1024, 'ext superblock');
  if (!r || r.u16le(56) !== 0xef53) return null;
  const logBlock = r.u32le(24);
  if (logBlock > 6) return null; // block size 1 KiB..64 KiB
  const compat = r.u32le(0x5c);
  const incompat = r.u32le(0x60);
  const roCompat = r.u32le(0x64);
  let type: string;
  if (incompat & INCOMPAT_JOURNAL_DEV) type = 'jbd';
  else if (compat & COMPAT_HAS_JOURNAL) {
    type = roCompat & ~RO_COMPAT_SUPP || incompat & ~EXT3_INCOMPAT_SUPP ? 'ext4' : 'ext3';
  } else {
    type = roCompat & ~RO_COMPAT_SUPP || incompat & ~EXT2_INCOMPAT_SUPP ? 'ext4' : 'ext2';
  }
  const uuid = r.bytes(0x68, 16);
  return result({
    type,
    usage: type === 'jbd' ? 'other' : 'filesystem',
    uuid: isZero(uuid) ? undefined : r.uuid(0x68),
    label: trimLabel(r.bytes(0x78, 16)),
    version: `${r.u32le(0x4c)}.${r.u16le(0x3e)}`,
    block_size: 1024 << logBlock,
  });
}
