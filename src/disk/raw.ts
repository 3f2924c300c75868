import { corrupt } from '../protocol/errors.js';
import { FileSource } from './file-source.js';
import type { ImageDevice, ImageFormat, ImageInfo, OpenContext } from './image.js';
import { allocatedBytes } from './source.js';
import type { BlockDevice, ReadStats } from './types.js';

/** A raw image: guest byte N is file byte N. */
export class RawDevice implements ImageDevice {
  readonly format = 'raw';
  constructor(
    private readonly src: FileSource,
    readonly size: number = src.size,
    readonly name: string = src.path,
    /** Bytes the file really occupies on the host (sparse files are smaller than `size`). */
    private readonly allocated: number = src.size,
  ) {}

  static async open(path: string, stats?: ReadStats): Promise<RawDevice> {
    const src = await FileSource.open(path, stats);
    return new RawDevice(src, src.size, src.path, await allocatedBytes(src));
  }

  async read(offset: number, length: number): Promise<Buffer> {
    checkDeviceRead(this, offset, length);
    // A raw file shorter than its stated size (flat extents) reads as zeros past EOF.
    return this.src.read(offset, length, true);
  }

  info(): ImageInfo {
    return { filename: this.name, format: 'raw', virtual_size: this.size, actual_size: this.allocated };
  }

  async close(): Promise<void> {
    await this.src.close();
  }
}

/** Raw has no magic: it is what detection falls back to, so its probe accepts anything. */
export const rawFormat: ImageFormat = {
  name: 'raw',
  probe: () => true,
  open: (path: string, ctx: OpenContext) => RawDevice.open(path, ctx.stats),
};

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

export type { BlockDevice };
