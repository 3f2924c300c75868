/**
 * Upper-casing as the volume does it: NTFS compares names through its own
 * $UpCase table (one UTF-16 code unit → one code unit), so two names are the
 * same file when their upper-cased code units are equal.
 */
export class UpCase {
  private constructor(private readonly table: Uint16Array | undefined) {}

  static fromTable(buf: Buffer): UpCase {
    const t = new Uint16Array(65536);
    for (let i = 0; i < 65536; i++) t[i] = buf.readUInt16LE(i * 2);
    return new UpCase(t);
  }

  /** Fallback when $UpCase is unreadable: Unicode upper case where it keeps one code unit. */
  static simple(): UpCase {
    return new UpCase(undefined);
  }

  get fromVolume(): boolean {
    return this.table !== undefined;
  }

  upcase(s: string): string {
    const t = this.table;
    if (!t) {
      let out = '';
      for (const ch of s) {
        const u = ch.toUpperCase();
        out += u.length === ch.length ? u : ch;
      }
      return out;
    }
    const codes = new Array<number>(s.length);
    for (let i = 0; i < s.length; i++) codes[i] = t[s.charCodeAt(i)]!;
    return String.fromCharCode(...codes);
  }
}
