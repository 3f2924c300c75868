import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import type { AttrStream } from './data.js';
import { parseFileName, type FileName } from './filename.js';
import { applyFixups } from './fixup.js';
import type { Lru } from '../../util/lru.js';
import { refRecord } from './mft-record.js';

const ENTRY_FLAG = { SUBNODE: 0x01, LAST: 0x02 } as const;
/** Depth limit for B-tree descent; real trees are a handful of levels deep. */
const MAX_DEPTH = 32;
/** Index blocks read together while listing a directory. */
const LIST_BATCH_BLOCKS = 32;

export interface IndexEntry {
  recNo: number;
  /** Absent on the last entry of a node. */
  key?: FileName;
  /** VCN of the child block holding smaller keys. */
  subnode?: number;
  /** The key's name upper-cased, computed once while the node is cached. */
  upper?: string;
}

/** Parses the entries of one index node whose header starts at `hdr` in `buf`. */
export function parseIndexNode(buf: Buffer, hdr: number, what: string): IndexEntry[] {
  const r = new BinaryReader(buf, what);
  const entriesOff = hdr + r.u32le(hdr);
  const end = hdr + r.u32le(hdr + 4);
  if (entriesOff < hdr + 16 || end > buf.length || entriesOff > end) {
    throw corrupt(`${what}: index header offsets ${entriesOff - hdr}/${end - hdr} are inconsistent`);
  }
  const out: IndexEntry[] = [];
  let off = entriesOff;
  // Each entry is at least 16 bytes and the loop stops at `end`.
  while (off + 16 <= end) {
    const len = r.u16le(off + 8);
    const keyLen = r.u16le(off + 10);
    const flags = r.u16le(off + 12);
    if (len < 16 || len % 8 !== 0 || off + len > end) throw corrupt(`${what}: index entry at ${off} has length ${len}`);
    const e: IndexEntry = { recNo: refRecord(r.u64leBig(off)) };
    if (flags & ENTRY_FLAG.SUBNODE) {
      if (len < 24) throw corrupt(`${what}: index entry at ${off} is too short for a child pointer`);
      e.subnode = r.i64le(off + len - 8);
      if (e.subnode < 0) throw corrupt(`${what}: index entry at ${off} points to VCN ${e.subnode}`);
    }
    if (flags & ENTRY_FLAG.LAST) {
      out.push(e);
      return out;
    }
    if (16 + keyLen > len - (flags & ENTRY_FLAG.SUBNODE ? 8 : 0)) throw corrupt(`${what}: index key at ${off} overruns its entry`);
    e.key = parseFileName(r.bytes(off + 16, keyLen), `${what} entry at ${off}`);
    out.push(e);
    off += len;
  }
  throw corrupt(`${what}: index node has no last entry`);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A directory's $I30 index: the root node in $INDEX_ROOT and, for larger
 * directories, INDX blocks in $INDEX_ALLOCATION with an in-use $BITMAP.
 */
export class DirIndex {
  private readonly rootEntries: IndexEntry[];
  readonly blockSize: number;
  private readonly vcnShift: number;

  constructor(
    root: Buffer,
    private readonly alloc: AttrStream | undefined,
    private readonly bitmap: AttrStream | undefined,
    clusterSize: number,
    private readonly cache: Lru<string, IndexEntry[]>,
    readonly what: string,
  ) {
    const r = new BinaryReader(root, `${what} $INDEX_ROOT`);
    this.blockSize = r.u32le(8);
    const bs = this.blockSize;
    if (bs < 512 || bs > 65536 || (bs & (bs - 1)) !== 0) throw corrupt(`${what}: index block size ${bs}`);
    // VCNs count clusters, or 512-byte units when blocks are smaller than a cluster.
    this.vcnShift = Math.log2(bs >= clusterSize ? clusterSize : 512);
    this.rootEntries = parseIndexNode(root, 16, `${what} $INDEX_ROOT`);
  }

  private async block(vcn: number): Promise<IndexEntry[]> {
    const key = `${this.what}:${vcn}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    if (!this.alloc) throw corrupt(`${this.what}: index entry points to a child block but there is no $INDEX_ALLOCATION`);
    const off = vcn * 2 ** this.vcnShift;
    if (off + this.blockSize > this.alloc.size) throw corrupt(`${this.what}: index block VCN ${vcn} lies outside $INDEX_ALLOCATION`);
    const entries = this.parseBlock(await this.alloc.read(off, this.blockSize), vcn);
    this.cache.set(key, entries);
    return entries;
  }

  private parseBlock(buf: Buffer, vcn: number): IndexEntry[] {
    const what = `${this.what} index block VCN ${vcn}`;
    if (buf.toString('latin1', 0, 4) !== 'INDX') throw corrupt(`${what}: bad magic ${JSON.stringify(buf.toString('latin1', 0, 4))}`);
    applyFixups(buf, what);
    const r = new BinaryReader(buf, what);
    if (r.i64le(16) !== vcn) throw corrupt(`${what}: block says it is VCN ${r.i64le(16)}`);
    return parseIndexNode(buf, 0x18, what);
  }

  /** Every entry of the directory (in-use blocks found through $BITMAP), in no particular order. */
  async list(): Promise<IndexEntry[]> {
    const out = this.rootEntries.filter((e) => e.key);
    if (!this.alloc || this.alloc.size === 0) return out;
    if (!this.bitmap) throw corrupt(`${this.what}: $INDEX_ALLOCATION without $BITMAP`);
    const nBlocks = Math.floor(this.alloc.size / this.blockSize);
    const bits = await this.bitmap.read(0, Math.ceil(nBlocks / 8));
    const inUse = (b: number) => b < nBlocks && (bits[b >> 3]! & (1 << (b & 7))) !== 0;
    const blocksPerVcn = this.blockSize / 2 ** this.vcnShift;
    for (let b = 0; b < nBlocks; ) {
      if (!inUse(b)) {
        b++;
        continue;
      }
      let n = 1;
      while (n < LIST_BATCH_BLOCKS && inUse(b + n)) n++;
      const buf = await this.alloc.read(b * this.blockSize, n * this.blockSize);
      for (let i = 0; i < n; i++) {
        const vcn = (b + i) * blocksPerVcn;
        const key = `${this.what}:${vcn}`;
        let entries = this.cache.get(key);
        if (!entries) {
          entries = this.parseBlock(Buffer.from(buf.subarray(i * this.blockSize, (i + 1) * this.blockSize)), vcn);
          this.cache.set(key, entries);
        }
        for (const e of entries) if (e.key) out.push(e);
      }
      b += n;
    }
    return out;
  }

  /**
   * B-tree descent for `name`, comparing upper-cased names as NTFS collates
   * them. An exact-case match wins over a case-insensitive one.
   */
  async find(name: string, upcase: (s: string) => string): Promise<IndexEntry | undefined> {
    const key = upcase(name);
    let node = this.rootEntries;
    let candidate: IndexEntry | undefined;
    const seen = new Set<number>();
    for (let depth = 0; ; depth++) {
      let next: number | undefined;
      for (const e of node) {
        if (!e.key) {
          next = e.subnode;
          break;
        }
        const c = cmp((e.upper ??= upcase(e.key.name)), key);
        if (c < 0) continue;
        if (c === 0) {
          if (e.key.name === name) return e;
          candidate ??= e;
          continue;
        }
        next = e.subnode;
        break;
      }
      if (next === undefined) return candidate;
      if (depth >= MAX_DEPTH || seen.has(next)) throw corrupt(`${this.what}: index B-tree loops or is deeper than ${MAX_DEPTH}`);
      seen.add(next);
      node = await this.block(next);
    }
  }
}
