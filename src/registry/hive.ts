import { corrupt } from '../protocol/errors.js';
import { BASE_BLOCK_SIZE, parseBaseBlock, type BaseBlock } from './base-block.js';
import { decodeMultiString, decodeString, REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_EXPAND_SZ, REG_LINK, REG_MULTI_SZ, REG_QWORD, REG_SZ, typeName } from './data.js';
import { NONE, parseKeyNode, type KeyNode } from './key-node.js';
import { BufferSource, PatchedSource, type HiveSource } from './source.js';
import { replayLogs, type LogFile } from './transaction-log.js';
import { foldName, lhHash, readSubkeyList, type SubkeyRef } from './subkey-list.js';
import { parseValueKey, readValueData, type ValueKey } from './value-key.js';

const HBIN_HEADER = 32;
/** Key nodes remembered by offset; paths such as ControlSet001\Services are walked repeatedly. */
const NODE_CACHE = 4096;

export interface HiveOptions {
  /**
   * The hive's transaction logs (.LOG1, .LOG2, or an old .LOG). When the hive is dirty they
   * are replayed in memory (see transaction-log.ts); without a usable one a dirty hive is read
   * as its primary file holds it, with a warning.
   */
  logs?: LogFile[];
}

/**
 * An open registry hive (REGF). Read-only: a dirty hive's transaction logs are replayed over
 * an in-memory overlay of the primary file, never written back.
 */
export class Hive {
  readonly warnings: string[] = [];
  private readonly nodes = new Map<number, KeyNode>();

  private constructor(
    private readonly src: HiveSource,
    readonly base: BaseBlock,
    /** Bytes of hive bins data actually usable (header value clipped to the file). */
    readonly binsSize: number,
  ) {}

  static async open(input: Buffer | HiveSource, name = 'registry hive', opts: HiveOptions = {}): Promise<Hive> {
    let src = Buffer.isBuffer(input) ? new BufferSource(input) : input;
    if (src.size < BASE_BLOCK_SIZE + HBIN_HEADER) throw corrupt(`${name}: ${src.size} bytes is too short for a hive`);
    let base = parseBaseBlock(await src.read(0, BASE_BLOCK_SIZE));
    const warnings: string[] = [];
    const badChecksum = base.checksum !== base.computedChecksum;
    if (badChecksum) {
      warnings.push(`${name}: base block checksum 0x${base.checksum.toString(16)} does not match its contents (0x${base.computedChecksum.toString(16)})`);
    }
    if (base.majorVersion !== 1) throw corrupt(`${name}: unsupported REGF version ${base.majorVersion}.${base.minorVersion}`);
    if (base.primarySequence !== base.secondarySequence) {
      const primaryBins = Math.min(base.binsSize - (base.binsSize % 4096), Math.floor((src.size - BASE_BLOCK_SIZE) / 4096) * 4096);
      const replay = opts.logs && opts.logs.length > 0 ? replayLogs(base, primaryBins, opts.logs) : undefined;
      if (replay) warnings.push(...replay.warnings);
      if (replay && replay.applied > 0) {
        // a damaged primary base block is recovered from the log's copy
        const from = badChecksum && replay.logBase ? replay.logBase : base;
        base = { ...from, fileType: 0, primarySequence: replay.sequence, secondarySequence: replay.sequence, binsSize: replay.binsSize };
        base.checksum = base.computedChecksum;
        src = new PatchedSource(src, replay.sectors, Math.max(src.size, BASE_BLOCK_SIZE + replay.binsSize));
        warnings.push(`${name}: hive was dirty; replayed ${replay.applied} transaction log ${replay.applied === 1 ? 'record' : 'records'} from ${replay.used.join(', ')} in memory (now at sequence number ${replay.sequence})`);
      } else {
        warnings.push(
          `${name}: hive is dirty (sequence numbers ${base.primarySequence} and ${base.secondarySequence} differ) and has no usable transaction log; it is not replayed, recent changes may be missing`,
        );
      }
    }
    const available = Math.floor((src.size - BASE_BLOCK_SIZE) / 4096) * 4096;
    let binsSize = base.binsSize;
    if (binsSize === 0 || binsSize % 4096 !== 0 || binsSize > available) {
      warnings.push(`${name}: header states ${base.binsSize} bytes of hive bins, the file holds ${available}; using ${Math.min(available, binsSize || available)}`);
      binsSize = binsSize === 0 ? available : Math.min(available, binsSize - (binsSize % 4096) || available);
    }
    const bin = await src.read(BASE_BLOCK_SIZE, HBIN_HEADER);
    if (bin.toString('latin1', 0, 4) !== 'hbin') throw corrupt(`${name}: no "hbin" signature at offset 0x1000`);
    const h = new Hive(src, base, binsSize);
    h.warnings.push(...warnings);
    return h;
  }

  /** The payload of the cell at `offset` (relative to the first hbin); only allocated cells. */
  async cell(offset: number, what = 'cell'): Promise<Buffer> {
    const where = `0x${offset.toString(16)}`;
    if (offset === NONE || offset % 4 !== 0 || offset < HBIN_HEADER || offset + 8 > this.binsSize) {
      throw corrupt(`registry hive: ${what} offset ${where} lies outside the hive bins (${this.binsSize} bytes)`);
    }
    const size = (await this.src.read(BASE_BLOCK_SIZE + offset, 4)).readInt32LE(0);
    if (size >= 0) throw corrupt(`registry hive: ${what} at ${where} is a free cell`);
    const len = -size;
    if (len < 8 || offset + len > this.binsSize) throw corrupt(`registry hive: ${what} at ${where} has impossible size ${len}`);
    return this.src.read(BASE_BLOCK_SIZE + offset + 4, len - 4);
  }

  /** Each hbin in file order (offset relative to the first, size); for checks and tools. */
  async *hbins(): AsyncGenerator<{ offset: number; size: number }> {
    let off = 0;
    for (let n = 0; off < this.binsSize && n < this.binsSize / 4096; n++) {
      const b = await this.src.read(BASE_BLOCK_SIZE + off, HBIN_HEADER);
      if (b.toString('latin1', 0, 4) !== 'hbin') throw corrupt(`registry hive: no hbin at 0x${(BASE_BLOCK_SIZE + off).toString(16)}`);
      const size = b.readUInt32LE(8);
      if (b.readUInt32LE(4) !== off || size < 4096 || size % 4096 !== 0 || off + size > this.binsSize) {
        throw corrupt(`registry hive: hbin at 0x${(BASE_BLOCK_SIZE + off).toString(16)} has bad offset/size ${b.readUInt32LE(4)}/${size}`);
      }
      yield { offset: off, size };
      off += size;
    }
  }

  /** Still dirty as read: no transaction log was replayed over the primary file. */
  get dirty(): boolean {
    return this.base.primarySequence !== this.base.secondarySequence;
  }

  async node(offset: number): Promise<KeyNode> {
    let n = this.nodes.get(offset);
    if (!n) {
      n = parseKeyNode(await this.cell(offset, 'key'), offset);
      if (this.nodes.size >= NODE_CACHE) this.nodes.delete(this.nodes.keys().next().value!);
      this.nodes.set(offset, n);
    }
    return n;
  }

  async root(): Promise<RegKey> {
    return new RegKey(this, await this.node(this.base.rootCell), '');
  }

  /** A key by path below the root ("Microsoft\\Windows NT\\CurrentVersion", / also accepted), case-insensitive. */
  async key(path: string): Promise<RegKey | undefined> {
    let k: RegKey | undefined = await this.root();
    for (const part of path.split(/[\\/]/)) {
      if (part === '') continue;
      k = await k.subkey(part);
      if (!k) return undefined;
    }
    return k;
  }

  /**
   * Visits every key depth-first (parents before children, subkeys in stored order).
   * A key reached twice means the index loops: CORRUPT_IMAGE, never an endless walk.
   */
  async walk(visit: (key: RegKey) => Promise<void> | void): Promise<number> {
    const seen = new Set<number>();
    const stack: RegKey[] = [await this.root()];
    while (stack.length > 0) {
      const k = stack.pop()!;
      if (seen.has(k.node.offset)) throw corrupt(`registry hive: key at 0x${k.node.offset.toString(16)} (${k.path || 'root'}) is reached twice; the key index loops`);
      seen.add(k.node.offset);
      await visit(k);
      const subs = await k.subkeys();
      for (let i = subs.length - 1; i >= 0; i--) stack.push(subs[i]!);
    }
    return seen.size;
  }

  /** Upper bound for any count read from the hive: every record takes at least 8 bytes. */
  get maxRecords(): number {
    return Math.floor(this.binsSize / 8);
  }
}

export class RegKey {
  constructor(
    readonly hive: Hive,
    readonly node: KeyNode,
    /** Path from the root, backslash-separated ('' for the root). */
    readonly path: string,
  ) {}

  get name(): string {
    return this.node.name;
  }

  /** Last write time of the key. */
  get lastWritten(): Date {
    return filetimeToDate(this.node.lastWritten);
  }

  private async refs(): Promise<SubkeyRef[]> {
    const n = this.node;
    if (n.subkeyCount === 0 || n.subkeyList === NONE) return [];
    if (n.subkeyCount > this.hive.maxRecords) throw corrupt(`registry hive: key ${this.where} claims ${n.subkeyCount} subkeys`);
    return readSubkeyList((o, w) => this.hive.cell(o, w), n.subkeyList, n.subkeyCount);
  }

  async subkeys(): Promise<RegKey[]> {
    const out: RegKey[] = [];
    for (const r of await this.refs()) out.push(this.child(await this.hive.node(r.offset)));
    return out;
  }

  /** One subkey by name, case-insensitively; lh hashes skip non-matching keys without reading them. */
  async subkey(name: string): Promise<RegKey | undefined> {
    const refs = await this.refs();
    const want = foldName(name);
    const hash = lhHash(name);
    for (const r of refs) {
      if (r.hash !== undefined && r.hash !== hash) continue;
      const n = await this.hive.node(r.offset);
      if (foldName(n.name) === want) return this.child(n);
    }
    // A name outside ASCII may hash differently from Windows' own upcase table: compare them all.
    if (/[^\x00-\x7f]/.test(name)) {
      for (const r of refs) {
        if (r.hash === undefined || r.hash === hash) continue;
        const n = await this.hive.node(r.offset);
        if (foldName(n.name) === want) return this.child(n);
      }
    }
    return undefined;
  }

  /** The key's value records (names and types), without their data. */
  private async valueKeys(): Promise<ValueKey[]> {
    const n = this.node;
    if (n.valueCount === 0 || n.valueList === NONE) return [];
    const list = await this.hive.cell(n.valueList, 'value list');
    if (n.valueCount * 4 > list.length) throw corrupt(`registry hive: key ${this.where} claims ${n.valueCount} values, its value list holds ${list.length >> 2}`);
    const out: ValueKey[] = [];
    for (let i = 0; i < n.valueCount; i++) {
      const off = list.readUInt32LE(i * 4);
      out.push(parseValueKey(await this.hive.cell(off, 'value'), off));
    }
    return out;
  }

  private async load(vk: ValueKey): Promise<RegValue> {
    const data = await readValueData((o, w) => this.hive.cell(o, w), vk, this.hive.base.minorVersion, this.hive.binsSize);
    return new RegValue(vk.name, vk.type, data);
  }

  async values(): Promise<RegValue[]> {
    const out: RegValue[] = [];
    for (const vk of await this.valueKeys()) out.push(await this.load(vk));
    return out;
  }

  /** A value by name, case-insensitively ('' is the default value); only its own data is read. */
  async value(name: string): Promise<RegValue | undefined> {
    const want = foldName(name);
    const vk = (await this.valueKeys()).find((v) => foldName(v.name) === want);
    return vk ? this.load(vk) : undefined;
  }

  private child(n: KeyNode): RegKey {
    return new RegKey(this.hive, n, this.path === '' ? n.name : `${this.path}\\${n.name}`);
  }

  private get where(): string {
    return `${this.path || '(root)'} at 0x${this.node.offset.toString(16)}`;
  }
}

export class RegValue {
  constructor(
    readonly name: string,
    readonly type: number,
    readonly data: Buffer,
  ) {}

  get typeName(): string {
    return typeName(this.type);
  }

  /** String data (REG_SZ, REG_EXPAND_SZ, REG_LINK); other types give undefined. */
  string(): string | undefined {
    return this.type === REG_SZ || this.type === REG_EXPAND_SZ || this.type === REG_LINK ? decodeString(this.data) : undefined;
  }

  strings(): string[] | undefined {
    if (this.type === REG_MULTI_SZ) return decodeMultiString(this.data);
    const s = this.string();
    return s === undefined ? undefined : [s];
  }

  /** REG_DWORD (little- or big-endian); undefined for other types or short data. */
  dword(): number | undefined {
    if (this.data.length < 4) return undefined;
    if (this.type === REG_DWORD) return this.data.readUInt32LE(0);
    if (this.type === REG_DWORD_BIG_ENDIAN) return this.data.readUInt32BE(0);
    return undefined;
  }

  qword(): bigint | undefined {
    return this.type === REG_QWORD && this.data.length >= 8 ? this.data.readBigUInt64LE(0) : undefined;
  }

  /** A number from DWORD or QWORD data (QWORDs beyond 2^53 give undefined). */
  number(): number | undefined {
    const d = this.dword();
    if (d !== undefined) return d;
    const q = this.qword();
    return q !== undefined && q <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(q) : undefined;
  }
}

/** FILETIME (100 ns ticks since 1601-01-01) to a Date. */
export function filetimeToDate(ft: bigint): Date {
  return new Date(Number(ft / 10000n) - 11644473600000);
}

export function openHive(input: Buffer | HiveSource, name?: string, opts?: HiveOptions): Promise<Hive> {
  return Hive.open(input, name, opts);
}
