import type { BlockDevice } from '../../src/disk/types.js';

/** A real image whose reads see some bytes replaced: corrupted variants without copying the image. */
export class PatchedDevice implements BlockDevice {
  readonly size: number;
  readonly name: string;
  private readonly patches: [number, Buffer][];

  constructor(
    private readonly inner: BlockDevice,
    patches: [number, Buffer][] = [],
  ) {
    this.size = inner.size;
    this.name = `${inner.name} (patched)`;
    this.patches = [...patches];
  }

  /** Adds `bytes` at byte offset `at`; later patches win where they overlap. */
  patch(at: number, bytes: Buffer | number[]): this {
    this.patches.push([at, Buffer.from(bytes)]);
    return this;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    // a copy: the inner device may hand out a cached buffer
    const b = Buffer.from(await this.inner.read(offset, length));
    for (const [at, bytes] of this.patches) {
      const from = Math.max(at, offset);
      const to = Math.min(at + bytes.length, offset + length);
      if (from < to) bytes.copy(b, from - offset, from - at, to - at);
    }
    return b;
  }

  async close(): Promise<void> {}
}
