import { corrupt } from '../../../protocol/errors.js';

const HEADER_MAGIC = 0x506d7052; // "RpmP" little-endian
const SLOT_MAGIC = 0x746f6c53; // "Slot"
const BLOB_MAGIC = 0x53626c42; // "BlbS"
const SLOT_PAGE = 4096;
const BLK = 16;

/**
 * Header blobs of rpm's ndb store (`Packages.db`, SUSE's default): slot pages
 * at the start index blobs placed in 16-byte blocks further on.
 */
export function ndbBlobs(file: Buffer): Buffer[] {
  if (file.length < SLOT_PAGE || file.readUInt32LE(0) !== HEADER_MAGIC) throw corrupt('rpm Packages.db (ndb): bad header magic');
  const slotPages = file.readUInt32LE(12);
  if (slotPages < 1 || slotPages * SLOT_PAGE > file.length) throw corrupt(`rpm Packages.db (ndb): ${slotPages} slot pages do not fit the file`);
  const out: Buffer[] = [];
  // The first two slots of page 0 hold the file header.
  for (let off = 32; off < slotPages * SLOT_PAGE; off += 16) {
    if (file.readUInt32LE(off) !== SLOT_MAGIC) throw corrupt(`rpm Packages.db (ndb): bad slot magic at ${off}`);
    const pkgidx = file.readUInt32LE(off + 4);
    if (pkgidx === 0) continue;
    const blkoff = file.readUInt32LE(off + 8);
    const blkcnt = file.readUInt32LE(off + 12);
    const start = blkoff * BLK;
    if (start + 16 > file.length || start + blkcnt * BLK > file.length) throw corrupt(`rpm Packages.db (ndb): slot at ${off} points past the end`);
    if (file.readUInt32LE(start) !== BLOB_MAGIC || file.readUInt32LE(start + 4) !== pkgidx) {
      throw corrupt(`rpm Packages.db (ndb): blob of package ${pkgidx} has a bad header`);
    }
    const size = file.readUInt32LE(start + 12);
    if (16 + size > blkcnt * BLK) throw corrupt(`rpm Packages.db (ndb): blob of package ${pkgidx} is larger than its slot`);
    // A view, not a copy: slots naming one blob must not multiply memory.
    out.push(file.subarray(start + 16, start + 16 + size));
  }
  return out;
}
