import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

export const EXTENT_INLINE = 0;
export const EXTENT_REG = 1;
export const EXTENT_PREALLOC = 2;

/** One EXTENT_DATA item: file bytes [fileOff, fileOff+len). */
export interface FileExtent {
  fileOff: number;
  len: number;
  kind: number;
  compression: number;
  ramBytes: number;
  /** Inline: the stored (maybe compressed) bytes. */
  inline?: Buffer;
  /** Regular: logical address and size of the whole on-disk extent; 0 = hole. */
  diskBytenr: number;
  diskNumBytes: number;
  /** Offset into the (decompressed) extent where this file range starts. */
  extOffset: number;
}

export function parseFileExtent(data: Buffer, fileOff: number, what: string): FileExtent {
  const r = new BinaryReader(data, `btrfs ${what}`);
  const ramBytes = r.u64le(8);
  const compression = r.u8(16);
  if (r.u8(17) !== 0 || r.u16le(18) !== 0) throw corrupt(`btrfs: ${what}: encrypted or encoded extents are not supported`);
  const kind = r.u8(20);
  if (kind === EXTENT_INLINE) {
    const inline = r.bytes(21, data.length - 21);
    return { fileOff, len: compression ? ramBytes : inline.length, kind, compression, ramBytes, inline, diskBytenr: 0, diskNumBytes: 0, extOffset: 0 };
  }
  if (kind !== EXTENT_REG && kind !== EXTENT_PREALLOC) throw corrupt(`btrfs: ${what}: unknown extent type ${kind}`);
  const e: FileExtent = {
    fileOff,
    kind,
    compression,
    ramBytes,
    diskBytenr: r.u64le(21),
    diskNumBytes: r.u64le(29),
    extOffset: r.u64le(37),
    len: r.u64le(45),
  };
  if (e.diskBytenr !== 0 && compression !== 0 && e.extOffset + e.len > ramBytes) {
    throw corrupt(`btrfs: ${what}: range ${e.extOffset}+${e.len} lies outside the ${ramBytes}-byte extent`);
  }
  return e;
}
