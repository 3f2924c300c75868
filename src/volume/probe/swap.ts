import { BinaryReader } from '../../util/binary.js';
import { type ProbeContext, type ProbeResult, isZero, result, trimLabel } from './context.js';

/** Page sizes Linux swap is made with; the signature sits in the last 10 bytes of page 0. */
const PAGE_SIZES = [4096, 8192, 16384, 32768, 65536];
const SUSPEND = ['S1SUSPEND', 'S2SUSPEND', 'ULSUSPEND', 'LINHIB0001'];

/** Linux swap (v0 "SWAP-SPACE", v1 "SWAPSPACE2" with UUID/label at 1024) and hibernation images. */
export async function probeSwap(ctx: ProbeContext): Promise<ProbeResult | null> {
  for (const page of PAGE_SIZES) {
    const sig = await ctx.at(page - 10, 10);
    if (!sig) return null;
    const text = sig.toString('latin1');
    if (text === 'SWAP-SPACE') return result({ type: 'swap', usage: 'swap', version: '0' });
    if (SUSPEND.some((s) => text.startsWith(s))) return result({ type: 'swsuspend', usage: 'other' });
    if (text !== 'SWAPSPACE2') continue;
    const hdr = await ctx.at(1024, 44);
    if (!hdr) return null;
    const r = new BinaryReader(hdr, 'swap header');
    // The header is in the writer's byte order; version must read 1 either way.
    const le = r.u32le(0) === 1;
    if (!le && r.u32be(0) !== 1) return null;
    const lastPage = le ? r.u32le(4) : r.u32be(4);
    if (lastPage === 0) return null;
    return result({
      type: 'swap',
      usage: 'swap',
      version: '1',
      uuid: isZero(r.bytes(12, 16)) ? undefined : r.uuid(12),
      label: trimLabel(r.bytes(28, 16)),
    });
  }
  return null;
}
