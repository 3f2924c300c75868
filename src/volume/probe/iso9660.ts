import { type ProbeContext, type ProbeResult, result, trimLabel } from './context.js';

const PVD = 0x8000;

/** ISO9660: primary volume descriptor at 32 KiB ("CD001"); UUID from its modified/created date as blkid forms it. */
export async function probeIso9660(ctx: ProbeContext): Promise<ProbeResult | null> {
  const r = await ctx.reader(PVD, 2048, 'ISO9660 volume descriptor');
  if (!r || r.u8(0) !== 1 || r.cstring(1, 5) !== 'CD001') return null;
  return result({
    type: 'iso9660',
    usage: 'filesystem',
    label: trimLabel(r.bytes(40, 32)),
    uuid: isoDate(r.bytes(830, 17)) ?? isoDate(r.bytes(813, 17)),
    block_size: r.u16le(128) || 2048,
  });
}

/** "YYYYMMDDHHMMSScc" digits → "YYYY-MM-DD-HH-MM-SS-cc"; undefined when unset. */
function isoDate(b: Buffer): string | undefined {
  const s = b.subarray(0, 16).toString('latin1');
  if (!/^\d{16}$/.test(s) || /^0+$/.test(s)) return undefined;
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}-${s.slice(8, 10)}-${s.slice(10, 12)}-${s.slice(12, 14)}-${s.slice(14, 16)}`;
}
