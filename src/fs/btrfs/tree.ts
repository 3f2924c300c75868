import type { BlockDevice } from '../../disk/types.js';
import { corrupt } from '../../protocol/errors.js';
import { BinaryReader } from '../../util/binary.js';
import type { ChunkMap } from './chunk.js';
import { KEY_SIZE, cmpKey, readKey, type Key } from './key.js';
import { Lru } from '../../util/lru.js';

const HEADER_SIZE = 101;
const ITEM_SIZE = KEY_SIZE + 8; // key, data offset, data size
const PTR_SIZE = KEY_SIZE + 16; // key, block pointer, generation
/** BTRFS_MAX_LEVEL: trees are at most 8 levels (0..7). */
export const MAX_LEVEL = 7;

export interface Item {
  key: Key;
  data: Buffer;
}

interface Node {
  level: number;
  keys: Key[];
  /** Leaves: item data; internal nodes: child block pointers. */
  items: Buffer[];
  ptrs: number[];
}

/** Reads and caches tree nodes; every node's header (bytenr, fsid, level) is checked against how it was reached. */
export class TreeReader {
  private readonly cache = new Lru<number, Node>(1024);

  constructor(
    private readonly dev: BlockDevice,
    private readonly chunks: ChunkMap,
    private readonly nodeSize: number,
    private readonly fsid: Buffer,
  ) {}

  async node(logical: number, level: number): Promise<Node> {
    const hit = this.cache.get(logical);
    if (hit) {
      if (hit.level !== level) throw corrupt(`btrfs: tree block ${logical} is at level ${hit.level}, expected ${level}`);
      return hit;
    }
    const { physical, avail } = this.chunks.map(logical, 'tree block');
    if (avail < this.nodeSize) throw corrupt(`btrfs: tree block ${logical} crosses the end of its chunk`);
    const r = new BinaryReader(await this.dev.read(physical, this.nodeSize), `btrfs tree block ${logical}`);
    if (!r.bytes(32, 16).equals(this.fsid)) throw corrupt(`btrfs: tree block ${logical} belongs to another filesystem (fsid mismatch)`);
    if (r.u64le(48) !== logical) throw corrupt(`btrfs: tree block at ${logical} records bytenr ${r.u64le(48)}`);
    const lvl = r.u8(100);
    if (lvl !== level) throw corrupt(`btrfs: tree block ${logical} is at level ${lvl}, expected ${level}`);
    const n = r.u32le(96);
    const keys: Key[] = [];
    const items: Buffer[] = [];
    const ptrs: number[] = [];
    if (lvl === 0) {
      if (HEADER_SIZE + n * ITEM_SIZE > this.nodeSize) throw corrupt(`btrfs: leaf ${logical} claims ${n} items`);
      for (let i = 0; i < n; i++) {
        const o = HEADER_SIZE + i * ITEM_SIZE;
        keys.push(readKey(r, o));
        const dOff = r.u32le(o + KEY_SIZE);
        const dLen = r.u32le(o + KEY_SIZE + 4);
        items.push(r.bytes(HEADER_SIZE + dOff, dLen));
      }
    } else {
      if (HEADER_SIZE + n * PTR_SIZE > this.nodeSize || n === 0) throw corrupt(`btrfs: node ${logical} claims ${n} pointers`);
      for (let i = 0; i < n; i++) {
        const o = HEADER_SIZE + i * PTR_SIZE;
        keys.push(readKey(r, o));
        ptrs.push(r.u64le(o + KEY_SIZE));
      }
    }
    for (let i = 1; i < keys.length; i++) {
      if (cmpKey(keys[i - 1]!, keys[i]!) >= 0) throw corrupt(`btrfs: tree block ${logical} has keys out of order`);
    }
    const node = { level: lvl, keys, items, ptrs };
    this.cache.set(logical, node);
    return node;
  }

  /**
   * Items with min <= key <= max, in key order. Descends only into children
   * that can hold such keys; levels strictly decrease, so loops cannot occur.
   */
  async *range(root: number, rootLevel: number, min: Key, max: Key): AsyncGenerator<Item> {
    if (rootLevel > MAX_LEVEL) throw corrupt(`btrfs: tree root ${root} claims level ${rootLevel}`);
    yield* this.walk(root, rootLevel, min, max, undefined, undefined);
  }

  private async *walk(logical: number, level: number, min: Key, max: Key, lo: Key | undefined, hi: Key | undefined): AsyncGenerator<Item> {
    const node = await this.node(logical, level);
    // A child's keys start at its parent's key and stay below the next one; this keeps
    // subtrees disjoint, so a block linked from two places cannot multiply the work.
    const first = node.keys[0];
    const last = node.keys[node.keys.length - 1];
    if ((lo && (!first || cmpKey(first, lo) !== 0)) || (hi && last && cmpKey(last, hi) >= 0)) {
      throw corrupt(`btrfs: tree block ${logical} holds keys outside the range its parent gives it`);
    }
    if (level === 0) {
      let i = lowerBound(node.keys, min);
      for (; i < node.keys.length; i++) {
        const k = node.keys[i]!;
        if (cmpKey(k, max) > 0) return;
        yield { key: k, data: node.items[i]! };
      }
      return;
    }
    // Child i holds keys in [keys[i], keys[i+1]); start at the last child whose first key <= min.
    let i = Math.max(0, lowerBound(node.keys, min) - 1);
    if (i + 1 < node.keys.length && cmpKey(node.keys[i + 1]!, min) <= 0) i++;
    for (; i < node.keys.length; i++) {
      if (cmpKey(node.keys[i]!, max) > 0) return;
      yield* this.walk(node.ptrs[i]!, level - 1, min, max, node.keys[i], node.keys[i + 1] ?? hi);
    }
  }

  /** The item with exactly `key`, if any. */
  async get(root: number, rootLevel: number, key: Key): Promise<Item | undefined> {
    for await (const it of this.range(root, rootLevel, key, key)) return it;
    return undefined;
  }
}

/** First index whose key is >= k. */
function lowerBound(keys: Key[], k: Key): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmpKey(keys[mid]!, k) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
