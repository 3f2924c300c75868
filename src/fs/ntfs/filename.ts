import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import { refRecord } from './mft-record.js';

export const NAMESPACE = { POSIX: 0, WIN32: 1, DOS: 2, WIN32_AND_DOS: 3 } as const;

/** $FILE_NAME flag for directories (the index copy of it carries the type). */
export const FILE_NAME_FLAG_DIRECTORY = 0x10000000;

export interface FileName {
  parentRecNo: number;
  /** FILE_ATTRIBUTE_* flags (may be stale in index copies). */
  flags: number;
  /** Reparse tag, when flags has FILE_ATTRIBUTE_REPARSE_POINT. */
  reparseTag: number;
  namespace: number;
  name: string;
}

/** Parses a $FILE_NAME value (an attribute, or the key of a directory index entry). */
export function parseFileName(buf: Buffer, what: string): FileName {
  const r = new BinaryReader(buf, what);
  const nameLen = r.u8(64);
  const namespace = r.u8(65);
  if (nameLen === 0) throw corrupt(`${what}: empty file name`);
  if (namespace > 3) throw corrupt(`${what}: file name namespace ${namespace}`);
  return {
    parentRecNo: refRecord(r.u64leBig(0)),
    flags: r.u32le(56),
    reparseTag: r.u32le(60),
    namespace,
    name: r.utf16le(66, nameLen * 2),
  };
}
