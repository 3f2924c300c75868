/**
 * Walks a 50,000-file ext4 tree through the Vfs (readdir + lstat of every
 * entry), cold caches each run (a fresh device and filesystem): wall time and
 * bytes pulled from the image (ReadStats of the FileSource).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawDevice } from '../src/disk/raw.js';
import { newReadStats } from '../src/disk/types.js';
import { openFilesystem } from '../src/fs/open.js';
import { Vfs } from '../src/fs/vfs.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'out');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const FILES = 50_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** 50 top directories × 5 subdirectories × 200 files, 0–200 bytes each. */
function buildTree(dir: string): void {
  if (existsSync(dir + '.done')) return;
  rmSync(dir, { recursive: true, force: true });
  let n = 0;
  for (let a = 0; a < 50; a++) {
    for (let b = 0; b < 5; b++) {
      const d = join(dir, `top${a.toString().padStart(2, '0')}`, `sub${b}`);
      mkdirSync(d, { recursive: true });
      for (let f = 0; f < FILES / 250; f++, n++) writeFileSync(join(d, `file-${n.toString().padStart(5, '0')}.txt`), 'x'.repeat(n % 201));
    }
  }
  writeFileSync(dir + '.done', '');
}

function buildImage(tree: string, img: string): void {
  if (existsSync(img)) return;
  const tmp = img + '.tmp';
  rmSync(tmp, { force: true });
  writeFileSync(tmp, '');
  truncateSync(tmp, 1024 ** 3);
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-E', 'root_owner=0:0', '-d', tree, tmp], {
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` },
  });
  execFileSync('mv', [tmp, img]);
}

async function walkOnce(img: string, type: string): Promise<{ ms: number; bytes: number; reads: number; entries: number }> {
  const stats = newReadStats();
  const t = process.hrtime.bigint();
  const dev = await RawDevice.open(img, stats);
  let entries = 0;
  try {
    const vfs = new Vfs(await openFilesystem(dev, type));
    const walk = async (p: string): Promise<void> => {
      for (const e of await vfs.readdir(p)) {
        const cp = p === '/' ? `/${e.name}` : `${p}/${e.name}`;
        const st = await vfs.lstat(cp);
        entries++;
        if (st.isDirectory()) await walk(cp);
      }
    };
    await walk('/');
  } finally {
    await dev.close();
  }
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, bytes: stats.bytesRead, reads: stats.reads, entries };
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const tree = join(OUT, 'fs-walk-tree');
  const img = join(OUT, 'fs-walk-ext4.img');
  let t = Date.now();
  buildTree(tree);
  buildImage(tree, img);
  if (Date.now() - t > 1000) console.log(`  (built tree and image in ${((Date.now() - t) / 1000).toFixed(1)} s)`);
  const ms: number[] = [];
  const bytes: number[] = [];
  const reads: number[] = [];
  let entries = 0;
  for (let i = 0; i < RUNS; i++) {
    const r = await walkOnce(img, 'ext4');
    ms.push(r.ms);
    bytes.push(r.bytes);
    reads.push(r.reads);
    entries = r.entries;
  }
  console.log(`fs-walk: ext4, ${entries} entries (readdir + lstat each), cold caches, medians of ${RUNS} runs`);
  console.log(`  wall ${median(ms).toFixed(0)} ms, read ${(median(bytes) / 1048576).toFixed(2)} MiB in ${median(reads)} reads (${(median(ms) * 1000 / entries).toFixed(1)} µs/entry)`);
}

await main();
