import { checkDeviceRead } from './raw.js';
import type { BlockDevice } from './types.js';
import type { ByteSource } from './source.js';

/**
 * How one stretch of guest bytes is stored. Sparse readers (VMDK, VHD, VHDX, VDI)
 * map a guest offset to one of these; `readMapped` turns the runs into reads,
 * merging neighbours that are contiguous in the same file into one read.
 */
export type Mapping =
  | { kind: 'zero' }
  /** Guest bytes are `src` bytes starting at `offset`. */
  | { kind: 'data'; src: ByteSource; offset: number }
  /** Read from the parent/backing image at the same guest offset (zeros when there is none). */
  | { kind: 'parent' }
  /** Anything else (a compressed grain): `read(len)` returns the run's first `len` bytes. */
  | { kind: 'custom'; read: (len: number) => Promise<Buffer> };

export interface MappedDevice {
  readonly size: number;
  readonly name: string;
  readonly backing?: BlockDevice;
  /** Mapping at `offset` and for how many bytes (1..maxLen) it holds. */
  map(offset: number, maxLen: number): Promise<{ m: Mapping; len: number }>;
}

export async function readMapped(dev: MappedDevice, offset: number, length: number): Promise<Buffer> {
  checkDeviceRead(dev, offset, length);
  if (length === 0) return Buffer.alloc(0);
  // the common case, one run of file data, is the file read itself (no copy)
  const firstMap = await dev.map(offset, length);
  if (firstMap.m.kind === 'data' && firstMap.len >= length) return firstMap.m.src.read(firstMap.m.offset, length);
  const out = Buffer.alloc(length);
  let pos = 0;
  let pending: { m: Mapping; len: number } | null = firstMap;
  // a pending run of file data or parent data, flushed when the next piece does not continue it
  let run: { kind: 'data' | 'parent'; src?: ByteSource; fileOff: number; outPos: number; len: number } | null = null;
  const flush = async () => {
    if (!run) return;
    const r = run;
    run = null;
    if (r.kind === 'data') {
      (await r.src!.read(r.fileOff, r.len)).copy(out, r.outPos);
    } else if (dev.backing) {
      const guest = offset + r.outPos;
      const have = Math.min(r.len, Math.max(0, dev.backing.size - guest));
      // a smaller parent reads as zeros past its end
      if (have > 0) (await dev.backing.read(guest, have)).copy(out, r.outPos);
    }
  };
  while (pos < length) {
    const { m, len: l } = pending ?? (await dev.map(offset + pos, length - pos));
    pending = null;
    const len = Math.min(Math.max(1, Math.floor(l)), length - pos);
    if (m.kind === 'data' && run?.kind === 'data' && run.src === m.src && run.fileOff + run.len === m.offset) {
      run.len += len;
    } else if (m.kind === 'parent' && run?.kind === 'parent') {
      run.len += len;
    } else {
      await flush();
      if (m.kind === 'data') run = { kind: 'data', src: m.src, fileOff: m.offset, outPos: pos, len };
      else if (m.kind === 'parent') run = { kind: 'parent', fileOff: 0, outPos: pos, len };
      else if (m.kind === 'custom') (await m.read(len)).copy(out, pos, 0, len);
    }
    pos += len;
  }
  await flush();
  return out;
}
