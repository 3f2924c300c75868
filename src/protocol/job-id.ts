import { randomFillSync } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const POOL = Buffer.alloc(16 * 256);
let poolAt = POOL.length;

/**
 * A fresh job id, `job-<ULID>`: sortable by creation time (10 time characters, then 16 random
 * ones, Crockford base32). The randomness comes from a pool filled 256 ids at a time; reading
 * the CSPRNG per character cost ~130 µs per id, more than the rest of admission together.
 */
export function newJobId(now: number = Date.now()): string {
  if (poolAt + 16 > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  let time = '';
  let t = Math.floor(now);
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  // 256 is a multiple of 32: the low 5 bits of a uniform byte are uniform
  for (let i = 0; i < 16; i++) rand += CROCKFORD[POOL[poolAt++]! & 31]!;
  return `job-${time}${rand}`;
}
