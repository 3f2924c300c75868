import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, crc32cWithHole } from '../../src/util/crc32c.js';

test('crc32c: standard check value, empty input, continuation', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  // RFC 3720 B.4 vectors: 32 bytes of zeros, of 0xff
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  const data = Buffer.from('The quick brown fox jumps over the lazy dog');
  assert.equal(crc32c(data.subarray(10), crc32c(data.subarray(0, 10))), crc32c(data));
});

test('crc32cWithHole: equals the CRC of a copy with the field zeroed, and leaves the buffer alone', () => {
  const buf = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff));
  const before = Buffer.from(buf);
  for (const at of [0, 4, 150, 296]) {
    const copy = Buffer.from(buf);
    copy.fill(0, at, at + 4);
    assert.equal(crc32cWithHole(buf, at), crc32c(copy));
  }
  assert.deepEqual(buf, before);
  assert.throws(() => crc32cWithHole(buf, 297), RangeError);
});
