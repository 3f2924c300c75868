/** A one-line stage indicator on stderr, only when stderr is a terminal. */
export class StageLine {
  private readonly on = Boolean(process.stderr.isTTY);
  private t0 = Date.now();

  stage(name: string): void {
    if (!this.on) return;
    process.stderr.write(`\r\x1b[2K${name.replace(/_/g, ' ')}… ${((Date.now() - this.t0) / 1000).toFixed(1)}s`);
  }

  done(): void {
    if (this.on) process.stderr.write('\r\x1b[2K');
  }
}
