import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertImage, type ConvertFormat } from '../../src/disk/convert.js';
import { openImage } from '../../src/disk/open.js';
import type { BlockDevice } from '../../src/disk/types.js';
import { vhdSizing } from '../../src/disk/vhd/writer.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { fixture } from '../helpers/fixtures.js';

const MiB = 1024 * 1024;

interface Target {
  label: string;
  format: ConvertFormat;
  compress: boolean;
  subformat?: string;
  qemuFormat: string;
  /** qemu-img check supports the format. */
  check: boolean;
  sizeOf(src: number): number;
}
const up512 = (n: number) => Math.ceil(n / 512) * 512;
const TARGETS: Target[] = [
  { label: 'vmdk monolithicSparse', format: 'vmdk', compress: false, qemuFormat: 'vmdk', check: true, sizeOf: up512 },
  { label: 'vmdk streamOptimized', format: 'vmdk', compress: true, qemuFormat: 'vmdk', check: true, sizeOf: up512 },
  { label: 'vhd dynamic', format: 'vhd', compress: false, qemuFormat: 'vpc', check: false, sizeOf: (n) => vhdSizing(n).size },
  { label: 'vhd fixed', format: 'vhd', compress: false, subformat: 'fixed', qemuFormat: 'vpc', check: false, sizeOf: (n) => vhdSizing(n).size },
  { label: 'vdi dynamic', format: 'vdi', compress: false, qemuFormat: 'vdi', check: true, sizeOf: up512 },
  { label: 'vhdx dynamic', format: 'vhdx', compress: false, qemuFormat: 'vhdx', check: true, sizeOf: up512 },
];

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gk-convfmt-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function qemu(args: string[]): string {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `qemu-img ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Reads both devices whole through our readers and compares (the output may be longer: zeros there). */
async function sameContent(a: BlockDevice, b: BlockDevice): Promise<void> {
  assert.ok(b.size >= a.size);
  const piece = 8 * MiB;
  for (let off = 0; off < b.size; off += piece) {
    const len = Math.min(piece, b.size - off);
    const want = off >= a.size ? Buffer.alloc(len) : Buffer.concat([await a.read(off, Math.min(len, a.size - off)), Buffer.alloc(Math.max(0, off + len - a.size))]);
    const got = await b.read(off, len);
    if (!want.equals(got)) {
      let i = 0;
      while (want[i] === got[i]) i++;
      assert.fail(`our reader: output differs at ${off + i}`);
    }
  }
}

/** Converts `srcPath` to every target and checks each with qemu-img and our reader; returns allocated bytes per target. */
async function convertAll(dir: string, srcPath: string, opts: { readBack: boolean; sparseBelow: number; targets?: Target[] }): Promise<void> {
  for (const t of opts.targets ?? TARGETS) {
    const dst = join(dir, `out-${t.format}${t.compress ? '-stream' : ''}${t.subformat ? `-${t.subformat}` : ''}.${t.format}`);
    const src = await openImage(srcPath);
    const seen: number[] = [];
    let res;
    try {
      res = await convertImage(src, dst, { format: t.format, compress: t.compress, subformat: t.subformat, onProgress: (d) => seen.push(d) });
      assert.equal(res.virtual_size, t.sizeOf(src.size), `${t.label}: virtual size`);
      assert.equal(seen.at(-1), src.size, `${t.label}: progress reaches the end`);
      assert.ok(seen.every((v, i) => i === 0 || v > seen[i - 1]!), `${t.label}: progress increases`);
    } finally {
      await src.close();
    }
    const info = JSON.parse(qemu(['info', '--output=json', '-f', t.qemuFormat, dst])) as { format: string; 'virtual-size': number; 'format-specific'?: { data?: { 'create-type'?: string } } };
    assert.equal(info.format, t.qemuFormat, t.label);
    assert.equal(info['virtual-size'], res.virtual_size, `${t.label}: qemu-img info virtual size`);
    if (t.format === 'vmdk') assert.equal(info['format-specific']?.data?.['create-type'], t.compress ? 'streamOptimized' : 'monolithicSparse');
    if (t.check) assert.match(qemu(['check', '-f', t.qemuFormat, dst]), /No errors were found on the image/, t.label);
    // -F: qemu probes a fixed VHD (footer only at the end) as raw
    assert.match(qemu(['compare', '-F', t.qemuFormat, srcPath, dst]), /Images are identical/, t.label);
    const st = await stat(dst);
    assert.equal(st.size, res.file_size);
    assert.ok(st.blocks * 512 < opts.sparseBelow, `${t.label}: output allocates ${st.blocks * 512} bytes (bound ${opts.sparseBelow})`);
    if (opts.readBack) {
      const [a, b] = [await openImage(srcPath), await openImage(dst)];
      try {
        assert.equal(b.format, t.format);
        assert.equal(b.size, res.virtual_size);
        await sameContent(a, b);
      } finally {
        await a.close();
        await b.close();
      }
    }
  }
}

function qemuIo(path: string, fmt: string, cmds: string[]): void {
  execFileSync('qemu-io', ['-f', fmt, ...cmds.flatMap((c) => ['-c', c]), path], { stdio: 'ignore' });
}

test('convert to vmdk/vhd/vdi/vhdx: an all-zero disk allocates nothing', async () => {
  await withTmp(async (dir) => {
    const src = join(dir, 'zero.qcow2');
    qemu(['create', '-q', '-f', 'qcow2', src, '256M']);
    await convertAll(dir, src, { readBack: true, sparseBelow: 1 * MiB });
  });
});

test('convert to vmdk/vhd/vdi/vhdx: data at the very end, a size not a multiple of grain or block', async () => {
  await withTmp(async (dir) => {
    const src = join(dir, 'odd.qcow2');
    const size = 100 * MiB + 3 * 65536 + 7 * 512; // not a multiple of 64 KiB, 1 MiB or 2 MiB
    qemu(['create', '-q', '-f', 'qcow2', src, String(size)]);
    qemuIo(src, 'qcow2', [
      'write -P 0x11 0 4k',
      'write -P 0x22 1M 192k',
      'write -P 0x33 33M 64k', // past the first grain table (32 MiB)
      'write -z 33M 4k', // a grain only partly zero
      `write -P 0x44 ${size - 3 * 512} 1536`, // the last sectors
    ]);
    await convertAll(dir, src, { readBack: true, sparseBelow: 8 * MiB });
  });
});

test('convert to vmdk/vhd/vdi/vhdx: a raw source (not allocation-aware) with zero runs inside its data', async () => {
  await withTmp(async (dir) => {
    const src = join(dir, 'src.raw');
    const buf = Buffer.alloc(48 * MiB);
    for (let i = 0; i < buf.length; i += 4096) if ((i / 4096) % 37 < 3) buf.fill((i / 4096) & 0xff || 1, i, i + 4096);
    buf.fill(0, 5 * MiB, 7 * MiB); // zero blocks between data
    buf.fill(0, 20 * MiB, 40 * MiB);
    await writeFile(src, buf);
    await convertAll(dir, src, { readBack: true, sparseBelow: 40 * MiB });
  });
});

test('convert to vmdk/vhd/vdi/vhdx: a raw source whose size is not a whole sector', async () => {
  await withTmp(async (dir) => {
    const src = join(dir, 'odd.raw');
    const buf = Buffer.alloc(5_000_007);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
    await writeFile(src, buf);
    await convertAll(dir, src, { readBack: true, sparseBelow: 8 * MiB });
  });
});

test('convert to vmdk/vhd/vdi/vhdx: the Debian guest qcow2 (2 GiB) stays sparse and identical (qemu-img and our reader)', async () => {
  await withTmp(async (dir) => {
    const src = fixture('inspect', 'debian.qcow2');
    const used = (await stat(src)).blocks * 512;
    // the output holds at most the source's data plus a little metadata
    await convertAll(dir, src, { readBack: true, sparseBelow: used + 16 * MiB });
  });
});

test('convert to vmdk/vhd/vdi/vhdx: a 200 GiB sparse disk (past the VHD CHS limit) keeps its exact size', async () => {
  await withTmp(async (dir) => {
    const src = join(dir, 'large.qcow2');
    const size = 200 * 1024 * MiB;
    qemu(['create', '-q', '-f', 'qcow2', src, String(size)]);
    qemuIo(src, 'qcow2', ['write -P 0x71 0 64k', `write -P 0x72 ${150 * 1024 * MiB} 1M`, `write -P 0x73 ${size - 4096} 4k`]);
    assert.equal(vhdSizing(size).size, size, 'above 127 GiB a VHD keeps the exact size');
    // a fixed VHD of 200 GiB would be compared byte by byte by qemu-img: left to the small cases
    await convertAll(dir, src, { readBack: false, sparseBelow: 64 * MiB, targets: TARGETS.filter((t) => t.subformat !== 'fixed') });
  });
});

test('convert: cancelling mid-way leaves no output, for every writer', async () => {
  await withTmp(async (dir) => {
    const src = join(dir, 'src.raw');
    const buf = Buffer.alloc(16 * MiB, 0x5c);
    await writeFile(src, buf);
    const dev = await openImage(src);
    try {
      for (const t of TARGETS) {
        const ac = new AbortController();
        const steps: number[] = [];
        const dst = join(dir, `c.${t.format}`);
        await assert.rejects(
          convertImage(dev, dst, { format: t.format, compress: t.compress, subformat: t.subformat, chunkSize: 65536, signal: ac.signal, onProgress: (d) => {
            steps.push(d);
            if (d >= 4 * MiB) ac.abort();
          } }),
          (err: unknown) => isGuestkitError(err) && err.code === 'CANCELLED',
        );
        assert.ok(steps.at(-1)! < 16 * MiB, `${t.label}: stopped before the end`);
      }
    } finally {
      await dev.close();
    }
    assert.deepEqual((await import('node:fs')).readdirSync(dir), ['src.raw']);
  });
});

test('convert: formats and options the writers refuse are typed errors', async () => {
  await withTmp(async (dir) => {
    const src = join(dir, 'big.qcow2');
    qemu(['create', '-q', '-f', 'qcow2', src, '3T']);
    const dev = await openImage(src);
    try {
      const code = async (p: Promise<unknown>) => {
        try {
          await p;
        } catch (err) {
          assert.ok(isGuestkitError(err), String(err));
          return { code: err.code, message: err.message };
        }
        assert.fail('expected an error');
      };
      assert.equal((await code(convertImage(dev, join(dir, 'x.ova'), { format: 'ova' as ConvertFormat }))).code, 'UNSUPPORTED_FORMAT');
      assert.equal((await code(convertImage(dev, join(dir, 'x.vhd'), { format: 'vhd', compress: true }))).code, 'VALIDATION_ERROR');
      assert.equal((await code(convertImage(dev, join(dir, 'x.vdi'), { format: 'vdi', subformat: 'fixed' }))).code, 'VALIDATION_ERROR');
      const vhd = await code(convertImage(dev, join(dir, 'x.vhd'), { format: 'vhd' }));
      assert.equal(vhd.code, 'UNSUPPORTED_FORMAT');
      assert.match(vhd.message, /2040 GiB/);
      assert.equal((await code(convertImage(dev, join(dir, 'x.vmdk'), { format: 'vmdk' }))).code, 'UNSUPPORTED_FORMAT');
      const huge = join(dir, 'huge.qcow2');
      qemu(['create', '-q', '-f', 'qcow2', huge, '65T']);
      const h = await openImage(huge);
      try {
        const vhdx = await code(convertImage(h, join(dir, 'x.vhdx'), { format: 'vhdx' }));
        assert.equal(vhdx.code, 'UNSUPPORTED_FORMAT');
        assert.match(vhdx.message, /64 TiB/);
      } finally {
        await h.close();
      }
    } finally {
      await dev.close();
    }
    // nothing is left behind
    assert.deepEqual((await import('node:fs')).readdirSync(dir).sort(), ['big.qcow2', 'huge.qcow2']);
  });
});

test('guestkit image convert -O vmdk -c / -O vpc / -O vdi / -O vhdx: qemu-img finds each identical', async () => {
  const { runCli } = await import('../helpers/cli.js');
  await withTmp(async (dir) => {
    const src = join(dir, 's.qcow2');
    qemu(['create', '-q', '-f', 'qcow2', src, '64M']);
    qemuIo(src, 'qcow2', ['write -P 0x5a 3M 200k', 'write -P 0x6b 63M 1M']);
    for (const [args, name, fmt, createType] of [
      [['-O', 'vmdk', '-c'], 'o.vmdk', 'vmdk', 'streamOptimized'],
      [['-O', 'vmdk'], 'p.vmdk', 'vmdk', 'monolithicSparse'],
      [['-O', 'vpc'], 'o.vhd', 'vpc', undefined],
      [['-O', 'vdi'], 'o.vdi', 'vdi', undefined],
      [['-O', 'vhdx'], 'o.vhdx', 'vhdx', undefined],
      [['-O', 'vmdk', '-o', 'subformat=streamOptimized'], 's.vmdk', 'vmdk', 'streamOptimized'],
      [['-O', 'vpc', '-o', 'subformat=fixed'], 'f.vhd', 'vpc', undefined],
    ] as const) {
      const r = await runCli(['image', 'convert', ...args, '--json', src, join(dir, name)], undefined, { timeoutMs: 120_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { format: string }).format, fmt === 'vpc' ? 'vhd' : fmt);
      const info = JSON.parse(qemu(['info', '--output=json', '-f', fmt, join(dir, name)])) as { format: string; 'format-specific'?: { data?: { 'create-type'?: string } } };
      assert.equal(info.format, fmt);
      if (createType) assert.equal(info['format-specific']?.data?.['create-type'], createType);
      assert.match(qemu(['compare', '-F', fmt, src, join(dir, name)]), /Images are identical/);
    }
    const bad = await runCli(['image', 'convert', '-O', 'vhd', '-c', src, join(dir, 'c.vhd')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /USAGE_ERROR: -c \(compression\) needs -O qcow2/);
    const opt = await runCli(['image', 'convert', '-O', 'vdi', '-o', 'cluster_size=1M', src, join(dir, 'c.vdi')]);
    assert.equal(opt.code, 2);
    assert.match(opt.stderr, /USAGE_ERROR: -o cluster_size/);
  });
});
