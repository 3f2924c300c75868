/**
 * Where advisory JSON comes from: a directory tree of `*.json` files (and `*.zip` archives in
 * it), an archive as osv.dev publishes one per ecosystem (`Debian/all.zip`), or one JSON file.
 * Each yields (name, bytes); parsing is the importer's business.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import yauzl from 'yauzl';
import { GuestkitError } from '../protocol/errors.js';

/** One file larger than this is refused (osv.dev's records are kilobytes; its largest are under 5 MiB). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

export interface SourceFile {
  /** The file's path, or `archive.zip:entry.json` inside an archive. */
  name: string;
  /** The bytes, or why they could not be read (the importer counts it as malformed). */
  bytes?: Buffer;
  error?: string;
}

/** Every advisory file under `path`, in a stable order (directory entries sorted). */
export async function* advisoryFiles(path: string): AsyncGenerator<SourceFile> {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new GuestkitError('NOT_FOUND', `${path}: no such file or directory`, { details: { path }, cause: err });
  }
  if (st.isDirectory()) yield* walk(path);
  else if (path.toLowerCase().endsWith('.zip')) yield* zipEntries(path);
  else if (st.isFile()) yield readOne(path, st.size);
  else throw new GuestkitError('USAGE_ERROR', `${path} is neither a directory, a .zip archive nor a JSON file`, { details: { path } });
}

function readOne(path: string, size: number): SourceFile {
  if (size > MAX_JSON_BYTES) return { name: path, error: `larger than ${MAX_JSON_BYTES} bytes` };
  try {
    return { name: path, bytes: readFileSync(path) };
  } catch (err) {
    return { name: path, error: (err as Error).message };
  }
}

async function* walk(dir: string): AsyncGenerator<SourceFile> {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (!e.isFile()) continue;
    else if (e.name.toLowerCase().endsWith('.json')) yield readOne(p, statSync(p).size);
    else if (e.name.toLowerCase().endsWith('.zip')) yield* zipEntries(p);
  }
}

/** Archives up to this size are read into memory first: yauzl then parses without a file read per entry (100,000 entries: 8x faster). */
const IN_MEMORY_ZIP_BYTES = 1024 * 1024 * 1024;

function openZip(path: string): Promise<yauzl.ZipFile> {
  const opts = { lazyEntries: true, strictFileNames: false, validateEntrySizes: true };
  return new Promise((res, rej) => {
    const done = (err: Error | null, zip: yauzl.ZipFile) => (err ? rej(err) : res(zip));
    if (statSync(path).size <= IN_MEMORY_ZIP_BYTES) yauzl.fromBuffer(readFileSync(path), opts, done);
    else yauzl.open(path, opts, done);
  });
}

/**
 * One entry's bytes. Records are small, so the raw deflate data is inflated in one synchronous
 * call: a zlib stream per entry costs thread-pool round trips that dominate a 100,000-entry import.
 */
function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) return Promise.reject(new Error(`compression method ${entry.compressionMethod} not supported`));
  return new Promise((res, rej) => {
    zip.openReadStream(entry, { decompress: false }, (err, stream) => {
      if (err) return rej(err);
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', rej);
      stream.on('end', () => {
        try {
          const raw = Buffer.concat(chunks);
          const bytes = entry.compressionMethod === 8 ? inflateRawSync(raw, { maxOutputLength: MAX_JSON_BYTES }) : raw;
          if (bytes.length !== entry.uncompressedSize) throw new Error(`${bytes.length} bytes inflated, the archive says ${entry.uncompressedSize}`);
          res(bytes);
        } catch (e) {
          rej(e as Error);
        }
      });
    });
  });
}

/**
 * The `*.json` entries of a zip archive. An unreadable archive, or one corrupt part-way, is one
 * error entry (what was read before stays imported): one bad archive in a tree must not stop the rest.
 */
async function* zipEntries(path: string): AsyncGenerator<SourceFile> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(path);
  } catch (err) {
    yield { name: path, error: `not a readable zip archive: ${(err as Error).message}` };
    return;
  }
  const label = basename(path);
  try {
    // yauzl hands out entries one at a time on request (lazyEntries), so memory holds one entry
    for (;;) {
      const entry = await new Promise<yauzl.Entry | undefined>((res, rej) => {
        const onEntry = (e: yauzl.Entry) => done(() => res(e));
        const onEnd = () => done(() => res(undefined));
        const onError = (e: Error) => done(() => rej(e));
        const done = (f: () => void) => {
          zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
          f();
        };
        zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
        zip.readEntry();
      });
      if (!entry) return;
      if (entry.fileName.endsWith('/') || !entry.fileName.toLowerCase().endsWith('.json')) continue;
      const name = `${label}:${entry.fileName}`;
      if (entry.uncompressedSize > MAX_JSON_BYTES) {
        yield { name, error: `larger than ${MAX_JSON_BYTES} bytes` };
        continue;
      }
      try {
        yield { name, bytes: await readEntry(zip, entry) };
      } catch (err) {
        yield { name, error: (err as Error).message };
      }
    }
  } catch (err) {
    yield { name: path, error: `corrupt zip archive: ${(err as Error).message}` };
  } finally {
    zip.close();
  }
}
