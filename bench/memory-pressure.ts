// Memory under pressure (issue 17): hostile images — real fixtures with the header fields that
// size parser allocations set to huge values (table sizes, entry counts, block and cluster
// sizes, partition-entry counts, an EBR chain that loops) — inspected 16 at a time by one
// `guestkit worker` with a 512 MiB heap cap per handler thread. Measured: the worker's RSS
// (all its threads) sampled from /proc/<pid>/status over the run and its peak (VmHWM), and the
// typed end of every job. test/worker/memory-pressure.test.ts runs one round and asserts it.
// Run: node --import tsx bench/memory-pressure.ts [rounds=3] [--concurrency=16] [--memory-limit-mb=512]
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { REPO } from '../test/helpers/fixtures.js';

const repo = REPO;
const fixtures = join(repo, 'test/fixtures/out');

export interface HostileImage {
  /** Short id, usable in a job id. */
  id: string;
  path: string;
  format: string;
  what: string;
}

/** Error codes of job protocol v1 a failed job may carry. */
export const PROTOCOL_CODES = new Set([
  'VALIDATION_ERROR', 'UNSUPPORTED_OPERATION', 'CAPABILITY_MISMATCH', 'IMAGE_NOT_FOUND', 'IMAGE_CHECKSUM_MISMATCH', 'PATH_NOT_ALLOWED',
  'UNSUPPORTED_FORMAT', 'CORRUPT_IMAGE', 'ENCRYPTED', 'NO_OS_FOUND', 'EXECUTION_ERROR', 'TIMEOUT', 'CANCELLED', 'WORKER_LOST',
]);

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC32C without the final inversion, from seed ~0 (what ext4 stores). */
function crc32cRaw(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** A fixture copied into `dir` and patched in place. */
function patched(dir: string, fixture: string, name: string, patch: (b: Buffer) => void): string {
  const src = join(fixtures, fixture);
  if (!existsSync(src)) throw new Error(`fixture missing: ${src} (run: bash test/fixtures/build-all.sh)`);
  const out = join(dir, name);
  copyFileSync(src, out);
  // headers live in the first MiB or the last sector: patch those only (files up to ~75 MiB)
  const buf = readFileSync(out);
  patch(buf);
  writeFileSync(out, buf);
  return out;
}

function findGuid(buf: Buffer, guid: string, from = 0): number {
  const h = guid.replace(/-/g, '');
  const le = (s: string) => Buffer.from(s, 'hex').reverse();
  const bytes = Buffer.concat([le(h.slice(0, 8)), le(h.slice(8, 12)), le(h.slice(12, 16)), Buffer.from(h.slice(16), 'hex')]);
  return buf.indexOf(bytes, from);
}

/** VHD dynamic header: its checksum is the ones' complement of the byte sum, the field taken as 0. */
function vhdDynHeader(buf: Buffer, set: (h: Buffer) => void): void {
  const footer = buf.subarray(buf.length - 512);
  const at = Number(footer.readBigUInt64BE(16));
  const h = buf.subarray(at, at + 1024);
  set(h);
  h.writeUInt32BE(0, 36);
  let sum = 0;
  for (const b of h) sum += b;
  h.writeUInt32BE(~sum >>> 0, 36);
}

/** ext4 superblock fields changed, its metadata_csum checksum made right again. */
function ext4Super(buf: Buffer, set: (sb: Buffer) => void): void {
  const sb = buf.subarray(1024, 2048);
  set(sb);
  if (sb.readUInt32LE(100) & 0x400) sb.writeUInt32LE(crc32cRaw(sb.subarray(0, 1020)), 1020);
}

/** A 4 MiB raw disk holding only a GPT whose header (CRC right) claims 16 M entries of 128 bytes (2 GiB). */
function gptBomb(path: string): void {
  const sectors = 8192;
  const buf = Buffer.alloc(sectors * 512);
  buf[446 + 4] = 0xee;
  buf.writeUInt32LE(1, 446 + 8);
  buf.writeUInt32LE(sectors - 1, 446 + 12);
  buf.writeUInt16LE(0xaa55, 510);
  const h = buf.subarray(512, 512 + 92);
  h.write('EFI PART', 0, 'latin1');
  h.writeUInt32LE(0x00010000, 8);
  h.writeUInt32LE(92, 12);
  h.writeBigUInt64LE(1n, 24);
  h.writeBigUInt64LE(BigInt(sectors - 1), 32);
  h.writeBigUInt64LE(34n, 40);
  h.writeBigUInt64LE(BigInt(sectors - 34), 48);
  Buffer.from('0123456789abcdef0123456789abcdef', 'hex').copy(h, 56);
  h.writeBigUInt64LE(2n, 72);
  h.writeUInt32LE(0x00ffffff, 80);
  h.writeUInt32LE(128, 84);
  h.writeUInt32LE(0, 88);
  h.writeUInt32LE(crc32(h), 16);
  writeFileSync(path, buf);
}

/** A 4 MiB raw disk whose extended partition's EBR links to itself (an endless logical chain). */
function ebrLoop(path: string): void {
  const buf = Buffer.alloc(8192 * 512);
  const entry = (sector: number, slot: number, type: number, start: number, size: number) => {
    const o = sector * 512 + 446 + slot * 16;
    buf[o + 4] = type;
    buf.writeUInt32LE(start, o + 8);
    buf.writeUInt32LE(size, o + 12);
  };
  entry(0, 0, 0x05, 2048, 6144);
  buf.writeUInt16LE(0xaa55, 510);
  entry(2048, 0, 0x83, 1, 16);
  entry(2048, 1, 0x05, 0, 6144); // next EBR = the extended partition's start: this one again
  buf.writeUInt16LE(0xaa55, 2048 * 512 + 510);
  writeFileSync(path, buf);
}

/** The hostile set, written into `dir` (about 300 MB of copies; the files are fixtures, patched). */
export function makeHostileImages(dir: string): HostileImage[] {
  mkdirSync(dir, { recursive: true });
  const out: HostileImage[] = [];
  const add = (id: string, path: string, format: string, what: string) => out.push({ id, path, format, what });
  const q = (id: string, what: string, patch: (b: Buffer) => void) => add(id, patched(dir, 'inspect/rpm-guest.qcow2', `${id}.qcow2`, patch), 'qcow2', what);
  q('qcow2-l1', 'qcow2 l1_size 2^31-1 (a 16 GiB L1 table)', (b) => b.writeUInt32BE(0x7fffffff, 36));
  q('qcow2-refcount', 'qcow2 refcount_table_clusters 2^24-1', (b) => b.writeUInt32BE(0x00ffffff, 56));
  q('qcow2-snapshots', 'qcow2 nb_snapshots 65536 at cluster 1', (b) => {
    b.writeUInt32BE(0x10000, 60);
    b.writeBigUInt64BE(65536n, 64);
  });
  q('qcow2-cluster', 'qcow2 cluster_bits 30 (1 GiB clusters and L2 tables)', (b) => b.writeUInt32BE(30, 20));
  const vhd = (id: string, what: string, set: (h: Buffer) => void) => add(id, patched(dir, 'disk-formats/dynamic.vhd', `${id}.vhd`, (b) => vhdDynHeader(b, set)), 'vhd', what);
  vhd('vhd-bat', 'VHD max_table_entries 2^31-1 (an 8 GiB BAT)', (h) => h.writeUInt32BE(0x7fffffff, 28));
  vhd('vhd-block', 'VHD block_size 2 GiB', (h) => h.writeUInt32BE(0x80000000, 32));
  const vdi = (id: string, what: string, patch: (b: Buffer) => void) => add(id, patched(dir, 'disk-formats/dynamic.vdi', `${id}.vdi`, patch), 'vdi', what);
  vdi('vdi-blocks', 'VDI blocks_in_image 2^31-1 (an 8 GiB block map)', (b) => b.writeUInt32LE(0x7fffffff, 0x180));
  vdi('vdi-blocksize', 'VDI block_size 2 GiB', (b) => b.writeUInt32LE(0x80000000, 0x178));
  const vmdk = (id: string, what: string, patch: (b: Buffer) => void) => add(id, patched(dir, 'disk-formats/sparse.vmdk', `${id}.vmdk`, patch), 'vmdk', what);
  vmdk('vmdk-gtes', 'VMDK num_gtes_per_gt 2^31-1 (8 GiB grain tables)', (b) => b.writeUInt32LE(0x7fffffff, 44));
  vmdk('vmdk-grain', 'VMDK grain_size 2^30 sectors (512 GiB grains)', (b) => b.writeBigUInt64LE(1n << 30n, 20));
  vmdk('vmdk-capacity', 'VMDK capacity 2^50 sectors (a huge grain directory)', (b) => b.writeBigUInt64LE(1n << 50n, 12));
  add('vhdx-size', patched(dir, 'disk-formats/dynamic.vhdx', 'vhdx-size.vhdx', (b) => {
    // metadata items are not checksummed: the virtual disk size item set to 1 PiB
    const region = findGuid(b, '8B7CA206-4790-4B9A-B8FE-575F050F886E', 192 * 1024);
    const meta = Number(b.readBigUInt64LE(region + 16));
    const item = findGuid(b, '2FA54224-CD1B-4876-B211-5DBED83BF4B8', meta);
    if (region < 0 || item < 0) throw new Error('vhdx: metadata not found');
    b.writeBigUInt64LE(1n << 50n, meta + b.readUInt32LE(item + 16));
  }), 'vhdx', 'VHDX virtual disk size 1 PiB (a huge BAT)');
  add('fat-tables', patched(dir, 'fs-ext/fat12.img', 'fat-tables.img', (b) => {
    b.writeUInt16LE(0xffff, 17); // root entries
    b[16] = 255; // FAT copies
    b.writeUInt16LE(0xffff, 22); // sectors per FAT
  }), 'raw', 'FAT 255 FATs of 65535 sectors, 65535 root entries');
  const ext4 = (id: string, what: string, set: (sb: Buffer) => void) => add(id, patched(dir, 'fs-ext/ext4-small.img', `${id}.img`, (b) => ext4Super(b, set)), 'raw', what);
  ext4('ext4-groups', 'ext4 blocks_per_group 8 (millions of group descriptors)', (sb) => sb.writeUInt32LE(8, 32));
  ext4('ext4-inodes', 'ext4 inodes_count and inodes_per_group 2^32-1', (sb) => {
    sb.writeUInt32LE(0xffffffff, 0);
    sb.writeUInt32LE(0xffffffff, 40);
  });
  gptBomb(join(dir, 'gpt-entries.img'));
  add('gpt-entries', join(dir, 'gpt-entries.img'), 'raw', 'GPT with 16 M partition entries (header CRC right)');
  ebrLoop(join(dir, 'ebr-loop.img'));
  add('ebr-loop', join(dir, 'ebr-loop.img'), 'raw', 'MBR extended partition whose EBR links to itself');
  // a sound guest among them: the pressure must not cost it its result
  const sound = join(dir, 'sound.qcow2');
  copyFileSync(join(fixtures, 'inspect/rpm-guest.qcow2'), sound);
  add('sound', sound, 'qcow2', 'unpatched RPM guest (control)');
  return out;
}

export function inspectJob(jobId: string, img: HostileImage): string {
  return JSON.stringify({
    version: '1.0',
    job_id: jobId,
    created_at: new Date().toISOString(),
    kind: 'VMOperation',
    operation: 'guestkit.inspect',
    execution: { timeout_seconds: 300 },
    payload: { type: 'guestkit.inspect.v1', data: { image: { path: img.path, format: img.format } } },
  });
}

/** Current and peak resident memory of a process in MiB (/proc/<pid>/status). */
export function memOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 3);
  const conc = Number(args.find((a) => a.startsWith('--concurrency='))?.slice(14) ?? 16);
  const cap = Number(args.find((a) => a.startsWith('--memory-limit-mb='))?.slice(18) ?? 512);
  const root = mkdtempSync(join(tmpdir(), 'gk-mem-bench-'));
  try {
    const images = makeHostileImages(join(root, 'images'));
    const jobs = join(root, 'jobs');
    const results = join(root, 'results');
    const staging = join(root, 'staging');
    for (const d of [jobs, results, staging]) mkdirSync(d, { recursive: true });
    const worker = spawn(
      process.execPath,
      ['--import', 'tsx', join(repo, 'src/cli/run.ts'), 'worker', '--worker-id', 'bench-mem', '--jobs-dir', jobs, '--results-dir', results, '--data-dir', join(root, 'state'),
        '--max-concurrent', String(conc), '--memory-limit-mb', String(cap), '--allow-path', join(root, 'images'), '--log-level', 'warn'],
      { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const pid = worker.pid!;
    let exited = false;
    worker.on('exit', () => (exited = true));
    try {
      while (!existsSync(join(jobs, 'claimed', 'bench-mem'))) {
        if (exited) throw new Error('worker exited');
        await new Promise((r) => setTimeout(r, 100));
      }
      const before = memOf(pid);
      const ids: { id: string; img: HostileImage }[] = [];
      for (let r = 0; r < rounds; r++) for (const img of images) ids.push({ id: `mem-${img.id}-${r}`, img });
      for (const { id, img } of ids) writeFileSync(join(staging, `${id}.json`), inspectJob(id, img));
      const t0 = performance.now();
      for (const { id } of ids) renameSync(join(staging, `${id}.json`), join(jobs, `${id}.json`));
      let maxRss = 0;
      const count = () => readdirSync(results).filter((f) => f.endsWith('-result.json')).length;
      while (count() < ids.length) {
        if (exited) throw new Error('worker exited during the run');
        maxRss = Math.max(maxRss, memOf(pid).rss);
        await new Promise((r) => setTimeout(r, 100));
      }
      const secs = (performance.now() - t0) / 1000;
      const peak = memOf(pid).hwm;
      console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model}, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
      console.log(`${ids.length} inspect jobs (${images.length} images × ${rounds}), concurrency ${conc}, --memory-limit-mb ${cap}: all ended in ${secs.toFixed(1)} s`);
      console.log(`worker RSS before ${before.rss.toFixed(0)} MiB; sampled max ${maxRss.toFixed(0)} MiB; peak (VmHWM) ${peak.toFixed(0)} MiB; worst case ${conc} × ${cap} = ${conc * cap} MiB`);
      const byImage = new Map<string, string[]>();
      for (const { id, img } of ids) {
        const r = JSON.parse(readFileSync(join(results, `${id}-result.json`), 'utf8')) as { status: string; error?: { code: string; message: string }; metrics?: { peak_memory_mb?: number } };
        const typed = r.status === 'completed' || (r.error && PROTOCOL_CODES.has(r.error.code));
        const cell = `${r.status}${r.error ? ` ${r.error.code}` : ''}${typed ? '' : ' (UNTYPED)'} ${r.metrics?.peak_memory_mb ?? '?'} MiB`;
        byImage.set(img.id, [...(byImage.get(img.id) ?? []), cell]);
      }
      for (const img of images) console.log(`  ${img.id.padEnd(16)} ${img.what.padEnd(58)} ${byImage.get(img.id)!.join(' | ')}`);
      const first = (id: string) => JSON.parse(readFileSync(join(results, `mem-${id}-0-result.json`), 'utf8')) as { error?: { message: string } };
      for (const img of images) if (first(img.id).error) console.log(`    ${img.id}: ${first(img.id).error!.message.slice(0, 160)}`);
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => (exited ? r(undefined) : worker.once('exit', r)));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
