import type { BlockDevice } from '../../disk/types.js';

/** An LDM volume's block device, carrying the volume GUID that SYSTEM\MountedDevices refers to. */
export class LdmVolumeDevice implements BlockDevice {
  constructor(
    private readonly inner: BlockDevice,
    /** ldmtool's text form (big-endian, lower case). */
    readonly volumeGuid: string,
  ) {}

  get name(): string {
    return this.inner.name;
  }
  get size(): number {
    return this.inner.size;
  }
  read(offset: number, length: number): Promise<Buffer> {
    return this.inner.read(offset, length);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The LDM volume GUID of a device, when it is an LDM volume. */
export function ldmVolumeGuid(dev: BlockDevice): string | undefined {
  return dev instanceof LdmVolumeDevice ? dev.volumeGuid : undefined;
}
