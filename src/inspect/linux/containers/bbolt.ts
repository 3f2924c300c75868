import { GuestkitError } from '../../../protocol/errors.js';

/**
 * A read-only reader of bbolt (etcd-io/bbolt, the Bolt format) database files: the two meta
 * pages (the valid one with the higher txid), branch and leaf pages, nested and inline buckets.
 * The freelist is ignored (nothing is written). Pages are fetched through `readAt`, so only the
 * pages on the paths walked are read. Every page id, element offset and length is checked; a
 * malformed file throws BoltError.
 */

/** Damage of the guest's database file: a typed error, so collectors warn about it. */
export class BoltError extends GuestkitError {
  constructor(message: string) {
    super('CORRUPT_IMAGE', message);
    this.name = 'BoltError';
  }
}

const MAGIC = 0xed0cdaed;
const PAGE_HEADER = 16;
const ELEMENT = 16;
const BRANCH = 0x01;
const LEAF = 0x02;
const META = 0x04;
const BUCKET_LEAF = 0x01;

/** A bucket: a root page, or (root 0) an inline page held in its parent's value. */
export interface BoltBucket {
  root: number;
  inline?: Buffer;
}

export interface BoltEntry {
  key: Buffer;
  /** The value, or for a nested bucket its bucket. */
  value?: Buffer;
  bucket?: BoltBucket;
}

export interface BoltLimits {
  /** Pages read in all (hostile files: loops, huge trees). */
  maxPages: number;
  /** Entries listed per bucket. */
  maxEntries: number;
}

const DEFAULT_LIMITS: BoltLimits = { maxPages: 65536, maxEntries: 100000 };

export class BoltDb {
  private pagesRead = 0;

  private constructor(
    private readonly readAt: (offset: number, length: number) => Promise<Buffer>,
    readonly fileSize: number,
    readonly pageSize: number,
    readonly root: BoltBucket,
    readonly txid: bigint,
    private readonly limits: BoltLimits,
  ) {}

  static async open(readAt: (offset: number, length: number) => Promise<Buffer>, fileSize: number, limits: Partial<BoltLimits> = {}): Promise<BoltDb> {
    if (fileSize < 2 * 1024) throw new BoltError('bbolt: file too small');
    const first = await readAt(0, Math.min(fileSize, 4096));
    const m0 = parseMeta(first, 0);
    // The second meta page sits one page in; its page size is the first's when that one is valid.
    const candidates = [m0];
    for (const ps of new Set([m0?.pageSize, 4096, 8192, 16384, 65536].filter((p): p is number => p !== undefined))) {
      if (ps + PAGE_HEADER + 64 > fileSize) continue;
      const b = await readAt(ps, Math.min(4096, fileSize - ps));
      const m1 = parseMeta(b, 0);
      if (m1 && m1.pageSize === ps) {
        candidates.push(m1);
        break;
      }
    }
    const valid = candidates.filter((m): m is Meta => m !== undefined).sort((a, b) => (a.txid < b.txid ? 1 : a.txid > b.txid ? -1 : 0));
    const meta = valid[0];
    if (!meta) throw new BoltError('bbolt: no valid meta page');
    return new BoltDb(readAt, fileSize, meta.pageSize, { root: meta.root }, meta.txid, { ...DEFAULT_LIMITS, ...limits });
  }

  /** The bucket at a path of names under the root, or undefined. */
  async bucket(path: string[]): Promise<BoltBucket | undefined> {
    let b: BoltBucket = this.root;
    for (const name of path) {
      const e = (await this.entries(b)).find((x) => x.key.toString('latin1') === Buffer.from(name).toString('latin1'));
      if (!e?.bucket) return undefined;
      b = e.bucket;
    }
    return b;
  }

  /** All entries of a bucket, in key order. */
  async entries(b: BoltBucket): Promise<BoltEntry[]> {
    const out: BoltEntry[] = [];
    if (b.inline) this.leaf(parsePage(b.inline, 'inline bucket'), out);
    else await this.walk(b.root, out, 0);
    return out;
  }

  /** The value of `key` in a bucket (undefined when missing or a bucket). */
  async get(b: BoltBucket, key: string): Promise<Buffer | undefined> {
    return (await this.entries(b)).find((e) => e.key.toString('latin1') === Buffer.from(key).toString('latin1'))?.value;
  }

  private async walk(pgid: number, out: BoltEntry[], depth: number): Promise<void> {
    if (depth > 64) throw new BoltError('bbolt: tree too deep');
    const p = await this.page(pgid);
    if (p.flags & LEAF) return this.leaf(p, out);
    if (!(p.flags & BRANCH)) throw new BoltError(`bbolt: page ${pgid} is neither branch nor leaf (flags ${p.flags})`);
    for (let i = 0; i < p.count; i++) {
      const at = PAGE_HEADER + i * ELEMENT;
      const child = readU64(p.buf, at + 8);
      if (child === pgid) throw new BoltError(`bbolt: branch page ${pgid} points at itself`);
      await this.walk(child, out, depth + 1);
    }
  }

  private leaf(p: Page, out: BoltEntry[]): void {
    for (let i = 0; i < p.count; i++) {
      if (out.length >= this.limits.maxEntries) throw new BoltError(`bbolt: more than ${this.limits.maxEntries} entries in a bucket`);
      const at = PAGE_HEADER + i * ELEMENT;
      const flags = p.buf.readUInt32LE(at);
      const pos = p.buf.readUInt32LE(at + 4);
      const ksize = p.buf.readUInt32LE(at + 8);
      const vsize = p.buf.readUInt32LE(at + 12);
      const kstart = at + pos;
      const vend = kstart + ksize + vsize;
      if (vend > p.buf.length) throw new BoltError(`bbolt: ${p.what}: element ${i} runs past its page`);
      const key = p.buf.subarray(kstart, kstart + ksize);
      const value = p.buf.subarray(kstart + ksize, vend);
      if (flags & BUCKET_LEAF) {
        if (value.length < 16) throw new BoltError(`bbolt: ${p.what}: bucket header too short`);
        const root = readU64(value, 0);
        out.push({ key, bucket: root === 0 ? { root: 0, inline: value.subarray(16) } : { root } });
      } else out.push({ key, value });
    }
  }

  private async page(pgid: number): Promise<Page> {
    if (++this.pagesRead > this.limits.maxPages) throw new BoltError(`bbolt: more than ${this.limits.maxPages} pages read`);
    const off = pgid * this.pageSize;
    if (pgid < 2 || off + this.pageSize > this.fileSize) throw new BoltError(`bbolt: page id ${pgid} outside the file`);
    const head = await this.readAt(off, this.pageSize);
    if (head.length < this.pageSize) throw new BoltError(`bbolt: page ${pgid} short read`);
    const overflow = head.readUInt32LE(12);
    const len = (overflow + 1) * this.pageSize;
    if (off + len > this.fileSize) throw new BoltError(`bbolt: page ${pgid} overflows the file`);
    const buf = overflow ? await this.readAt(off, len) : head;
    if (buf.length < len) throw new BoltError(`bbolt: page ${pgid} short read`);
    return parsePage(buf, `page ${pgid}`);
  }
}

interface Page {
  buf: Buffer;
  flags: number;
  count: number;
  what: string;
}

function parsePage(buf: Buffer, what: string): Page {
  if (buf.length < PAGE_HEADER) throw new BoltError(`bbolt: ${what}: shorter than a page header`);
  const flags = buf.readUInt16LE(8);
  const count = buf.readUInt16LE(10);
  if (PAGE_HEADER + count * ELEMENT > buf.length) throw new BoltError(`bbolt: ${what}: ${count} elements do not fit`);
  return { buf, flags, count, what };
}

interface Meta {
  pageSize: number;
  root: number;
  txid: bigint;
}

function readU64(b: Buffer, at: number): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BoltError('bbolt: page id too large');
  return Number(v);
}

/** A meta page (header, then magic, version, pageSize, flags, root bucket, freelist, pgid, txid, FNV-64a checksum). */
function parseMeta(b: Buffer, off: number): Meta | undefined {
  if (b.length < off + PAGE_HEADER + 64) return undefined;
  if (!(b.readUInt16LE(off + 8) & META)) return undefined;
  const m = off + PAGE_HEADER;
  if (b.readUInt32LE(m) !== MAGIC || b.readUInt32LE(m + 4) !== 2) return undefined;
  if (fnv64a(b.subarray(m, m + 56)) !== b.readBigUInt64LE(m + 56)) return undefined;
  const pageSize = b.readUInt32LE(m + 8);
  if (pageSize < 512 || pageSize > 1 << 20 || (pageSize & (pageSize - 1)) !== 0) return undefined;
  return { pageSize, root: readU64(b, m + 16), txid: b.readBigUInt64LE(m + 48) };
}

function fnv64a(b: Buffer): bigint {
  let h = 0xcbf29ce484222325n;
  for (const x of b) {
    h ^= BigInt(x);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}
