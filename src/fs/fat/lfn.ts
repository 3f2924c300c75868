/** VFAT long file names: entries with attribute 0x0F before the 8.3 entry they belong to. */

export const ATTR_LFN = 0x0f;

/** The checksum of an 8.3 name that each of its long-name entries repeats. */
export function shortNameChecksum(name11: Buffer): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = ((((sum & 1) << 7) | (sum >> 1)) + name11[i]!) & 0xff;
  return sum;
}

/** Collects long-name parts in disk order (last part first) and checks sequence and checksum. */
export class LfnAssembler {
  private parts: string[] = [];
  private expect = 0;
  private checksum = -1;

  reset(): void {
    this.parts = [];
    this.expect = 0;
    this.checksum = -1;
  }

  /** Feeds one 32-byte LFN entry. */
  add(e: Buffer): void {
    const ord = e[0]!;
    const seq = ord & 0x1f;
    const sum = e[13]!;
    if (ord & 0x40) {
      this.reset();
      if (seq === 0 || seq > 20) return;
      this.expect = seq;
      this.checksum = sum;
      this.parts = new Array<string>(seq).fill('');
    } else if (this.expect === 0 || seq !== this.expect || sum !== this.checksum) {
      this.reset(); // out of sequence: orphaned parts are ignored
      return;
    }
    // 13 UCS-2 characters in three pieces.
    const units = Buffer.concat([e.subarray(1, 11), e.subarray(14, 26), e.subarray(28, 32)]);
    this.parts[seq - 1] = units.toString('utf16le');
    this.expect = seq - 1;
  }

  /** The long name for the 8.3 entry `name11`, or undefined when the parts are incomplete or do not match it. */
  take(name11: Buffer): string | undefined {
    const ok = this.checksum >= 0 && this.expect === 0 && this.parts.length > 0 && shortNameChecksum(name11) === this.checksum;
    const joined = ok ? this.parts.join('') : undefined;
    this.reset();
    if (joined === undefined) return undefined;
    const nul = joined.indexOf('\0');
    const name = (nul < 0 ? joined : joined.slice(0, nul)).replace(/\uffff+$/, '');
    return name.length > 0 ? name : undefined;
  }
}
