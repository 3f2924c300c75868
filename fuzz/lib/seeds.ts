import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../../test/helpers/cli.js';
import { encodeChunks, type Chunk } from './sparse.js';

export { repoRoot };

/** A file the fixture builders made (test/fixtures/out/...), or undefined when it was not built. */
export function fixtureFile(...parts: string[]): string | undefined {
  const p = join(repoRoot(), 'test', 'fixtures', 'out', ...parts);
  return existsSync(p) ? p : undefined;
}

/** Seeds bigger than this are left out: the fuzzer mutates every byte of its inputs. */
export const MAX_SEED = 4 << 20;

/** The fixture files as they are (small files: hives, package databases, configs). */
export function fileSeeds(paths: (string | undefined)[]): Buffer[] {
  return paths.filter((p): p is string => p !== undefined).map((p) => readFileSync(p)).filter((b) => b.length <= MAX_SEED);
}

/** The fixture images, sparse-encoded (only their nonzero 4 KiB blocks); big data-heavy ones left out. */
export async function sparseSeeds(paths: (string | undefined)[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const p of paths) {
    if (!p) continue;
    const seed = await encodeFile(p);
    if (seed && seed.length <= MAX_SEED) out.push(seed);
  }
  return out;
}

/** Reads the file in 1 MiB steps, keeping nonzero blocks; gives up once past MAX_SEED of data. */
async function encodeFile(path: string): Promise<Buffer | undefined> {
  const f = await open(path, 'r');
  try {
    const size = (await f.stat()).size;
    const kept: Chunk[] = [];
    let total = 0;
    const step = 1 << 20;
    const buf = Buffer.alloc(step);
    for (let off = 0; off < size; off += step) {
      const { bytesRead } = await f.read(buf, 0, Math.min(step, size - off), off);
      for (let b = 0; b < bytesRead; b += 4096) {
        const block = buf.subarray(b, Math.min(b + 4096, bytesRead));
        if (block.every((x) => x === 0)) continue;
        kept.push({ offset: off + b, data: Buffer.from(block) });
        if ((total += block.length) > MAX_SEED) return undefined;
      }
    }
    return encodeChunks(size, kept);
  } finally {
    await f.close();
  }
}

/**
 * The first records of a text database (dpkg status, apk installed: records end at a blank
 * line), cut at a record end near each size: small seeds of real records, quicker to mutate.
 */
export function stanzaSlices(buf: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (const size of sizes) {
    if (size >= buf.length) {
      out.push(buf);
      break;
    }
    const end = buf.lastIndexOf('\n\n', size);
    if (end > 0) out.push(buf.subarray(0, end + 2));
  }
  return out;
}

/** The job protocol's example documents, as the repository keeps them (test/protocol/examples). */
export function specExamples(): Buffer[] {
  const dir = join(repoRoot(), 'test', 'protocol', 'examples');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}
