import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lznt1Decompress } from '../../src/fs/ntfs/lznt1.js';
import { GuestkitError } from '../../src/protocol/errors.js';

const isCorrupt = (e: unknown) => e instanceof GuestkitError && e.code === 'CORRUPT_IMAGE';
/** One compressed chunk: 2-byte header (0xB000 | size-1) then the token stream. */
const chunk = (body: number[]) => Buffer.from([(body.length - 1) & 0xff, 0xb0 | ((body.length - 1) >> 8), ...body]);
const abc = [...Buffer.from('abc')];

test('lznt1: literals and an overlapping back-reference, zero-filled to the chunk', () => {
  // tag 0b1000: three literals then a match of length 6 at distance 3 (token (3-1)<<12 | (6-3))
  const out = Buffer.alloc(8192, 0xee);
  lznt1Decompress(chunk([0x08, ...abc, 0x03, 0x20]), out, 't');
  assert.equal(out.subarray(0, 9).toString(), 'abcabcabc');
  assert.ok(out.subarray(9).equals(Buffer.alloc(8192 - 9)));
});

test('lznt1: an uncompressed chunk is copied as is', () => {
  const raw = Buffer.alloc(4096, 0x41);
  const src = Buffer.concat([Buffer.from([0xff, 0x3f]), raw]);
  const out = Buffer.alloc(4096);
  lznt1Decompress(src, out, 't');
  assert.ok(out.equals(raw));
});

test('lznt1: hostile streams are CORRUPT_IMAGE', () => {
  const out = () => Buffer.alloc(4096);
  // back-reference before anything was produced
  assert.throws(() => lznt1Decompress(chunk([0x01, 0x00, 0x00]), out(), 't'), isCorrupt);
  // distance larger than what the chunk holds so far
  assert.throws(() => lznt1Decompress(chunk([0x08, ...abc, 0x03, 0x50]), out(), 't'), isCorrupt);
  // chunk header claims more bytes than there are
  assert.throws(() => lznt1Decompress(Buffer.from([0x10, 0xb0, 0x00, 0x41]), out(), 't'), isCorrupt);
  // a match running past the 4 KiB chunk end (length 4095+3 at distance 1)
  assert.throws(() => lznt1Decompress(chunk([0x02, 0x41, 0xff, 0x0f]), out(), 't'), isCorrupt);
  // uncompressed chunk larger than the unit that receives it
  assert.throws(() => lznt1Decompress(Buffer.concat([Buffer.from([0xff, 0x3f]), Buffer.alloc(4096)]), Buffer.alloc(1000), 't'), isCorrupt);
});
