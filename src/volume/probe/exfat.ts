import { type ProbeContext, type ProbeResult, result } from './context.js';

const MAX_ROOT_BYTES = 64 * 1024;
const MAX_ROOT_CLUSTERS = 8;
const ENTRY_EOD = 0x00;
const ENTRY_LABEL = 0x83;

/** exFAT: "EXFAT   " at 3; serial at 0x64 (UUID XXXX-XXXX), label from the root directory. */
export async function probeExfat(ctx: ProbeContext): Promise<ProbeResult | null> {
  const r = await ctx.reader(0, 512, 'exFAT boot sector');
  if (!r || r.cstring(3, 8) !== 'EXFAT   ') return null;
  const sectorShift = r.u8(0x6c);
  const clusterShift = r.u8(0x6d);
  if (sectorShift < 9 || sectorShift > 12 || clusterShift > 25 - sectorShift) return null;
  const sectorSize = 2 ** sectorShift;
  const clusterBytes = sectorSize * 2 ** clusterShift;
  const fatOff = r.u32le(0x50) * sectorSize;
  const heapOff = r.u32le(0x58) * sectorSize;
  const clusterCount = r.u32le(0x5c);
  const hex = r.u32le(0x64).toString(16).toUpperCase().padStart(8, '0');
  let label: string | undefined;
  let next = r.u32le(0x60);
  search: for (let i = 0; i < MAX_ROOT_CLUSTERS && next >= 2 && next < clusterCount + 2; i++) {
    const dir = await ctx.at(heapOff + (next - 2) * clusterBytes, Math.min(clusterBytes, MAX_ROOT_BYTES));
    if (!dir) break;
    for (let o = 0; o + 32 <= dir.length; o += 32) {
      const t = dir[o]!;
      if (t === ENTRY_EOD) break search;
      if (t === ENTRY_LABEL) {
        const n = Math.min(dir[o + 1]!, 11);
        label = dir.subarray(o + 2, o + 2 + n * 2).toString('utf16le');
        break search;
      }
    }
    const fat = await ctx.at(fatOff + next * 4, 4);
    if (!fat) break;
    next = fat.readUInt32LE(0);
  }
  return result({
    type: 'exfat',
    usage: 'filesystem',
    uuid: `${hex.slice(0, 4)}-${hex.slice(4)}`,
    label,
    version: `${r.u8(0x69)}.${r.u8(0x68)}`,
    block_size: sectorSize,
  });
}
