import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

export interface BootSector {
  bytesPerSector: number;
  clusterSize: number;
  totalClusters: number;
  mftLcn: number;
  mftMirrLcn: number;
  mftRecordSize: number;
  indexBlockSize: number;
  /** Volume serial as blkid prints it: 16 upper-case hex digits. */
  serial: string;
}

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

/** Clusters-per-record fields: positive = clusters, negative = 2^-n bytes. */
function recordBytes(raw: number, clusterSize: number, what: string): number {
  const v = raw > 127 ? raw - 256 : raw;
  if (v > 0) return v * clusterSize;
  if (v < 0 && v >= -31) return 2 ** -v;
  throw corrupt(`NTFS boot sector: ${what} field is ${raw}`);
}

export function parseBootSector(buf: Buffer, deviceSize: number): BootSector {
  const r = new BinaryReader(buf, 'NTFS boot sector');
  if (r.cstring(3, 8) !== 'NTFS    ') throw corrupt('NTFS boot sector: OEM id is not "NTFS    "');
  if (r.u16le(510) !== 0xaa55) throw corrupt('NTFS boot sector: missing 0x55AA signature');
  const bytesPerSector = r.u16le(0x0b);
  if (!isPow2(bytesPerSector) || bytesPerSector < 256 || bytesPerSector > 4096) {
    throw corrupt(`NTFS boot sector: ${bytesPerSector} bytes per sector`);
  }
  const spcRaw = r.u8(0x0d);
  // Values above 0x80 encode 2^(256-v) sectors per cluster (clusters > 64 KiB).
  const spc = spcRaw > 0x80 ? 2 ** (256 - spcRaw) : spcRaw;
  if (!isPow2(spc)) throw corrupt(`NTFS boot sector: ${spcRaw} sectors per cluster`);
  const clusterSize = bytesPerSector * spc;
  if (clusterSize > 2 * 1024 * 1024) throw corrupt(`NTFS boot sector: cluster size ${clusterSize} is too large`);
  const totalSectors = r.u64le(0x28);
  const totalClusters = Math.floor((totalSectors * bytesPerSector) / clusterSize);
  if (totalClusters < 16) throw corrupt(`NTFS boot sector: volume of ${totalSectors} sectors is too small`);
  if (totalSectors * bytesPerSector > deviceSize + clusterSize) {
    throw corrupt(`NTFS boot sector: volume (${totalSectors * bytesPerSector} bytes) is larger than its device (${deviceSize} bytes)`);
  }
  const mftLcn = r.u64le(0x30);
  const mftMirrLcn = r.u64le(0x38);
  if (mftLcn === 0 || mftLcn >= totalClusters) throw corrupt(`NTFS boot sector: $MFT cluster ${mftLcn} is outside the volume`);
  const mftRecordSize = recordBytes(r.u8(0x40), clusterSize, 'MFT record size');
  // Real volumes use 1 KiB (or 4 KiB on 4K-sector disks); anything else is a damaged field.
  if (!isPow2(mftRecordSize) || mftRecordSize < 1024 || mftRecordSize > 4096) {
    throw corrupt(`NTFS boot sector: MFT record size ${mftRecordSize} is outside 1–4 KiB`);
  }
  const indexBlockSize = recordBytes(r.u8(0x44), clusterSize, 'index block size');
  if (!isPow2(indexBlockSize) || indexBlockSize < 512 || indexBlockSize > 65536) {
    throw corrupt(`NTFS boot sector: index block size ${indexBlockSize} is outside 512 B–64 KiB`);
  }
  const serial = r.u64leBig(0x48).toString(16).toUpperCase().padStart(16, '0');
  return { bytesPerSector, clusterSize, totalClusters, mftLcn, mftMirrLcn, mftRecordSize, indexBlockSize, serial };
}
