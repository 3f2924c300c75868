import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawDevice, checkDeviceRead } from '../../src/disk/raw.js';
import type { BlockDevice } from '../../src/disk/types.js';
import type { ProbeResult } from '../../src/volume/probe.js';

/** test/fixtures/out/volume, built by test/fixtures/volume/build.sh. Works from src (tsx) and dist. */
export const FIX = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      readFileSync(join(d, 'package.json'));
      return join(d, 'test/fixtures/out/volume');
    } catch {
      d = dirname(d);
    }
  }
  throw new Error('package.json not found above the test file');
})();

export function fix(...p: string[]): string {
  return join(FIX, ...p);
}

export async function openRaw(...p: string[]): Promise<RawDevice> {
  return RawDevice.open(fix(...p));
}

/** Parses `blkid -p -o export` output (values escape spaces with backslashes). */
export function readBlkid(...p: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(fix(...p), 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out[line.slice(0, eq)] = line.slice(eq + 1).replace(/\\(.)/g, '$1');
  }
  return out;
}

/** What our probe should say, from blkid's fields (blkid calls swap's usage "other"). */
export function expectedProbe(b: Record<string, string>): Pick<ProbeResult, 'type' | 'uuid' | 'label' | 'version' | 'usage'> {
  const e: Pick<ProbeResult, 'type' | 'uuid' | 'label' | 'version' | 'usage'> = {
    type: b['TYPE']!,
    usage: (b['TYPE'] === 'swap' ? 'swap' : b['USAGE']) as ProbeResult['usage'],
  };
  if (b['UUID']) e.uuid = b['UUID'];
  if (b['LABEL']) e.label = b['LABEL'];
  if (b['VERSION']) e.version = b['VERSION'];
  return e;
}

export function pickProbe(p: ProbeResult | null): Pick<ProbeResult, 'type' | 'uuid' | 'label' | 'version' | 'usage'> | null {
  if (!p) return null;
  const e: Pick<ProbeResult, 'type' | 'uuid' | 'label' | 'version' | 'usage'> = { type: p.type, usage: p.usage };
  if (p.uuid) e.uuid = p.uuid;
  if (p.label) e.label = p.label;
  if (p.version) e.version = p.version;
  return e;
}

export function readJson<T = any>(...p: string[]): T {
  return JSON.parse(readFileSync(fix(...p), 'utf8')) as T;
}

/** A device with some bytes replaced: damaged variants of real images without copying them. */
export class PatchedDevice implements BlockDevice {
  readonly patches: { offset: number; data: Buffer }[] = [];
  size: number;
  constructor(
    private readonly base: BlockDevice,
    readonly name = base.name,
  ) {
    this.size = base.size;
  }
  /** Pretends the device ends at `size` (a truncated image). */
  truncate(size: number): this {
    this.size = size;
    return this;
  }
  patch(offset: number, data: Buffer): this {
    this.patches.push({ offset, data });
    return this;
  }
  async read(offset: number, length: number): Promise<Buffer> {
    checkDeviceRead(this, offset, length);
    const buf = Buffer.from(await this.base.read(offset, length));
    for (const p of this.patches) {
      const s = Math.max(offset, p.offset);
      const e = Math.min(offset + length, p.offset + p.data.length);
      if (s < e) p.data.copy(buf, s - offset, s - p.offset, e - p.offset);
    }
    return buf;
  }
  async close(): Promise<void> {
    await this.base.close();
  }
}

export function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
export function u64le(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}
