import { type ProbeContext, type ProbeResult, result, trimLabel } from './context.js';

const MAGIC = Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]); // "LUKS\xba\xbe"

/** LUKS1/LUKS2: magic at 0, big-endian version at 6, UUID text at 168 (LUKS2 label at 24). */
export async function probeLuks(ctx: ProbeContext): Promise<ProbeResult | null> {
  const r = await ctx.reader(0, 256, 'LUKS header');
  if (!r || !r.bytes(0, 6).equals(MAGIC)) return null;
  const version = r.u16be(6);
  if (version !== 1 && version !== 2) return null;
  return result({
    type: 'crypto_LUKS',
    usage: 'crypto',
    version: String(version),
    uuid: trimLabel(r.bytes(168, 40)),
    label: version === 2 ? trimLabel(r.bytes(24, 48)) : undefined,
  });
}
