import { corrupt } from '../../protocol/errors.js';

/**
 * LZO1X decompressor (the format of lzo1x_decompress_safe), every input and
 * output access bounds-checked; `max` caps the output.
 */
export function lzo1xDecompress(src: Uint8Array, max: number): Buffer {
  const out = Buffer.alloc(max);
  let ip = 0;
  let op = 0;
  let t = 0;
  let state = 0;
  let next = 0;
  const bad = (why: string): never => {
    throw corrupt(`lzo: ${why} (input ${ip}/${src.length}, output ${op}/${max})`);
  };
  const inb = (): number => (ip < src.length ? src[ip++]! : bad('input overrun'));
  const le16 = (): number => {
    if (ip + 2 > src.length) bad('input overrun');
    const v = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    return v;
  };
  const literals = (n: number): void => {
    if (ip + n > src.length) bad('literal run past input');
    if (op + n > max) bad('output overrun');
    out.set(src.subarray(ip, ip + n), op);
    ip += n;
    op += n;
  };
  const zeroRun = (base: number): number => {
    let n = 0;
    while (ip < src.length && src[ip] === 0) {
      ip++;
      if (++n > src.length) bad('run length');
    }
    return n * 255 + base + inb();
  };
  const copyMatch = (mpos: number, n: number): void => {
    if (mpos < 0) bad('match before start of output');
    if (op + n > max) bad('output overrun');
    // Matches may overlap their own output: copy forwards byte by byte when they do.
    if (op - mpos >= n) out.copy(out, op, mpos, mpos + n);
    else for (let k = 0; k < n; k++) out[op + k] = out[mpos + k]!;
    op += n;
  };

  if (src.length === 0) bad('empty input');
  if (src[0]! > 17) {
    t = inb() - 17;
    if (t < 4) {
      next = t;
      literals(next);
      state = next;
    } else {
      literals(t);
      state = 4;
    }
  }
  for (;;) {
    t = inb();
    let mpos: number;
    if (t < 16) {
      if (state === 0) {
        if (t === 0) t = zeroRun(15);
        literals(t + 3);
        state = 4;
        continue;
      } else if (state !== 4) {
        next = t & 3;
        mpos = op - 1 - (t >> 2) - (inb() << 2);
        copyMatch(mpos, 2);
        literals(next);
        state = next;
        continue;
      } else {
        next = t & 3;
        mpos = op - (1 + 0x0800) - (t >> 2) - (inb() << 2);
        t = 3;
      }
    } else if (t >= 64) {
      next = t & 3;
      mpos = op - 1 - ((t >> 2) & 7) - (inb() << 3);
      t = (t >> 5) - 1 + 2;
    } else if (t >= 32) {
      t = (t & 31) + 2;
      if (t === 2) t = zeroRun(31) + 2;
      next = le16();
      mpos = op - 1 - (next >> 2);
      next &= 3;
    } else {
      mpos = op - ((t & 8) << 11);
      t = (t & 7) + 2;
      if (t === 2) t = zeroRun(7) + 2;
      next = le16();
      mpos -= next >> 2;
      next &= 3;
      if (mpos === op) {
        if (t !== 3) bad('bad end-of-stream marker');
        return out.subarray(0, op);
      }
      mpos -= 0x4000;
    }
    copyMatch(mpos, t);
    literals(next);
    state = next;
  }
}
