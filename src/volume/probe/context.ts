import type { BlockDevice } from '../../disk/types.js';
import { BinaryReader } from '../../util/binary.js';

export type Usage = 'filesystem' | 'swap' | 'crypto' | 'raid' | 'other';

/** What a signature says about a device, as `blkid -p` would (type names are blkid's). */
export interface ProbeResult {
  type: string;
  usage: Usage;
  uuid?: string;
  label?: string;
  version?: string;
  /** Per-device UUID of a multi-device filesystem (Btrfs UUID_SUB). */
  uuid_sub?: string;
  block_size?: number;
  /** A partition table is present too (on whole disks). */
  pttype?: 'dos' | 'gpt';
  /** BitLocker: what its FVE metadata says (absent fields: the metadata could not be read). */
  bitlocker?: { to_go?: boolean; volume_id?: string; encryption_method?: string; key_protectors?: string[]; description?: string };
}

/** The first bytes every prober looks at; one read serves them all. */
export const HEAD_BYTES = 8192;

/**
 * Reads for the probers: the device's first 8 KiB once, other small regions on demand
 * (cached), so probing reads a few KiB rather than the device.
 */
export class ProbeContext {
  private headBuf?: Buffer;
  private readonly regions = new Map<string, Buffer>();
  constructor(readonly dev: BlockDevice) {}

  /** Bytes `off..off+len`, or null when the device is shorter than that. */
  async at(off: number, len: number): Promise<Buffer | null> {
    if (!Number.isSafeInteger(off) || off < 0 || len < 0 || off + len > this.dev.size) return null;
    if (off + len <= HEAD_BYTES) {
      this.headBuf ??= await this.dev.read(0, Math.min(HEAD_BYTES, this.dev.size));
      return this.headBuf.subarray(off, off + len);
    }
    const key = `${off}:${len}`;
    let b = this.regions.get(key);
    if (!b) {
      b = await this.dev.read(off, len);
      if (this.regions.size < 64) this.regions.set(key, b);
    }
    return b;
  }

  async reader(off: number, len: number, what: string): Promise<BinaryReader | null> {
    const b = await this.at(off, len);
    return b ? new BinaryReader(b, what) : null;
  }
}

/** Latin-1 text cut at the first NUL, trailing spaces removed (how blkid stores labels). */
export function trimLabel(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1').replace(/ +$/, '');
}

export function utf16Label(b: Buffer): string {
  const s = b.toString('utf16le');
  const nul = s.indexOf('\u0000');
  return nul < 0 ? s : s.slice(0, nul);
}

export function isPowerOf2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** Drops undefined/empty optional fields so results compare cleanly. */
export function result(r: ProbeResult): ProbeResult {
  const out: ProbeResult = { type: r.type, usage: r.usage };
  if (r.uuid) out.uuid = r.uuid;
  if (r.label) out.label = r.label;
  if (r.version) out.version = r.version;
  if (r.uuid_sub) out.uuid_sub = r.uuid_sub;
  if (r.block_size) out.block_size = r.block_size;
  if (r.pttype) out.pttype = r.pttype;
  if (r.bitlocker) out.bitlocker = r.bitlocker;
  return out;
}

/** A UUID stored as 16 bytes that are all zero means "none". */
export function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}
