import type { BlockDevice } from '../../disk/types.js';
import { corrupt } from '../../protocol/errors.js';
import { Lru } from '../../util/lru.js';
import type { BootSector } from '../../volume/probe/fat-bpb.js';

/** Contiguous clusters [start, start+len) of a chain. */
export interface ClusterRun {
  start: number;
  len: number;
}

const PAGE = 64 * 1024;

/**
 * The first FAT, read in 64 KiB pages on demand (FAT12/16 tables are small and
 * come in one or two reads). Chains are followed loop-safe: a chain never
 * visits a cluster twice and never exceeds the volume's cluster count.
 */
export class FatTable {
  private readonly pages = new Lru<number, Promise<Buffer>>(256);
  private readonly bytes: number;
  private readonly eoc: number;
  private readonly badMark: number;

  constructor(
    private readonly dev: BlockDevice,
    private readonly bs: BootSector,
  ) {
    this.bytes = bs.fatSectors * bs.bytesPerSector;
    this.eoc = bs.fatType === 12 ? 0xff8 : bs.fatType === 16 ? 0xfff8 : 0x0ffffff8;
    this.badMark = this.eoc - 1;
  }

  private page(n: number): Promise<Buffer> {
    return this.pages.getOrCreate(n, () => {
      const start = n * PAGE;
      // One extra byte lets a FAT12 entry straddle the page edge.
      const len = Math.min(PAGE + 1, this.bytes - start);
      return this.dev.read(this.bs.fatOffset + start, len);
    });
  }

  /** Raw FAT entry of `cluster`. */
  async entry(cluster: number): Promise<number> {
    const t = this.bs.fatType;
    const byte = t === 12 ? Math.floor(cluster * 1.5) : cluster * (t / 8);
    const p = Math.floor(byte / PAGE);
    const buf = await this.page(p);
    const o = byte - p * PAGE;
    if (t === 12) {
      const v = buf.readUInt16LE(o);
      return cluster & 1 ? v >> 4 : v & 0xfff;
    }
    return t === 16 ? buf.readUInt16LE(o) : buf.readUInt32LE(o) & 0x0fffffff;
  }

  isEnd(v: number): boolean {
    return v >= this.eoc;
  }

  checkCluster(c: number, what: string): void {
    if (c < 2 || c > this.bs.clusterCount + 1) {
      throw corrupt(`${this.dev.name}: FAT: ${what} cluster ${c} lies outside the volume's clusters 2..${this.bs.clusterCount + 1}`, {
        device: this.dev.name,
        cluster: c,
      });
    }
  }

  /**
   * Follows the chain from `first` until end-of-chain or `maxClusters` clusters
   * (whichever comes first). `what` names the owner for error messages.
   */
  async chain(first: number, maxClusters: number, what: string): Promise<{ runs: ClusterRun[]; clusters: number; ended: boolean }> {
    this.checkCluster(first, `${what}: first`);
    const runs: ClusterRun[] = [];
    const seen = new Set<number>();
    let c = first;
    let n = 0;
    const limit = Math.min(maxClusters, this.bs.clusterCount);
    for (;;) {
      if (seen.has(c)) {
        throw corrupt(`${this.dev.name}: FAT: ${what}: cluster chain loops back to cluster ${c} after ${n} clusters`, { device: this.dev.name, cluster: c });
      }
      seen.add(c);
      const last = runs[runs.length - 1];
      if (last && last.start + last.len === c) last.len++;
      else runs.push({ start: c, len: 1 });
      n++;
      if (n >= limit) return { runs, clusters: n, ended: false };
      const next = await this.entry(c);
      if (this.isEnd(next)) return { runs, clusters: n, ended: true };
      if (next === this.badMark) throw corrupt(`${this.dev.name}: FAT: ${what}: chain runs into bad cluster marker at cluster ${c}`, { device: this.dev.name, cluster: c });
      if (next === 0) throw corrupt(`${this.dev.name}: FAT: ${what}: chain runs into free cluster after cluster ${c}`, { device: this.dev.name, cluster: c });
      this.checkCluster(next, `${what}: chain entry of cluster ${c} points at`);
      c = next;
    }
  }

  /** Free clusters, counting the whole FAT (used when FSInfo cannot be trusted). */
  async countFree(): Promise<number> {
    const last = this.bs.clusterCount + 1;
    let free = 0;
    if (this.bs.fatType === 12) {
      for (let c = 2; c <= last; c++) if ((await this.entry(c)) === 0) free++;
      return free;
    }
    const per = this.bs.fatType / 8;
    for (let p = 0; p * PAGE < this.bytes && (p * PAGE) / per <= last; p++) {
      const buf = await this.page(p);
      const firstC = (p * PAGE) / per;
      const n = Math.floor(Math.min(PAGE, buf.length) / per);
      // entries [from, to) of this page are clusters 2..last; counted over a typed view (a
      // readUInt per entry cost ~0.3 ms per inspection on a 64 MiB ESP)
      const from = Math.max(0, 2 - firstC);
      const to = Math.min(n, last - firstC + 1);
      if (to <= from) continue;
      if (!LITTLE_ENDIAN) {
        for (let i = from; i < to; i++) if ((per === 2 ? buf.readUInt16LE(i * 2) : buf.readUInt32LE(i * 4) & 0x0fffffff) === 0) free++;
        continue;
      }
      const words = entriesView(buf, per, n);
      if (per === 2) {
        for (let i = from; i < to; i++) if (words[i] === 0) free++;
      } else {
        for (let i = from; i < to; i++) if ((words[i]! & 0x0fffffff) === 0) free++;
      }
    }
    return free;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The first `n` little-endian entries of `buf` as a typed array (copied when unaligned). */
function entriesView(buf: Buffer, per: number, n: number): Uint16Array | Uint32Array {
  const bytes = n * per;
  const aligned = buf.byteOffset % per === 0 ? buf : Buffer.from(buf.subarray(0, bytes));
  return per === 2 ? new Uint16Array(aligned.buffer, aligned.byteOffset, n) : new Uint32Array(aligned.buffer, aligned.byteOffset, n);
}
