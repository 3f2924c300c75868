import { type ProbeContext, type ProbeResult, result, trimLabel } from './context.js';

const SUPERBLOCK = 0x10000;

/** Btrfs: primary superblock at 64 KiB, magic "_BHRfS_M" at +0x40. */
export async function probeBtrfs(ctx: ProbeContext): Promise<ProbeResult | null> {
  const r = await ctx.reader(SUPERBLOCK, 0x22b, 'Btrfs superblock');
  if (!r || r.cstring(0x40, 8) !== '_BHRfS_M') return null;
  return result({
    type: 'btrfs',
    usage: 'filesystem',
    uuid: r.uuid(0x20),
    // dev_item starts at 0xc9; its uuid is 0x42 into it.
    uuid_sub: r.uuid(0x10b),
    label: trimLabel(r.bytes(0x12b, 256)),
    block_size: r.u32le(0x90),
  });
}
