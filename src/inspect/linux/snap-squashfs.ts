import { inflateSync } from 'node:zlib';
import { corrupt, GuestkitError } from '../../protocol/errors.js';
import { xzDecompress } from '../../util/xz.js';
import { zstdDecompress } from '../../util/zstd.js';

/**
 * Just enough of squashfs 4.0 to read one small file by path from a snap (meta/snap.yaml, where
 * snapd keeps the version): the superblock, metadata blocks (inodes, directory listings), data
 * blocks and the fragment table. gzip, xz, lzo and zstd blocks are decoded (snap pack writes xz
 * or lzo); lzma and lz4 are not, and give undefined. Every read is bounded: a hostile image
 * costs at most MAX_META metadata blocks and `maxBytes` of file data, and throws CORRUPT_IMAGE.
 */

export type ReadAt = (offset: number, length: number) => Promise<Buffer>;

const MAGIC = 0x73717368;
const META_MAX = 8192;
/** Metadata blocks decoded per file looked up (a few are needed: root, meta/, the inodes). */
const MAX_META = 256;
const NO_FRAGMENT = 0xffffffff;
const UNCOMPRESSED_BLOCK = 1 << 24;

const COMPRESSORS: Record<number, string> = { 1: 'gzip', 2: 'lzma', 3: 'lzo', 4: 'xz', 5: 'lz4', 6: 'zstd' };

interface Super {
  size: number;
  blockSize: number;
  compression: number;
  rootInode: bigint;
  inodeTable: number;
  dirTable: number;
  fragTable: number;
  fragCount: number;
}

function bad(msg: string): GuestkitError {
  return corrupt(`squashfs: ${msg}`);
}

/**
 * LZO1X decompression (the format of liblzo2's lzo1x_999 output, as mksquashfs -comp lzo writes
 * blocks; after Linux's lzo1x_decompress_safe, without its later RLE extension). Bounded by `max`.
 */
export function lzo1x(src: Buffer, max: number): Buffer {
  const out = Buffer.alloc(max);
  let ip = 0;
  let op = 0;
  const byte = () => {
    if (ip >= src.length) throw bad('lzo: input overrun');
    return src[ip++]!;
  };
  const literal = (n: number) => {
    if (ip + n > src.length) throw bad('lzo: input overrun');
    if (op + n > max) throw bad(`lzo: output over ${max} bytes`);
    src.copy(out, op, ip, ip + n);
    ip += n;
    op += n;
  };
  const match = (dist: number, n: number) => {
    const from = op - dist;
    if (from < 0) throw bad('lzo: lookbehind overrun');
    if (op + n > max) throw bad(`lzo: output over ${max} bytes`);
    for (let i = 0; i < n; i++) out[op + i] = out[from + i]!;
    op += n;
  };
  const run = (t: number, base: number) => {
    if (t !== 0) return t;
    let n = 0;
    while (byte() === 0) {
      n += 255;
      if (n > max) throw bad('lzo: run length overrun');
    }
    return n + base + src[ip - 1]!;
  };
  let state = 0;
  let next = 0;
  let first = true;
  for (;;) {
    let t = byte();
    if (first && t > 17) {
      first = false;
      t -= 17;
      if (t < 4) {
        next = t;
        literal(next);
        state = next;
        continue;
      }
      literal(t);
      state = 4;
      continue;
    }
    first = false;
    if (t < 16) {
      if (state === 0) {
        literal(run(t, 15) + 3);
        state = 4;
        continue;
      }
      next = t & 3;
      if (state !== 4) match(1 + (t >> 2) + (byte() << 2), 2);
      else match(1 + 0x800 + (t >> 2) + (byte() << 2), 3);
    } else if (t >= 64) {
      next = t & 3;
      match(1 + ((t >> 2) & 7) + (byte() << 3), (t >> 5) + 1);
    } else if (t >= 32) {
      const n = run(t & 31, 31) + 2;
      const v = byte() | (byte() << 8);
      next = v & 3;
      match(1 + (v >> 2), n);
    } else {
      const n = run(t & 7, 7) + 2;
      const v = byte() | (byte() << 8);
      next = v & 3;
      const dist = ((t & 8) << 11) + (v >> 2);
      if (dist === 0) {
        if (n !== 3) throw bad('lzo: bad end marker');
        return out.subarray(0, op);
      }
      match(dist + 0x4000, n);
    }
    literal(next);
    state = next;
  }
}

async function decompress(kind: number, data: Buffer, max: number): Promise<Buffer> {
  try {
    if (kind === 1) return inflateSync(data, { maxOutputLength: max });
    if (kind === 3) return lzo1x(data, max);
    if (kind === 6) return zstdDecompress(data, max, 'squashfs block');
    // xz: a whole .xz stream per block
    return await xzDecompress(data, max, 'squashfs block');
  } catch (err) {
    if (err instanceof GuestkitError) throw err;
    throw bad(`${COMPRESSORS[kind]} block: ${(err as Error).message}`);
  }
}

class Reader {
  private metaRead = 0;
  private readonly cache = new Map<number, { data: Buffer; next: number }>();
  constructor(
    private readonly readAt: ReadAt,
    readonly sb: Super,
  ) {}

  async raw(offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.sb.size) throw bad(`read ${offset}+${length} outside the ${this.sb.size}-byte image`);
    const b = await this.readAt(offset, length);
    if (b.length < length) throw bad(`short read at ${offset}`);
    return b;
  }

  /** One metadata block at `pos`: its bytes and where the next one starts. */
  private async metaBlock(pos: number): Promise<{ data: Buffer; next: number }> {
    const hit = this.cache.get(pos);
    if (hit) return hit;
    if (++this.metaRead > MAX_META) throw bad(`more than ${MAX_META} metadata blocks read`);
    const h = (await this.raw(pos, 2)).readUInt16LE(0);
    const len = h & 0x7fff;
    if (len === 0 || len > META_MAX) throw bad(`metadata block at ${pos} of ${len} bytes`);
    const stored = await this.raw(pos + 2, len);
    const data = h & 0x8000 ? stored : await decompress(this.sb.compression, stored, META_MAX);
    const b = { data, next: pos + 2 + len };
    this.cache.set(pos, b);
    return b;
  }

  /** `length` bytes of the metadata stream from block `pos`, byte `offset` of its decoded data. */
  async meta(pos: number, offset: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    let off = offset;
    while (got < length) {
      const b = await this.metaBlock(pos);
      if (off > b.data.length) throw bad(`metadata offset ${off} past a ${b.data.length}-byte block`);
      const piece = b.data.subarray(off, off + (length - got));
      parts.push(piece);
      got += piece.length;
      pos = b.next;
      off = 0;
    }
    return Buffer.concat(parts, length);
  }

  async inode(ref: bigint): Promise<Inode> {
    const pos = this.sb.inodeTable + Number(ref >> 16n);
    const off = Number(ref & 0xffffn);
    const type = (await this.meta(pos, off, 2)).readUInt16LE(0);
    // only the bytes of this inode type: a longer read could run past the table's last block
    const len = { 1: 32, 8: 40, 2: 32, 9: 56 }[type];
    if (len === undefined) return { dir: undefined };
    const h = await this.meta(pos, off, len);
    if (type === 1) return { dir: true, block: h.readUInt32LE(16), size: h.readUInt16LE(24), offset: h.readUInt16LE(26) };
    if (type === 8) return { dir: true, size: h.readUInt32LE(20), block: h.readUInt32LE(24), offset: h.readUInt16LE(34) };
    if (type === 2 || type === 9) {
      const ext = type === 9;
      const start = ext ? Number(h.readBigUInt64LE(16)) : h.readUInt32LE(16);
      const fileSize = ext ? Number(h.readBigUInt64LE(24)) : h.readUInt32LE(28);
      const frag = ext ? h.readUInt32LE(44) : h.readUInt32LE(20);
      const fragOffset = ext ? h.readUInt32LE(48) : h.readUInt32LE(24);
      const listAt = ext ? 56 : 32;
      return { dir: false, start, fileSize, frag, fragOffset, listPos: pos, listOff: off + listAt };
    }
    return { dir: undefined };
  }

  /** The inode reference of `name` in directory `d`, if listed. */
  async lookup(d: Extract<Inode, { dir: true }>, name: string): Promise<bigint | undefined> {
    // the listing's size is stored 3 more than it is (the "." and ".." a reader would add)
    const size = d.size - 3;
    if (size <= 0) return undefined;
    if (size > 1024 * 1024) throw bad(`directory listing of ${size} bytes`);
    const b = await this.meta(this.sb.dirTable + d.block, d.offset, size);
    let p = 0;
    while (p + 12 <= b.length) {
      const count = b.readUInt32LE(p) + 1;
      const start = b.readUInt32LE(p + 4);
      p += 12;
      if (count > 256) throw bad(`directory header of ${count} entries`);
      for (let i = 0; i < count; i++) {
        if (p + 8 > b.length) throw bad('directory entry cut short');
        const off = b.readUInt16LE(p);
        const len = b.readUInt16LE(p + 6) + 1;
        const n = b.toString('latin1', p + 8, p + 8 + len);
        p += 8 + len;
        if (n === name) return (BigInt(start) << 16n) | BigInt(off);
      }
    }
    return undefined;
  }

  async fileData(f: Extract<Inode, { dir: false }>, maxBytes: number): Promise<Buffer> {
    if (f.fileSize > maxBytes) throw bad(`file of ${f.fileSize} bytes (at most ${maxBytes} read)`);
    const bs = this.sb.blockSize;
    const hasFrag = f.frag !== NO_FRAGMENT;
    const blocks = hasFrag ? Math.floor(f.fileSize / bs) : Math.ceil(f.fileSize / bs);
    const sizes = blocks ? await this.meta(f.listPos, f.listOff, 4 * blocks) : Buffer.alloc(0);
    const parts: Buffer[] = [];
    let pos = f.start;
    for (let i = 0; i < blocks; i++) {
      const w = sizes.readUInt32LE(4 * i);
      const len = w & (UNCOMPRESSED_BLOCK - 1);
      if (len === 0) {
        parts.push(Buffer.alloc(bs));
        continue;
      }
      const stored = await this.raw(pos, len);
      parts.push(w & UNCOMPRESSED_BLOCK ? stored : await decompress(this.sb.compression, stored, bs));
      pos += len;
    }
    if (hasFrag) {
      if (f.frag >= this.sb.fragCount) throw bad(`fragment ${f.frag} of ${this.sb.fragCount}`);
      const ptr = Number((await this.raw(this.sb.fragTable + 8 * Math.floor(f.frag / 512), 8)).readBigUInt64LE(0));
      const e = await this.meta(ptr, (f.frag % 512) * 16, 16);
      const w = e.readUInt32LE(8);
      const len = w & (UNCOMPRESSED_BLOCK - 1);
      if (len > bs) throw bad(`fragment block of ${len} bytes`);
      const stored = await this.raw(Number(e.readBigUInt64LE(0)), len);
      const block = w & UNCOMPRESSED_BLOCK ? stored : await decompress(this.sb.compression, stored, bs);
      parts.push(block.subarray(f.fragOffset, f.fragOffset + (f.fileSize % bs)));
    }
    const out = Buffer.concat(parts).subarray(0, f.fileSize);
    if (out.length !== f.fileSize) throw bad(`file data is ${out.length} of ${f.fileSize} bytes`);
    return out;
  }
}

type Inode =
  | { dir: true; block: number; size: number; offset: number }
  | { dir: false; start: number; fileSize: number; frag: number; fragOffset: number; listPos: number; listOff: number }
  | { dir: undefined };

/**
 * The file at `path` (a/b/c, no leading slash) in the squashfs image read by `readAt`, or
 * undefined when it is not there or its compression is not one read here. CORRUPT_IMAGE for an
 * image that is not squashfs 4.0 or whose structures are out of bounds.
 */
export async function squashfsReadFile(readAt: ReadAt, imageSize: number, path: string, maxBytes: number): Promise<Buffer | undefined> {
  if (imageSize < 96) throw bad(`image of ${imageSize} bytes`);
  const s = await readAt(0, 96);
  if (s.length < 96 || s.readUInt32LE(0) !== MAGIC) throw bad('no squashfs superblock');
  if (s.readUInt16LE(28) !== 4) throw bad(`version ${s.readUInt16LE(28)}.${s.readUInt16LE(30)} (4.0 read)`);
  const blockLog = s.readUInt16LE(22);
  const sb: Super = {
    size: imageSize,
    blockSize: s.readUInt32LE(12),
    compression: s.readUInt16LE(20),
    rootInode: s.readBigUInt64LE(32),
    inodeTable: Number(s.readBigUInt64LE(64)),
    dirTable: Number(s.readBigUInt64LE(72)),
    fragTable: Number(s.readBigUInt64LE(80)),
    fragCount: s.readUInt32LE(16),
  };
  if (blockLog < 12 || blockLog > 20 || sb.blockSize !== 1 << blockLog) throw bad(`block size ${sb.blockSize}`);
  if (![1, 3, 4, 6].includes(sb.compression)) {
    if (COMPRESSORS[sb.compression]) return undefined;
    throw bad(`compression id ${sb.compression}`);
  }
  const r = new Reader(readAt, sb);
  let node = await r.inode(sb.rootInode);
  for (const part of path.split('/')) {
    if (node.dir !== true) return undefined;
    const ref = await r.lookup(node, part);
    if (ref === undefined) return undefined;
    node = await r.inode(ref);
  }
  if (node.dir !== false) return undefined;
  return r.fileData(node, maxBytes);
}
