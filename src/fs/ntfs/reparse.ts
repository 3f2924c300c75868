import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';

export const REPARSE_TAG = {
  MOUNT_POINT: 0xa0000003,
  SYMLINK: 0xa000000c,
  /** WSL symlink: UTF-8 target. */
  LX_SYMLINK: 0xa000001d,
} as const;

/**
 * Tags whose file contents live elsewhere (WOF/CompactOS compressed streams, the
 * deduplication chunk store, HSM): the unnamed $DATA is a sparse placeholder, so
 * reading it would silently give zeros.
 */
const DATA_ELSEWHERE: Record<number, string> = {
  0x80000017: 'WOF (CompactOS system compression)',
  0x80000013: 'Data Deduplication',
  0xc0000004: 'HSM',
  0x80000006: 'HSM2',
};

export function dataElsewhere(tag: number): string | undefined {
  return DATA_ELSEWHERE[tag];
}

export function isLinkTag(tag: number): boolean {
  return tag === REPARSE_TAG.MOUNT_POINT || tag === REPARSE_TAG.SYMLINK || tag === REPARSE_TAG.LX_SYMLINK;
}

export interface ReparsePoint {
  tag: number;
  /** Guest path for link tags (symlink, junction, WSL link). */
  target?: string;
}

/**
 * A Windows target as a guest path: `\??\C:\foo\bar` → `/foo/bar`,
 * `\??\UNC\srv\share` → `//srv/share`, relative `..\x` → `../x`.
 */
export function windowsTargetToGuest(target: string, relative: boolean): string {
  let t = target;
  if (!relative) {
    if (t.startsWith('\\??\\') || t.startsWith('\\\\?\\') || t.startsWith('\\\\.\\')) t = t.slice(4);
    if (/^UNC\\/i.test(t)) return '//' + t.slice(4).replace(/\\/g, '/');
    if (/^[A-Za-z]:/.test(t)) t = t.slice(2);
    else if (/^Volume\{[^}]*\}/i.test(t)) t = t.replace(/^Volume\{[^}]*\}/i, '');
  }
  t = t.replace(/\\/g, '/');
  if (!relative && !t.startsWith('/')) t = '/' + t;
  return t;
}

export function parseReparsePoint(buf: Buffer, what: string): ReparsePoint {
  const r = new BinaryReader(buf, what);
  const tag = r.u32le(0);
  const dataLen = r.u16le(4);
  if (8 + dataLen > buf.length) throw corrupt(`${what}: reparse data of ${dataLen} bytes is cut off`);
  const data = new BinaryReader(r.bytes(8, dataLen), what);
  if (tag === REPARSE_TAG.SYMLINK || tag === REPARSE_TAG.MOUNT_POINT) {
    const substOff = data.u16le(0);
    const substLen = data.u16le(2);
    const printOff = data.u16le(4);
    const printLen = data.u16le(6);
    const pathBase = tag === REPARSE_TAG.SYMLINK ? 12 : 8;
    const relative = tag === REPARSE_TAG.SYMLINK && (data.u32le(8) & 1) !== 0;
    // The substitute name is authoritative; the print name is for display only.
    const useSubst = substLen > 0;
    const raw = useSubst
      ? data.utf16le(pathBase + substOff, substLen)
      : data.utf16le(pathBase + printOff, printLen);
    return { tag, target: windowsTargetToGuest(raw, relative) };
  }
  if (tag === REPARSE_TAG.LX_SYMLINK) {
    if (data.u32le(0) !== 2) throw corrupt(`${what}: WSL symlink version ${data.u32le(0)}`);
    return { tag, target: data.bytes(4, dataLen - 4).toString('utf8') };
  }
  return { tag };
}

/** Interix (SFU) special files as ntfs-3g writes them: a SYSTEM file whose data starts with a magic. */
export const INTX = {
  SYMLINK: Buffer.from('IntxLNK\x01', 'latin1'),
  CHARDEV: Buffer.from('IntxCHR\x00', 'latin1'),
  BLOCKDEV: Buffer.from('IntxBLK\x00', 'latin1'),
} as const;
