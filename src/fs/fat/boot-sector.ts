import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

export type FatType = 12 | 16 | 32;

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

/** Parses and checks the BPB; the FAT type follows from the cluster count alone, as the specification says. */
export function parseBootSector(buf: Buffer, devName: string, devSize: number): BootSector {
  const r = new BinaryReader(buf, 'FAT boot sector');
  const bad = (what: string, offset: number) => corrupt(`${devName}: FAT boot sector: ${what} (byte ${offset})`, { device: devName, offset });
  const bytesPerSector = r.u16le(11);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) throw bad(`bytes per sector ${bytesPerSector} is not 512, 1024, 2048 or 4096`, 11);
  const sectorsPerCluster = r.u8(13);
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) throw bad(`sectors per cluster ${sectorsPerCluster} is not a power of two`, 13);
  const reservedSectors = r.u16le(14);
  if (reservedSectors === 0) throw bad('reserved sector count is 0', 14);
  const numFats = r.u8(16);
  if (numFats === 0 || numFats > 4) throw bad(`number of FATs ${numFats} is invalid`, 16);
  const rootEntries = r.u16le(17);
  const totalSectors = r.u16le(19) || r.u32le(32);
  if (totalSectors === 0) throw bad('total sector count is 0', 19);
  const fat16Size = r.u16le(22);
  const fatSectors = fat16Size || r.u32le(36);
  if (fatSectors === 0) throw bad('FAT size is 0 sectors', 22);

  const rootDirSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const firstDataSector = reservedSectors + numFats * fatSectors + rootDirSectors;
  if (firstDataSector >= totalSectors) throw bad(`metadata (${firstDataSector} sectors) fills the whole volume of ${totalSectors} sectors`, 19);
  const clusterCount = Math.floor((totalSectors - firstDataSector) / sectorsPerCluster);
  if (clusterCount === 0) throw bad('the volume has no data clusters', 13);
  const fatType: FatType = clusterCount < 4085 ? 12 : clusterCount < 65525 ? 16 : 32;
  const fatBits = fatType === 12 ? 12 : fatType === 16 ? 16 : 32;
  if (fatSectors * bytesPerSector * 8 < (clusterCount + 2) * fatBits) {
    throw bad(`FAT of ${fatSectors} sectors cannot describe ${clusterCount} clusters`, fat16Size ? 22 : 36);
  }
  if (fatType !== 32 && rootEntries === 0) throw bad(`FAT${fatType} volume without root directory entries`, 17);

  const extOff = fatType === 32 ? 64 : 36; // drive number; signature at +2
  let volumeId: number | undefined;
  let bootLabel: string | undefined;
  if (r.u8(extOff + 2) === 0x29) {
    volumeId = r.u32le(extOff + 3);
    bootLabel = r.bytes(extOff + 7, 11).toString('latin1').replace(/[ \0]+$/, '');
  }
  let rootCluster = 0;
  let fsInfoSector = 0;
  if (fatType === 32) {
    rootCluster = r.u32le(44) & 0x0fffffff;
    if (rootCluster < 2 || rootCluster > clusterCount + 1) throw bad(`root directory cluster ${rootCluster} lies outside 2..${clusterCount + 1}`, 44);
    fsInfoSector = r.u16le(48);
  }
  if (reservedSectors * bytesPerSector > devSize) throw bad(`reserved area exceeds the ${devSize}-byte device`, 14);
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
    volumeId,
    bootLabel,
    oemName: r.bytes(3, 8).toString('latin1').trimEnd(),
  };
}

/** Volume serial as blkid shows it: XXXX-XXXX. */
export function volumeIdText(id: number): string {
  const h = (id >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `${h.slice(0, 4)}-${h.slice(4)}`;
}
