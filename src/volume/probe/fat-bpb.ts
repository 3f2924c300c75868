import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { isPowerOf2, trimLabel } from './context.js';

/*
 * The one parser of the FAT boot sector (BPB and extended boot record), for both its readers:
 * probing (blkid-like, lenient: "does this look like FAT?", src/volume/probe/fat.ts and the
 * partition-table reader) and the FAT driver (strict: every field it relies on is checked,
 * src/fs/fat). It lives in volume because fs may import volume, never the other way round.
 */

export type FatType = 12 | 16 | 32;

/** Every field of a FAT boot sector, decoded as it is (nothing judged yet), and the geometry it implies. */
export interface FatBpb {
  oemName: string;
  bytesPerSector: number;
  sectorsPerCluster: number;
  reservedSectors: number;
  numFats: number;
  rootEntries: number;
  /** The 16-bit count, or the 32-bit one when that is 0. */
  totalSectors: number;
  media: number;
  /** The 16-bit FAT size field (0 in a FAT32 BPB). */
  fat16Sectors: number;
  /** Sectors per FAT: the 16-bit field, or FAT32's 32-bit one when that is 0. */
  fatSectors: number;
  /** The BPB has FAT32's layout (16-bit FAT size 0): its extended boot record is at 0x40, not 0x24. */
  fat32Layout: boolean;
  /** FAT32 BPB: first cluster of the root directory, raw (top 4 bits not masked). Other bytes in a FAT12/16 BPB. */
  rootCluster: number;
  /** FAT32 BPB: sector of the FSInfo structure. Other bytes in a FAT12/16 BPB. */
  fsInfoSector: number;
  /** Extended boot record (at the layout's offset): signature byte (0x29 when serial and label are set), serial, label. */
  extSignature: number;
  volumeId: number;
  /** Boot-sector label as blkid reads it (cut at a NUL, trailing spaces removed; "NO NAME" when unset). */
  bootLabel: string;
  /** Sectors of the fixed FAT12/16 root directory. */
  rootDirSectors: number;
  /** First sector of cluster 2 (after the reserved area, the FATs and the fixed root directory). */
  firstDataSector: number;
  /** Data clusters (0 or less when the metadata fills the volume). */
  clusterCount: number;
}

/** Decodes sector 0 as a FAT boot sector without judging it; null when shorter than 512 bytes. */
export function decodeFatBpb(sector: Buffer): FatBpb | null {
  if (sector.length < 512) return null;
  const r = new BinaryReader(sector, 'FAT boot sector');
  const bytesPerSector = r.u16le(0x0b);
  const sectorsPerCluster = r.u8(0x0d);
  const reservedSectors = r.u16le(0x0e);
  const numFats = r.u8(0x10);
  const rootEntries = r.u16le(0x11);
  const totalSectors = r.u16le(0x13) || r.u32le(0x20);
  const fat16Sectors = r.u16le(0x16);
  const fatSectors = fat16Sectors || r.u32le(0x24);
  const fat32Layout = fat16Sectors === 0;
  const ext = fat32Layout ? 0x40 : 0x24; // drive number; signature at +2, serial at +3, label at +7
  const rootDirSectors = bytesPerSector > 0 ? Math.ceil((rootEntries * 32) / bytesPerSector) : 0;
  const firstDataSector = reservedSectors + numFats * fatSectors + rootDirSectors;
  return {
    oemName: r.bytes(3, 8).toString('latin1').trimEnd(),
    bytesPerSector,
    sectorsPerCluster,
    reservedSectors,
    numFats,
    rootEntries,
    totalSectors,
    media: r.u8(0x15),
    fat16Sectors,
    fatSectors,
    fat32Layout,
    rootCluster: r.u32le(0x2c),
    fsInfoSector: r.u16le(0x30),
    extSignature: r.u8(ext + 2),
    volumeId: r.u32le(ext + 3),
    bootLabel: trimLabel(r.bytes(ext + 7, 11)),
    rootDirSectors,
    firstDataSector,
    clusterCount: sectorsPerCluster > 0 ? Math.floor((totalSectors - firstDataSector) / sectorsPerCluster) : 0,
  };
}

/**
 * blkid's test of a FAT boot sector: sector size a power of two in 512..4096, a power-of-two
 * cluster size, reserved sectors and FATs present, a valid media byte, a non-zero FAT size.
 */
export function looksLikeFat(b: FatBpb): boolean {
  if (!isPowerOf2(b.bytesPerSector) || b.bytesPerSector < 512 || b.bytesPerSector > 4096) return false;
  if (!isPowerOf2(b.sectorsPerCluster) || b.reservedSectors === 0 || b.numFats === 0) return false;
  if (!(b.media >= 0xf8 || b.media === 0xf0)) return false;
  return b.fatSectors !== 0;
}

/** Sector 0 decoded when it looks like a FAT boot sector (blkid's test), else null. */
export function parseFatBpb(sector: Buffer): FatBpb | null {
  const b = decodeFatBpb(sector);
  return b && looksLikeFat(b) ? b : null;
}

/** The FAT type follows from the cluster count alone, as the specification says. */
export function fatTypeOf(clusterCount: number): FatType {
  return clusterCount < 4085 ? 12 : clusterCount < 65525 ? 16 : 32;
}

/** A FAT boot sector the driver can rely on (every field checked). */
export interface BootSector {
  bytesPerSector: number;
  sectorsPerCluster: number;
  clusterSize: number;
  reservedSectors: number;
  numFats: number;
  rootEntries: number;
  totalSectors: number;
  fatSectors: number;
  /** Byte offset of the first FAT. */
  fatOffset: number;
  /** FAT12/16: byte offset and size of the fixed root directory region. */
  rootDirOffset: number;
  rootDirBytes: number;
  /** Byte offset of cluster 2. */
  dataOffset: number;
  clusterCount: number;
  fatType: FatType;
  /** FAT32: first cluster of the root directory. */
  rootCluster: number;
  fsInfoSector: number;
  volumeId?: number;
  /** Label in the extended boot record ("NO NAME" when unset). */
  bootLabel?: string;
  oemName: string;
}

/** Parses and checks the BPB for the driver (CORRUPT_IMAGE naming the bad field's byte); the FAT type follows from the cluster count. */
export function parseBootSector(buf: Buffer, devName: string, devSize: number): BootSector {
  const bad = (what: string, offset: number) => corrupt(`${devName}: FAT boot sector: ${what} (byte ${offset})`, { device: devName, offset });
  const b = decodeFatBpb(buf);
  if (!b) throw bad(`only ${buf.length} bytes, not a 512-byte sector`, 0);
  const { bytesPerSector, sectorsPerCluster, reservedSectors, numFats, rootEntries, totalSectors, fatSectors, firstDataSector, clusterCount } = b;
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) throw bad(`bytes per sector ${bytesPerSector} is not 512, 1024, 2048 or 4096`, 11);
  if (!isPowerOf2(sectorsPerCluster)) throw bad(`sectors per cluster ${sectorsPerCluster} is not a power of two`, 13);
  if (reservedSectors === 0) throw bad('reserved sector count is 0', 14);
  if (numFats === 0 || numFats > 4) throw bad(`number of FATs ${numFats} is invalid`, 16);
  if (totalSectors === 0) throw bad('total sector count is 0', 19);
  if (fatSectors === 0) throw bad('FAT size is 0 sectors', 22);
  if (firstDataSector >= totalSectors) throw bad(`metadata (${firstDataSector} sectors) fills the whole volume of ${totalSectors} sectors`, 19);
  if (clusterCount === 0) throw bad('the volume has no data clusters', 13);
  const fatType = fatTypeOf(clusterCount);
  if (fatSectors * bytesPerSector * 8 < (clusterCount + 2) * fatType) {
    throw bad(`FAT of ${fatSectors} sectors cannot describe ${clusterCount} clusters`, b.fat16Sectors ? 22 : 36);
  }
  if (fatType !== 32 && rootEntries === 0) throw bad(`FAT${fatType} volume without root directory entries`, 17);

  let rootCluster = 0;
  let fsInfoSector = 0;
  if (fatType === 32) {
    rootCluster = b.rootCluster & 0x0fffffff;
    if (rootCluster < 2 || rootCluster > clusterCount + 1) throw bad(`root directory cluster ${rootCluster} lies outside 2..${clusterCount + 1}`, 44);
    fsInfoSector = b.fsInfoSector;
  }
  if (reservedSectors * bytesPerSector > devSize) throw bad(`reserved area exceeds the ${devSize}-byte device`, 14);
  const ext = b.extSignature === 0x29;
  return {
    bytesPerSector,
    sectorsPerCluster,
    clusterSize: bytesPerSector * sectorsPerCluster,
    reservedSectors,
    numFats,
    rootEntries,
    totalSectors,
    fatSectors,
    fatOffset: reservedSectors * bytesPerSector,
    rootDirOffset: (reservedSectors + numFats * fatSectors) * bytesPerSector,
    rootDirBytes: rootEntries * 32,
    dataOffset: firstDataSector * bytesPerSector,
    clusterCount,
    fatType,
    rootCluster,
    fsInfoSector,
    volumeId: ext ? b.volumeId : undefined,
    bootLabel: ext ? b.bootLabel : undefined,
    oemName: b.oemName,
  };
}

/** Volume serial as blkid shows it: XXXX-XXXX. */
export function volumeIdText(id: number): string {
  const h = (id >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `${h.slice(0, 4)}-${h.slice(4)}`;
}
