import { checkDeviceRead } from '../disk/raw.js';
import type { BlockDevice } from '../disk/types.js';
import { corrupt } from '../protocol/errors.js';

/** A window of another device: a partition. Closing it leaves the parent open. */
export class SliceDevice implements BlockDevice {
  constructor(
    private readonly parent: BlockDevice,
    readonly start: number,
    readonly size: number,
    readonly name: string,
  ) {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(size) || start < 0 || size < 0 || start + size > parent.size) {
      throw corrupt(`${name}: range ${start}+${size} lies outside ${parent.name} (${parent.size} bytes)`);
    }
  }

  read(offset: number, length: number): Promise<Buffer> {
    checkDeviceRead(this, offset, length);
    return this.parent.read(this.start + offset, length);
  }

  async close(): Promise<void> {}
}
