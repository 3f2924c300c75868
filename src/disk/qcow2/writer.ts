import { open, type FileHandle } from 'node:fs/promises';
import { deflateRaw } from 'node:zlib';
import { promisify } from 'node:util';
import { QCOW2_MAGIC } from './header.js';

const deflateRawAsync = promisify(deflateRaw);
const COPIED = 0x80000000;

export interface Qcow2WriterOptions {
  /** log2 of the cluster size (default 16: 64 KiB). */
  clusterBits?: number;
  /** zlib-compress clusters, keeping a cluster uncompressed when compression does not shrink it. */
  compress?: boolean;
}

/**
 * Writes a qcow2 v3 image in one forward pass: clusters must arrive in
 * increasing guest order. Data and L2 tables are appended as they come (one
 * L2 table in memory at a time); the refcount table and blocks are laid out
 * at the end, covering every cluster including themselves, so `qemu-img
 * check` finds no leaks or errors. All-zero clusters are left unallocated.
 */
export class Qcow2Writer {
  readonly clusterSize: number;
  private readonly cb: number;
  private readonly l2Entries: number;
  private readonly l1: Buffer;
  private l2: Buffer;
  private l2Index = -1;
  private l2Used = false;
  /** Next free byte in the file. */
  private end: number;
  /** Refcount of each host cluster (16-bit, grows as the file does). */
  private refs: Uint16Array;
  private lastGuest = -1;
  private readonly zero: Buffer;
  dataClusters = 0;
  compressedClusters = 0;

  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly opts: Qcow2WriterOptions,
  ) {
    this.cb = opts.clusterBits ?? 16;
    this.clusterSize = 2 ** this.cb;
    this.l2Entries = this.clusterSize / 8;
    const l1Size = Math.ceil(size / (this.clusterSize * this.l2Entries));
    this.l1 = Buffer.alloc(l1Size * 8);
    this.l2 = Buffer.alloc(this.clusterSize);
    this.zero = Buffer.alloc(this.clusterSize);
    // Cluster 0: header; then the L1 table.
    const l1Clusters = Math.max(1, Math.ceil(this.l1.length / this.clusterSize));
    this.end = (1 + l1Clusters) * this.clusterSize;
    this.refs = new Uint16Array(1024);
    for (let c = 0; c < 1 + l1Clusters; c++) this.ref(c);
  }

  static async create(path: string, size: number, opts: Qcow2WriterOptions = {}): Promise<Qcow2Writer> {
    const fh = await open(path, 'w');
    return new Qcow2Writer(fh, size, opts);
  }

  get bytesWritten(): number {
    return this.end;
  }

  /** Writes guest clusters `first`, `first+1`, … from `data` (a whole number of clusters, zero-padded at the end). */
  async writeClusters(first: number, data: Buffer): Promise<void> {
    const cs = this.clusterSize;
    const n = Math.ceil(data.length / cs);
    const pieces: { guest: number; buf: Buffer }[] = [];
    for (let i = 0; i < n; i++) {
      let buf = data.subarray(i * cs, (i + 1) * cs);
      if (buf.length < cs) buf = Buffer.concat([buf, this.zero.subarray(0, cs - buf.length)]);
      if (!buf.equals(this.zero)) pieces.push({ guest: first + i, buf });
    }
    if (pieces.length === 0) return;
    if (first <= this.lastGuest) throw new Error(`qcow2 writer: cluster ${first} written out of order`);
    // Compress the chunk's clusters concurrently (zlib runs on the thread pool); qemu reads a 4 KiB window.
    const packed = this.opts.compress
      ? await Promise.all(pieces.map((p) => deflateRawAsync(p.buf, { windowBits: 12, level: 6 })))
      : undefined;
    for (let i = 0; i < pieces.length; i++) {
      const { guest, buf } = pieces[i]!;
      await this.selectL2(Math.floor(guest / this.l2Entries));
      const slot = (guest % this.l2Entries) * 8;
      const z = packed?.[i];
      if (z && z.length < cs - 512) {
        const off = this.end;
        await this.fh.write(z, 0, z.length, off);
        this.end += z.length;
        // Refcounts cover the 512-byte sectors the descriptor names, as qemu counts them.
        const first512 = Math.floor(off / 512) * 512;
        const last512 = Math.ceil((off + z.length) / 512) * 512;
        for (let c = Math.floor(first512 / cs); c <= Math.floor((last512 - 1) / cs); c++) this.ref(c);
        const nsec = Math.floor((off + z.length - 1) / 512) - Math.floor(off / 512);
        const x = BigInt(62 - (this.cb - 8));
        const v = (1n << 62n) | (BigInt(nsec) << x) | BigInt(off);
        this.l2.writeBigUInt64BE(v, slot);
        this.compressedClusters++;
      } else {
        const off = this.alloc();
        await this.fh.write(buf, 0, cs, off);
        this.setEntry(this.l2, slot, off);
        this.dataClusters++;
      }
      this.l2Used = true;
      this.lastGuest = guest;
    }
  }

  /** Writes the last L2 table, the refcount structures, the L1 table and the header. */
  async finish(): Promise<void> {
    await this.selectL2(-1);
    const cs = this.clusterSize;
    const perBlock = cs / 2; // 16-bit refcounts
    const base = Math.ceil(this.end / cs);
    // Fixed point: the refcount blocks and table must also count themselves.
    let blocks = 0;
    let tableClusters = 0;
    for (let i = 0; i < 64; i++) {
      const total = base + tableClusters + blocks;
      const nb = Math.ceil(total / perBlock);
      const nt = Math.max(1, Math.ceil((nb * 8) / cs));
      if (nb === blocks && nt === tableClusters) break;
      blocks = nb;
      tableClusters = nt;
    }
    const tableOff = base * cs;
    const blocksOff = tableOff + tableClusters * cs;
    const total = base + tableClusters + blocks;
    for (let c = base; c < total; c++) this.ref(c);
    const table = Buffer.alloc(tableClusters * cs);
    for (let b = 0; b < blocks; b++) {
      const blk = Buffer.alloc(cs);
      const from = b * perBlock;
      for (let j = 0; j < perBlock && from + j < total; j++) {
        const r = from + j < this.refs.length ? this.refs[from + j]! : 0;
        if (r) blk.writeUInt16BE(r, j * 2);
      }
      await this.fh.write(blk, 0, cs, blocksOff + b * cs);
      table.writeBigUInt64BE(BigInt(blocksOff + b * cs), b * 8);
    }
    await this.fh.write(table, 0, table.length, tableOff);
    if (this.l1.length > 0) await this.fh.write(this.l1, 0, this.l1.length, cs);
    const h = Buffer.alloc(cs);
    h.writeUInt32BE(QCOW2_MAGIC, 0);
    h.writeUInt32BE(3, 4);
    h.writeUInt32BE(this.cb, 20);
    h.writeBigUInt64BE(BigInt(this.size), 24);
    h.writeUInt32BE(this.l1.length / 8, 36);
    h.writeBigUInt64BE(BigInt(cs), 40);
    h.writeBigUInt64BE(BigInt(tableOff), 48);
    h.writeUInt32BE(tableClusters, 56);
    h.writeUInt32BE(4, 96); // refcount_order: 16-bit
    h.writeUInt32BE(112, 100); // header_length, with compression_type = 0 (zlib) at 104
    await this.fh.write(h, 0, cs, 0);
    await this.fh.truncate(total * cs);
    await this.fh.sync();
    await this.fh.close();
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  private alloc(): number {
    const cs = this.clusterSize;
    const off = Math.ceil(this.end / cs) * cs;
    this.end = off + cs;
    this.ref(off / cs);
    return off;
  }

  private ref(cluster: number): void {
    if (cluster >= this.refs.length) {
      const next = new Uint16Array(Math.max(cluster + 1, this.refs.length * 2));
      next.set(this.refs);
      this.refs = next;
    }
    if (this.refs[cluster]! >= 0xffff) throw new Error('qcow2 writer: refcount overflow');
    this.refs[cluster]!++;
  }

  private setEntry(buf: Buffer, slot: number, off: number): void {
    buf.writeUInt32BE((COPIED | Math.floor(off / 2 ** 32)) >>> 0, slot);
    buf.writeUInt32BE(off % 2 ** 32, slot + 4);
  }

  /** Makes `index` the L2 table in memory, first appending the previous one if it holds anything. */
  private async selectL2(index: number): Promise<void> {
    if (index === this.l2Index) return;
    if (this.l2Index >= 0 && this.l2Used) {
      const off = this.alloc();
      await this.fh.write(this.l2, 0, this.clusterSize, off);
      this.setEntry(this.l1, this.l2Index * 8, off);
    }
    this.l2.fill(0);
    this.l2Used = false;
    this.l2Index = index;
  }
}

