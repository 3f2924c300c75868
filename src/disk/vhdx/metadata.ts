import { BinaryReader } from '../../util/binary.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import type { ByteSource } from '../source.js';
import { KiB, MiB } from './headers.js';

const FILE_PARAMETERS = 'CAA16737-FA36-4D43-B3B6-33F0AA44E76B';
const VIRTUAL_DISK_SIZE = '2FA54224-CD1B-4876-B211-5DBED83BF4B8';
const VIRTUAL_DISK_ID = 'BECA12AB-B2E6-4523-93EF-C309E000C746';
const LOGICAL_SECTOR_SIZE = '8141BF1D-A96F-4709-BA47-F233A8FAAB5F';
const PHYSICAL_SECTOR_SIZE = 'CDA348C7-445D-4471-9CC9-E9885251C556';
const PARENT_LOCATOR = 'A8D35F2D-B30B-454D-ABF7-D3D84834AB0C';
const VHDX_PARENT_LOCATOR_TYPE = 'B04AEFB7-D19E-4A81-B789-25B8E9445913';
const KNOWN = new Set([FILE_PARAMETERS, VIRTUAL_DISK_SIZE, VIRTUAL_DISK_ID, LOGICAL_SECTOR_SIZE, PHYSICAL_SECTOR_SIZE, PARENT_LOCATOR]);

export interface VhdxMetadata {
  blockSize: number;
  leaveBlocksAllocated: boolean;
  hasParent: boolean;
  virtualSize: number;
  virtualDiskId?: string;
  logicalSectorSize: number;
  physicalSectorSize?: number;
  /** Parent locator key/value pairs (parent_linkage, relative_path, volume_path, absolute_win32_path). */
  parentLocator?: Record<string, string>;
}

/** Reads the metadata table and the known items of the metadata region. */
export async function readMetadata(src: ByteSource, regionOffset: number, regionLength: number): Promise<VhdxMetadata> {
  const where = `${src.path}: VHDX metadata region at ${regionOffset}`;
  if (regionLength < 64 * KiB) throw corrupt(`${where}: ${regionLength} bytes is smaller than its 64 KiB table`);
  const head = await src.read(regionOffset, 32);
  if (head.toString('latin1', 0, 8) !== 'metadata') throw corrupt(`${where}: no "metadata" signature`);
  const count = head.readUInt16LE(10);
  if (count > 2047) throw corrupt(`${where}: ${count} entries (at most 2047)`);
  // only the used entries of the 64 KiB table are read
  const table = Buffer.concat([head, await src.read(regionOffset + 32, count * 32)]);
  const r = new BinaryReader(table, `${where} table`);
  const items = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const o = 32 + i * 32;
    const id = r.guid(o);
    const off = r.u32le(o + 16);
    const len = r.u32le(o + 20);
    const flags = r.u32le(o + 24);
    const isUser = (flags & 1) !== 0;
    const required = (flags & 4) !== 0;
    if (isUser) continue;
    if (!KNOWN.has(id)) {
      if (required) throw new GuestkitError('UNSUPPORTED_FORMAT', `${where}: required metadata item ${id} is not known to this reader`);
      continue;
    }
    if (len > MiB || (len > 0 && (off < 64 * KiB || off + len > regionLength))) {
      throw corrupt(`${where}: metadata item ${id} (${len} bytes at ${off}) lies outside the region`);
    }
    items.set(id, len === 0 ? Buffer.alloc(0) : await src.read(regionOffset + off, len));
  }
  const need = (id: string, name: string, min: number): BinaryReader => {
    const b = items.get(id);
    if (!b) throw corrupt(`${where}: required metadata item ${name} is missing`);
    if (b.length < min) throw corrupt(`${where}: metadata item ${name} is ${b.length} bytes, expected ${min}`);
    return new BinaryReader(b, `${where} ${name}`);
  };
  const fp = need(FILE_PARAMETERS, 'File Parameters', 8);
  const blockSize = fp.u32le(0);
  const fpFlags = fp.u32le(4);
  if (blockSize < MiB || blockSize > 256 * MiB || (blockSize & (blockSize - 1)) !== 0) {
    throw corrupt(`${where}: block size ${blockSize} is not a power of two between 1 MiB and 256 MiB`);
  }
  const virtualSize = need(VIRTUAL_DISK_SIZE, 'Virtual Disk Size', 8).u64le(0);
  const logicalSectorSize = need(LOGICAL_SECTOR_SIZE, 'Logical Sector Size', 4).u32le(0);
  if (logicalSectorSize !== 512 && logicalSectorSize !== 4096) throw corrupt(`${where}: logical sector size ${logicalSectorSize} is not 512 or 4096`);
  if (virtualSize <= 0 || virtualSize % logicalSectorSize !== 0 || virtualSize > 64 * 1024 * 1024 * MiB) {
    throw corrupt(`${where}: virtual disk size ${virtualSize} is invalid`);
  }
  const md: VhdxMetadata = {
    blockSize,
    leaveBlocksAllocated: (fpFlags & 1) !== 0,
    hasParent: (fpFlags & 2) !== 0,
    virtualSize,
    logicalSectorSize,
  };
  const id = items.get(VIRTUAL_DISK_ID);
  if (id && id.length >= 16) md.virtualDiskId = new BinaryReader(id).guid(0);
  const pss = items.get(PHYSICAL_SECTOR_SIZE);
  if (pss && pss.length >= 4) md.physicalSectorSize = pss.readUInt32LE(0);
  const pl = items.get(PARENT_LOCATOR);
  if (pl) md.parentLocator = parseParentLocator(pl, where);
  if (md.hasParent && !md.parentLocator) throw corrupt(`${where}: differencing VHDX without a parent locator`);
  return md;
}

function parseParentLocator(b: Buffer, where: string): Record<string, string> {
  const r = new BinaryReader(b, `${where} parent locator`);
  const type = r.guid(0);
  if (type !== VHDX_PARENT_LOCATOR_TYPE) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `${where}: parent locator type ${type} is not a VHDX parent`);
  }
  const count = r.u16le(18);
  const out: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const o = 20 + i * 12;
    const ko = r.u32le(o);
    const vo = r.u32le(o + 4);
    const kl = r.u16le(o + 8);
    const vl = r.u16le(o + 10);
    out[r.utf16le(ko, kl)] = r.utf16le(vo, vl);
  }
  return out;
}
