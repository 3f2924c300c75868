import type { BlockDevice } from '../../disk/types.js';
import { GuestkitError, corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import type { Run } from './blockmap.js';

/*
 * jbd2 journal replay, in memory. A filesystem flagged needs_recovery (an image of a running or
 * crashed system) may hold its latest metadata only in the journal; mounting would replay it.
 * Here committed transactions are scanned like the kernel's recovery (scan, revoke, replay
 * passes) and their blocks are laid over the device's reads. The image itself is never written.
 * All journal structures are big-endian.
 */

const JBD2_MAGIC = 0xc03b3998;
const T_DESCRIPTOR = 1;
const T_COMMIT = 2;
const T_SB_V1 = 3;
const T_SB_V2 = 4;
const T_REVOKE = 5;
const F_REVOKE = 0x1;
const F_64BIT = 0x2;
const F_ASYNC_COMMIT = 0x4;
const F_CSUM_V2 = 0x8;
const F_CSUM_V3 = 0x10;
const F_FAST_COMMIT = 0x20;
const KNOWN_INCOMPAT = F_REVOKE | F_64BIT | F_ASYNC_COMMIT | F_CSUM_V2 | F_CSUM_V3 | F_FAST_COMMIT;
const TAG_ESCAPE = 0x1;
const TAG_SAME_UUID = 0x2;
const TAG_LAST = 0x8;

export interface ReplayBlock {
  /** Physical (filesystem) block holding the logged copy. */
  phys: number;
  /** The logged copy began with the journal magic, which was zeroed: restore it. */
  escape: boolean;
}

export interface JournalReplay {
  transactions: number;
  /** Filesystem block → the newest committed, unrevoked copy in the journal. */
  blocks: Map<number, ReplayBlock>;
  notes: string[];
}

/** Later in jbd2's wrapping 32-bit sequence space. */
function tidGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/**
 * Scans the journal (a file of `journalBlocks` blocks, mapped by `runs`) and returns the blocks
 * to lay over the filesystem. Throws CORRUPT_IMAGE / UNSUPPORTED_FORMAT when it cannot be read.
 */
export async function scanJournal(dev: BlockDevice, bs: number, fsBlocks: number, runs: Run[], journalBlocks: number): Promise<JournalReplay> {
  const phys = (j: number): number => {
    let lo = 0;
    let hi = runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = runs[mid]!;
      if (j < r.lblk) hi = mid - 1;
      else if (j >= r.lblk + r.len) lo = mid + 1;
      else return r.pblk + (j - r.lblk);
    }
    throw corrupt(`ext journal: block ${j} of the journal is not mapped`, { journal_block: j });
  };
  const readJ = (j: number) => dev.read(phys(j) * bs, bs);

  const sb = new BinaryReader(await readJ(0), 'ext journal superblock');
  if (sb.u32be(0) !== JBD2_MAGIC) throw corrupt(`ext journal superblock: magic 0x${sb.u32be(0).toString(16)} (expected 0xc03b3998)`);
  const sbType = sb.u32be(4);
  if (sbType !== T_SB_V1 && sbType !== T_SB_V2) throw corrupt(`ext journal superblock: block type ${sbType}`);
  if (sb.u32be(12) !== bs) throw corrupt(`ext journal: block size ${sb.u32be(12)} differs from the filesystem's ${bs}`);
  let maxlen = sb.u32be(16);
  const first = sb.u32be(20);
  const seq0 = sb.u32be(24);
  const start = sb.u32be(28);
  const incompat = sbType === T_SB_V2 ? sb.u32be(40) : 0;
  const notes: string[] = [];
  if (maxlen > journalBlocks || first === 0 || first >= maxlen) {
    throw corrupt(`ext journal: geometry first ${first} / length ${maxlen} does not fit the ${journalBlocks}-block journal`);
  }
  if (incompat & ~KNOWN_INCOMPAT) {
    throw new GuestkitError('UNSUPPORTED_FORMAT', `ext journal uses unknown incompatible features 0x${(incompat & ~KNOWN_INCOMPAT).toString(16)}`);
  }
  if (incompat & F_FAST_COMMIT) {
    const fc = sb.u32be(0x54) || 256;
    if (fc < maxlen - first) maxlen -= fc;
    notes.push('fast-commit records (if any) were not replayed');
  }
  const blocks = new Map<number, ReplayBlock>();
  if (start === 0) return { transactions: 0, blocks, notes };
  if (start < first || start >= maxlen) throw corrupt(`ext journal: log start ${start} lies outside ${first}..${maxlen - 1}`);

  const csum = (incompat & (F_CSUM_V2 | F_CSUM_V3)) !== 0;
  const is64 = (incompat & F_64BIT) !== 0;
  const tagBytes = incompat & F_CSUM_V3 ? 16 : 12 + (incompat & F_CSUM_V2 ? 2 : 0) - (is64 ? 0 : 4);
  const wrap = (b: number) => (b >= maxlen ? b - maxlen + first : b);

  type Tag = { fsBlock: number; j: number; escape: boolean };
  const committed: { seq: number; tags: Tag[] }[] = [];
  const revoked = new Map<number, number>();
  let tags: Tag[] = [];
  let revokes: number[] = [];
  let b = start;
  let seq = seq0;
  // Every step consumes a journal block, so one lap of the log bounds the scan.
  for (let steps = 0; steps < maxlen - first; ) {
    const blk = await readJ(b);
    if (blk.readUInt32BE(0) !== JBD2_MAGIC || blk.readUInt32BE(8) !== seq) break;
    const type = blk.readUInt32BE(4);
    if (type === T_DESCRIPTOR) {
      const end = bs - (csum ? 4 : 0);
      let off = 12;
      let j = wrap(b + 1);
      steps++;
      while (off + tagBytes <= end && steps < maxlen - first) {
        const lo = blk.readUInt32BE(off);
        const flags = incompat & F_CSUM_V3 ? blk.readUInt32BE(off + 4) : blk.readUInt16BE(off + 6);
        const hi = is64 ? blk.readUInt32BE(off + 8) : 0;
        tags.push({ fsBlock: hi * 2 ** 32 + lo, j, escape: (flags & TAG_ESCAPE) !== 0 });
        j = wrap(j + 1);
        steps++;
        off += tagBytes + (flags & TAG_SAME_UUID ? 0 : 16);
        if (flags & TAG_LAST) break;
      }
      b = j;
    } else if (type === T_COMMIT) {
      committed.push({ seq, tags });
      for (const r of revokes) {
        const prev = revoked.get(r);
        if (prev === undefined || tidGt(seq, prev)) revoked.set(r, seq);
      }
      tags = [];
      revokes = [];
      seq = (seq + 1) >>> 0;
      b = wrap(b + 1);
      steps++;
    } else if (type === T_REVOKE) {
      const count = blk.readUInt32BE(12);
      if (count > bs - (csum ? 4 : 0)) throw corrupt(`ext journal: revoke block ${b} claims ${count} bytes`, { journal_block: b });
      const rec = is64 ? 8 : 4;
      for (let off = 16; off + rec <= count; off += rec) {
        revokes.push(is64 ? blk.readUInt32BE(off) * 2 ** 32 + blk.readUInt32BE(off + 4) : blk.readUInt32BE(off));
      }
      b = wrap(b + 1);
      steps++;
    } else {
      break;
    }
  }
  // Replay in log order: later transactions overwrite earlier ones; revoked copies are skipped.
  for (const t of committed) {
    for (const tag of t.tags) {
      const rv = revoked.get(tag.fsBlock);
      if (rv !== undefined && !tidGt(t.seq, rv)) continue;
      if (tag.fsBlock >= fsBlocks) throw corrupt(`ext journal: transaction ${t.seq} logs block ${tag.fsBlock}, past the filesystem's ${fsBlocks} blocks`);
      blocks.set(tag.fsBlock, { phys: phys(tag.j), escape: tag.escape });
    }
  }
  return { transactions: committed.length, blocks, notes };
}

/** A device whose reads see the replayed journal blocks over the original ones. */
export class JournalOverlayDevice implements BlockDevice {
  readonly size: number;
  readonly name: string;
  private readonly sorted: number[];

  constructor(
    private readonly inner: BlockDevice,
    private readonly bs: number,
    private readonly blocks: Map<number, ReplayBlock>,
  ) {
    this.size = inner.size;
    this.name = inner.name;
    this.sorted = [...blocks.keys()].sort((a, b) => a - b);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const buf = await this.inner.read(offset, length);
    if (length === 0 || this.sorted.length === 0) return buf;
    const firstBlk = Math.floor(offset / this.bs);
    const lastBlk = Math.floor((offset + length - 1) / this.bs);
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]! < firstBlk) lo = mid + 1;
      else hi = mid;
    }
    let out: Buffer | undefined;
    for (let i = lo; i < this.sorted.length && this.sorted[i]! <= lastBlk; i++) {
      const blk = this.sorted[i]!;
      const rb = this.blocks.get(blk)!;
      const logged = Buffer.from(await this.inner.read(rb.phys * this.bs, this.bs));
      if (rb.escape) logged.writeUInt32BE(JBD2_MAGIC, 0);
      out ??= Buffer.from(buf);
      const from = Math.max(blk * this.bs, offset);
      const to = Math.min((blk + 1) * this.bs, offset + length);
      logged.copy(out, from - offset, from - blk * this.bs, to - blk * this.bs);
    }
    return out ?? buf;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
