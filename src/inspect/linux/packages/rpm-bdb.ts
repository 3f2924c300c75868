import { corrupt } from '../../../protocol/errors.js';

/** Berkeley DB page types this reader understands. */
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;
const HASH_MAGIC = 0x061561;
const BTREE_MAGIC = 0x053162;
const PAGE_HEADER = 26;
const DBMETA_CHKSUM = 0x01;

/**
 * Every value of a Berkeley DB hash database (rpm's legacy `Packages`), read
 * from the file bytes: hash pages give key/data pairs, large data lives on
 * overflow page chains. The byte order is the one of the host that wrote it,
 * told by the metadata magic.
 */
export function bdbHashValues(file: Buffer): Buffer[] {
  if (file.length < 512) throw corrupt(`rpm Packages (bdb): ${file.length} bytes is too short`);
  let le = true;
  if (file.readUInt32LE(12) === HASH_MAGIC) le = true;
  else if (file.readUInt32BE(12) === HASH_MAGIC) le = false;
  else if (file.readUInt32LE(12) === BTREE_MAGIC || file.readUInt32BE(12) === BTREE_MAGIC) {
    throw corrupt('rpm Packages (bdb): btree databases are not rpm package stores');
  } else throw corrupt('rpm Packages (bdb): bad metadata magic');
  const u16 = (off: number) => (le ? file.readUInt16LE(off) : file.readUInt16BE(off));
  const u32 = (off: number) => (le ? file.readUInt32LE(off) : file.readUInt32BE(off));
  const pageSize = u32(20);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw corrupt(`rpm Packages (bdb): page size ${pageSize} is invalid`);
  }
  if (file[24] !== 0) throw corrupt('rpm Packages (bdb): encrypted database');
  const overhead = PAGE_HEADER + (file[26]! & DBMETA_CHKSUM ? 20 : 0);
  const pages = Math.floor(file.length / pageSize);

  // Each overflow page belongs to one item: a page met twice (two items sharing a chain, or a
  // chain looping) is corruption, which also bounds the values' total size by the file's.
  const usedOverflow = new Set<number>();
  const overflow = (pgno: number, total: number): Buffer => {
    if (total > file.length) throw corrupt(`rpm Packages (bdb): overflow item of ${total} bytes is larger than the file`);
    const parts: Buffer[] = [];
    let done = 0;
    while (done < total) {
      if (pgno <= 0 || pgno >= pages || usedOverflow.has(pgno)) throw corrupt(`rpm Packages (bdb): overflow chain broken or shared at page ${pgno}`);
      usedOverflow.add(pgno);
      const base = pgno * pageSize;
      if (file[base + 25] !== P_OVERFLOW) throw corrupt(`rpm Packages (bdb): page ${pgno} is not an overflow page`);
      const len = u16(base + 22);
      if (len > pageSize - overhead || done + len > total) throw corrupt(`rpm Packages (bdb): overflow page ${pgno} length ${len} is invalid`);
      parts.push(file.subarray(base + overhead, base + overhead + len));
      done += len;
      pgno = u32(base + 16);
    }
    return Buffer.concat(parts, total);
  };

  const values: Buffer[] = [];
  for (let p = 1; p < pages; p++) {
    const base = p * pageSize;
    const type = file[base + 25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const entries = u16(base + 20);
    if (entries * 2 + overhead > pageSize) throw corrupt(`rpm Packages (bdb): page ${p} claims ${entries} entries`);
    // Entries alternate key, data; the data of pair i is entry 2i+1.
    for (let i = 1; i < entries; i += 2) {
      const off = u16(base + overhead + i * 2);
      const prev = u16(base + overhead + (i - 1) * 2);
      if (off >= pageSize || prev > pageSize || prev < off) throw corrupt(`rpm Packages (bdb): page ${p} item ${i} offset ${off} is invalid`);
      const itemType = file[base + off];
      if (itemType === H_KEYDATA) {
        // A view, not a copy: items pointing at one place must not multiply memory.
        values.push(file.subarray(base + off + 1, base + prev));
      } else if (itemType === H_OFFPAGE) {
        if (off + 12 > pageSize) throw corrupt(`rpm Packages (bdb): page ${p} item ${i} (off-page reference) runs past the page`);
        const pgno = u32(base + off + 4);
        const tlen = u32(base + off + 8);
        values.push(overflow(pgno, tlen));
      }
    }
  }
  return values;
}
