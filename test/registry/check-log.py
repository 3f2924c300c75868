#!/usr/bin/env python3
"""An independent reader of registry transaction logs, for the tests: written in another
language straight from the format description (msuhanov's "Windows registry file format
specification", "Format of transaction log files"), sharing no code with src/registry or with
log-builder.ts, so a log the builder frames wrongly (or a Marvin32 slip) shows up here.

Usage: check-log.py LOG  ->  JSON on stdout:
  {"format": "new"|"old", "checksum_ok": bool, "file_type": n, "sequences": [p, s],
   "bins_size": n, "entries": [{"offset", "size", "sequence", "bins_size",
   "pages": [[offset, size], ...], "hash1_ok", "hash2_ok"}]}          (new format)
   "dirty_pages": [offset, ...]                                        (old format)
"""
import json
import struct
import sys

MASK = 0xFFFFFFFF
SEED = 0x82EF4D887A4E55C5


def rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & MASK


def marvin32(data, seed=SEED):
    lo, hi = seed & MASK, seed >> 32

    def mix(lo, hi):
        hi ^= lo
        lo = rotl(lo, 20)
        lo = (lo + hi) & MASK
        hi = rotl(hi, 9)
        hi ^= lo
        lo = rotl(lo, 27)
        lo = (lo + hi) & MASK
        hi = rotl(hi, 19)
        return lo, hi

    n = len(data) // 4 * 4
    for i in range(0, n, 4):
        lo = (lo + struct.unpack_from('<I', data, i)[0]) & MASK
        lo, hi = mix(lo, hi)
    tail = data[n:] + b'\x80'
    tail += b'\x00' * (4 - len(tail))
    lo = (lo + struct.unpack('<I', tail)[0]) & MASK
    lo, hi = mix(lo, hi)
    lo, hi = mix(lo, hi)
    return (hi << 32) | lo


def main():
    data = open(sys.argv[1], 'rb').read()
    assert data[:4] == b'regf', 'no regf base block'
    x = 0
    for (d,) in struct.iter_unpack('<I', data[:508]):
        x ^= d
    x = 1 if x == 0 else 0xFFFFFFFE if x == MASK else x
    prim, sec = struct.unpack_from('<II', data, 4)
    ftype = struct.unpack_from('<I', data, 28)[0]
    bins = struct.unpack_from('<I', data, 40)[0]
    out = {'checksum_ok': x == struct.unpack_from('<I', data, 508)[0], 'file_type': ftype,
           'sequences': [prim, sec], 'bins_size': bins}
    if ftype == 6:
        out['format'] = 'new'
        entries = []
        off = 512
        while off + 40 <= len(data) and data[off:off + 4] == b'HvLE':
            size, _flags, seq, ebins, count = struct.unpack_from('<IIIII', data, off + 4)
            h1, h2 = struct.unpack_from('<QQ', data, off + 24)
            entry = data[off:off + size]
            pages = [list(struct.unpack_from('<II', entry, 40 + 8 * i)) for i in range(count)]
            entries.append({'offset': off, 'size': size, 'sequence': seq, 'bins_size': ebins, 'pages': pages,
                            'hash1_ok': marvin32(entry[40:]) == h1, 'hash2_ok': marvin32(entry[:32]) == h2})
            off += size
        out['entries'] = entries
    else:
        out['format'] = 'old'
        assert data[512:516] == b'DIRT', 'no dirty vector'
        bitmap = data[516:516 + bins // 512 // 8]
        out['dirty_pages'] = [i * 512 for i in range(bins // 512) if bitmap[i // 8] >> (i % 8) & 1]
    json.dump(out, sys.stdout)


main()
