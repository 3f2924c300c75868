import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertImage } from '../../src/disk/convert.js';
import { openImage } from '../../src/disk/open.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { diskFixture, sha256Device, sha256File } from './helpers.js';

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gk-convert-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function qemuCheck(path: string): string {
  const r = spawnSync('qemu-img', ['check', '-f', 'qcow2', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, `qemu-img check failed:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /No errors were found on the image/);
  return r.stdout;
}

function qemuCompare(a: string, b: string): void {
  const r = spawnSync('qemu-img', ['compare', a, b], { encoding: 'utf8' });
  assert.equal(r.status, 0, `qemu-img compare ${a} ${b}:\n${r.stdout}${r.stderr}`);
}

const CASES: [string, string, 'raw' | 'qcow2', boolean][] = [
  ['ref.raw', 'ref.raw', 'qcow2', false],
  ['ref.raw', 'ref.raw', 'qcow2', true],
  ['top.qcow2', 'ref3.raw', 'qcow2', false],
  ['top.qcow2', 'ref3.raw', 'qcow2', true],
  ['zstd.qcow2', 'ref.raw', 'raw', false],
  ['l2ext-top.qcow2', 'ref2x.raw', 'raw', false],
  ['c512.qcow2', 'ref.raw', 'qcow2', true],
];

for (const [srcName, refName, format, compress] of CASES) {
  test(`convert ${srcName} -> ${format}${compress ? ' -c' : ''}: qemu-img check clean, compare identical, our reader agrees`, async () => {
    await withTmp(async (dir) => {
      const src = await openImage(diskFixture(srcName));
      const dst = join(dir, `out.${format}`);
      const seen: number[] = [];
      let res;
      try {
        res = await convertImage(src, dst, { format, compress, onProgress: (d) => seen.push(d) });
      } finally {
        await src.close();
      }
      assert.equal(res.virtual_size, 64 * 1048576);
      assert.equal(seen.at(-1), 64 * 1048576, 'progress reaches the end');
      assert.ok(seen.every((v, i) => i === 0 || v > seen[i - 1]!), 'progress increases');
      if (format === 'qcow2') {
        const out = qemuCheck(dst);
        if (compress) assert.match(out, /[1-9][0-9.]*% compressed clusters/);
        else assert.match(out, / 0\.00% compressed clusters/);
      } else {
        // Sparse: the holes of the 64 MiB disk are not allocated.
        const st = await stat(dst);
        assert.equal(st.size, 64 * 1048576);
        assert.ok(st.blocks * 512 < 40 * 1048576, `raw output allocates ${st.blocks * 512} bytes`);
      }
      qemuCompare(dst, diskFixture(refName));
      const back = await openImage(dst);
      try {
        assert.equal(`${await sha256Device(back)}`, await sha256File(diskFixture(refName)));
      } finally {
        await back.close();
      }
    });
  });
}

test('convert: compressed qcow2 output is smaller than uncompressed; incompressible clusters stay plain', async () => {
  await withTmp(async (dir) => {
    const src = await openImage(diskFixture('ref.raw'));
    try {
      const a = await convertImage(src, join(dir, 'a.qcow2'), { format: 'qcow2' });
      const b = await convertImage(src, join(dir, 'b.qcow2'), { format: 'qcow2', compress: true });
      assert.ok(b.file_size < a.file_size * 0.8, `${b.file_size} vs ${a.file_size}`);
      // Random runs in the reference do not compress: the map shows both kinds.
      const map = JSON.parse(execFileSync('qemu-img', ['map', '--output=json', join(dir, 'b.qcow2')], { encoding: 'utf8' })) as {
        data: boolean;
        offset?: number;
      }[];
      assert.ok(map.some((m) => m.data && m.offset !== undefined), 'some plain data clusters');
      assert.ok(map.some((m) => m.data && m.offset === undefined), 'some compressed clusters');
    } finally {
      await src.close();
    }
  });
});

test('convert: an empty-data disk gives a valid qcow2 of the right size and a fully sparse raw', async () => {
  await withTmp(async (dir) => {
    execFileSync('qemu-img', ['create', '-f', 'qcow2', join(dir, 'empty.qcow2'), '100M']);
    const src = await openImage(join(dir, 'empty.qcow2'));
    try {
      await convertImage(src, join(dir, 'e.qcow2'), { format: 'qcow2' });
      qemuCheck(join(dir, 'e.qcow2'));
      const r = await convertImage(src, join(dir, 'e.raw'), { format: 'raw' });
      assert.equal(r.data_bytes, 0);
      assert.equal((await stat(join(dir, 'e.raw'))).blocks, 0);
    } finally {
      await src.close();
    }
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', join(dir, 'e.qcow2')], { encoding: 'utf8' }));
    assert.equal(info['virtual-size'], 100 * 1048576);
  });
});

test('convert: a cancelled conversion leaves no output and throws CANCELLED', async () => {
  await withTmp(async (dir) => {
    const src = await openImage(diskFixture('v3.qcow2'));
    const ac = new AbortController();
    try {
      await assert.rejects(
        convertImage(src, join(dir, 'x.qcow2'), { format: 'qcow2', signal: ac.signal, onProgress: () => ac.abort() }),
        (e: unknown) => isGuestkitError(e, 'CANCELLED'),
      );
    } finally {
      await src.close();
    }
    await assert.rejects(stat(join(dir, 'x.qcow2')));
    assert.equal(spawnSync('sh', ['-c', `ls -A ${dir} | wc -l`], { encoding: 'utf8' }).stdout.trim(), '0');
  });
});

test('convert: a corrupt source fails with its typed error and leaves no output', async () => {
  await withTmp(async (dir) => {
    const src = await openImage(diskFixture('bad-l2-past-eof.qcow2'));
    try {
      await assert.rejects(convertImage(src, join(dir, 'x.raw'), { format: 'raw' }), (e: unknown) => isGuestkitError(e, 'CORRUPT_IMAGE'));
    } finally {
      await src.close();
    }
    await assert.rejects(stat(join(dir, 'x.raw')));
  });
});

test('convert: a raw source whose size is not a sector multiple becomes a qcow2 rounded up to 512 bytes, as qemu-img does', async () => {
  await withTmp(async (dir) => {
    const { randomBytes } = await import('node:crypto');
    const { writeFile, readFile } = await import('node:fs/promises');
    const data = randomBytes(1_000_001);
    await writeFile(join(dir, 'odd.img'), data);
    const src = await openImage(join(dir, 'odd.img'), { format: 'img' });
    try {
      const r = await convertImage(src, join(dir, 'odd.qcow2'), { format: 'qcow2', compress: true, chunkSize: 65536 });
      assert.equal(r.virtual_size, 1_000_448);
    } finally {
      await src.close();
    }
    qemuCheck(join(dir, 'odd.qcow2'));
    execFileSync('qemu-img', ['convert', '-O', 'raw', join(dir, 'odd.qcow2'), join(dir, 'back.raw')]);
    const back = await readFile(join(dir, 'back.raw'));
    assert.equal(back.length, 1_000_448);
    assert.ok(back.subarray(0, data.length).equals(data));
    assert.ok(back.subarray(data.length).equals(Buffer.alloc(1_000_448 - data.length)));
  });
});
