import { type ProbeContext, type ProbeResult, isPowerOf2, isZero, result, trimLabel } from './context.js';

/** XFS: "XFSB" at 0 (big-endian superblock); label sb_fname at 108. */
export async function probeXfs(ctx: ProbeContext): Promise<ProbeResult | null> {
  const r = await ctx.reader(0, 512, 'XFS superblock');
  if (!r || r.cstring(0, 4) !== 'XFSB') return null;
  const blockSize = r.u32be(4);
  const sectSize = r.u16be(102);
  if (!isPowerOf2(blockSize) || blockSize < 512 || blockSize > 65536) return null;
  if (!isPowerOf2(sectSize) || sectSize < 512 || sectSize > 32768 || r.u32be(88) === 0) return null;
  return result({
    type: 'xfs',
    usage: 'filesystem',
    uuid: isZero(r.bytes(32, 16)) ? undefined : r.uuid(32),
    label: trimLabel(r.bytes(108, 12)),
    block_size: sectSize,
  });
}
