import { BinaryReader } from '../../util/binary.js';
import { type ProbeContext, type ProbeResult, isPowerOf2, result } from './context.js';

const MFT_RECORD_VOLUME = 3;
const ATTR_VOLUME_NAME = 0x60;
const ATTR_END = 0xffffffff;
const MAX_ATTRS = 64;

/** NTFS: "NTFS    " at 3; UUID = volume serial as 16 hex digits; label from $Volume's $VOLUME_NAME. */
export async function probeNtfs(ctx: ProbeContext): Promise<ProbeResult | null> {
  const r = await ctx.reader(0, 512, 'NTFS boot sector');
  if (!r || r.cstring(3, 8) !== 'NTFS    ') return null;
  const sectorSize = r.u16le(0x0b);
  const spcRaw = r.u8(0x0d);
  // Values above 0x80 encode 2^(256 - n) sectors per cluster (large clusters).
  const spc = spcRaw > 0x80 ? 2 ** (256 - spcRaw) : spcRaw;
  if (!isPowerOf2(sectorSize) || sectorSize < 256 || sectorSize > 4096 || !isPowerOf2(spc)) return null;
  const clusterSize = sectorSize * spc;
  const cpr = (r.u8(0x40) << 24) >> 24;
  const recordSize = cpr > 0 ? cpr * clusterSize : 2 ** -cpr;
  if (!isPowerOf2(recordSize) || recordSize < 256 || recordSize > 65536) return null;
  const serial = r.u64leBig(0x48).toString(16).toUpperCase().padStart(16, '0');
  let label: string | undefined;
  const mftLcn = r.u64leBig(0x30);
  const off = Number(mftLcn) * clusterSize + MFT_RECORD_VOLUME * recordSize;
  const rec = Number.isSafeInteger(off) ? await ctx.at(off, recordSize) : null;
  if (rec) label = volumeName(Buffer.from(rec), sectorSize);
  return result({ type: 'ntfs', usage: 'filesystem', uuid: serial, label, block_size: sectorSize });
}

/** Finds $VOLUME_NAME in an MFT record after applying its update-sequence fixups. */
function volumeName(rec: Buffer, sectorSize: number): string | undefined {
  const r = new BinaryReader(rec, 'NTFS $Volume record');
  if (r.cstring(0, 4) !== 'FILE') return undefined;
  const usaOff = r.u16le(4);
  const usaCount = r.u16le(6);
  const stride = Math.min(sectorSize, 512);
  if (usaCount < 1 || usaCount - 1 > rec.length / stride || usaOff + usaCount * 2 > rec.length) return undefined;
  const usn = r.u16le(usaOff);
  for (let i = 1; i < usaCount; i++) {
    const end = i * stride - 2;
    if (rec.readUInt16LE(end) !== usn) return undefined;
    rec.writeUInt16LE(r.u16le(usaOff + i * 2), end);
  }
  let a = r.u16le(0x14);
  for (let n = 0; n < MAX_ATTRS && a + 8 <= rec.length; n++) {
    const type = r.u32le(a);
    if (type === ATTR_END) break;
    const len = r.u32le(a + 4);
    if (len < 16 || a + len > rec.length) break;
    if (type === ATTR_VOLUME_NAME && r.u8(a + 8) === 0) {
      const vlen = r.u32le(a + 0x10);
      const voff = r.u16le(a + 0x14);
      if (voff + vlen > len) return undefined;
      return r.utf16le(a + voff, vlen - (vlen % 2));
    }
    a += len;
  }
  return undefined;
}
