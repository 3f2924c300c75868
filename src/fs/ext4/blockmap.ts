/** A run of initialized blocks of a file: logical blocks [lblk, lblk+len) live at [pblk, pblk+len). */
export interface Run {
  lblk: number;
  pblk: number;
  len: number;
}

/** What block-map parsers need from the filesystem. */
export interface MapContext {
  blockSize: number;
  blocksCount: number;
  firstDataBlock: number;
  /** A metadata block through the bounded cache. */
  readMeta(block: number): Promise<Buffer>;
}

/** Appends a run, merging it into the previous one when both are contiguous. */
export function pushRun(out: Run[], lblk: number, pblk: number, len: number): void {
  const last = out[out.length - 1];
  if (last && last.lblk + last.len === lblk && last.pblk + last.len === pblk) last.len += len;
  else out.push({ lblk, pblk, len });
}
