import { corrupt } from '../protocol/errors.js';
import { FileSource } from './file-source.js';
import type { BlockDevice, ReadStats } from './types.js';

/** A raw image: guest byte N is file byte N. */
export class RawDevice implements BlockDevice {
  readonly format = 'raw';
  constructor(
    private readonly src: FileSource,
    readonly size: number = src.size,
    readonly name: string = src.path,
  ) {}

  static async open(path: string, stats?: ReadStats): Promise<RawDevice> {
    return new RawDevice(await FileSource.open(path, stats));
  }

  async read(offset: number, length: number): Promise<Buffer> {
    checkDeviceRead(this, offset, length);
    // A raw file shorter than its stated size (flat extents) reads as zeros past EOF.
    return this.src.read(offset, length, true);
  }

  async close(): Promise<void> {
    await this.src.close();
  }
}

/** Shared guard: every device read must lie within the device. */
export function checkDeviceRead(dev: { size: number; name: string }, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > dev.size) {
    throw corrupt(`${dev.name}: read ${offset}+${length} is outside the device (${dev.size} bytes)`, {
      device: dev.name,
      offset,
      length,
      size: dev.size,
    });
  }
}
