import { BinaryReader } from '../../util/binary.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';

export const VDI_SIGNATURE = 0xbeda107f;
export const VDI_HEADER_BYTES = 0x200;
export const TYPE_DYNAMIC = 1;
export const TYPE_STATIC = 2;
export const TYPE_UNDO = 3;
export const TYPE_DIFF = 4;
const TYPE_NAMES: Record<number, string> = { 1: 'dynamic', 2: 'static', 3: 'undo', 4: 'differencing' };

/** VirtualBox VDI header v1.1 (little-endian), after the 64-byte text pre-header. */
export interface VdiHeader {
  text: string;
  version: string;
  headerSize: number;
  imageType: number;
  typeName: string;
  flags: number;
  description: string;
  offsetBmap: number;
  offsetData: number;
  sectorSize: number;
  diskSize: number;
  blockSize: number;
  blockExtra: number;
  blocksInImage: number;
  blocksAllocated: number;
  uuidImage: string;
  uuidLastSnap: string;
  uuidLink: string;
  uuidParent: string;
}

export function hasVdiSignature(head: Buffer): boolean {
  return head.length >= 0x48 && head.readUInt32LE(0x40) === VDI_SIGNATURE;
}

export function parseVdiHeader(buf: Buffer, path: string): VdiHeader {
  const r = new BinaryReader(buf, `${path}: VDI header`);
  if (!hasVdiSignature(buf)) throw corrupt(`${path}: no VDI signature 0xbeda107f at 0x40`);
  const version = r.u32le(0x44);
  if (version !== 0x00010001) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${path}: VDI version ${version >>> 16}.${version & 0xffff} is not supported (only 1.1)`);
  }
  const imageType = r.u32le(0x4c);
  return {
    text: r.cstring(0, 0x40).trim(),
    version: '1.1',
    headerSize: r.u32le(0x48),
    imageType,
    typeName: TYPE_NAMES[imageType] ?? `type ${imageType}`,
    flags: r.u32le(0x50),
    description: r.cstring(0x54, 256),
    offsetBmap: r.u32le(0x154),
    offsetData: r.u32le(0x158),
    sectorSize: r.u32le(0x168),
    diskSize: r.u64le(0x170),
    blockSize: r.u32le(0x178),
    blockExtra: r.u32le(0x17c),
    blocksInImage: r.u32le(0x180),
    blocksAllocated: r.u32le(0x184),
    uuidImage: r.uuid(0x188),
    uuidLastSnap: r.uuid(0x198),
    uuidLink: r.uuid(0x1a8),
    uuidParent: r.uuid(0x1b8),
  };
}
