import { GuestkitError } from '../../protocol/errors.js';
import { baseBlockChecksum, ChunkedSource, MAX_LOG_BYTES, openHive, type Hive, type LogFile } from '../../registry/index.js';
import type { GuestView } from '../guest-view.js';

/** Largest hive opened (real SOFTWARE hives reach ~150 MB); only the parts walked are read. */
const MAX_HIVE_BYTES = 1024 * 1024 * 1024;

/** The Windows directory of a root, as the filesystem names it (/Windows, /WINNT). */
export async function findSystemRoot(g: GuestView): Promise<string | undefined> {
  for (const d of ['/Windows', '/WINNT']) {
    if (await g.isDir(`${d}/System32/config`)) return (await g.realpath(d)) ?? d;
  }
  return undefined;
}

/**
 * Opens a hive file of the guest (SOFTWARE, SYSTEM, SAM under System32/config) for
 * random access: a hive is read in chunks as keys are walked, never whole. Missing
 * hive → undefined; a damaged one throws (the collector turns it into a warning).
 */
export async function openGuestHive(g: GuestView, systemRoot: string, name: string): Promise<Hive | undefined> {
  return openHiveFile(g, `${systemRoot}/System32/config/${name}`);
}

/** Any hive file of the guest (a profile's NTUSER.DAT too), opened for random access as above. */
export async function openHiveFile(g: GuestView, path: string): Promise<Hive | undefined> {
  if (!(await g.isFile(path))) return undefined;
  const st = await g.vfs.stat(path);
  if (st.size > MAX_HIVE_BYTES) throw new GuestkitError('CORRUPT_IMAGE', `${path}: ${st.size} bytes is larger than any registry hive`);
  // one read through the view, so the hive counts as evidence
  const head = await g.head(path, 4096);
  if (!head) return undefined;
  const src = new ChunkedSource(st.size, (off, len) => g.vfs.readRange(path, off, len));
  const logs = dirtyHead(head) ? await readLogs(g, path) : [];
  const hive = await openHive(src, path, { logs });
  for (const w of hive.warnings) g.warn(w);
  return hive;
}

/** Sequence numbers differ or the base block checksum is wrong: the logs may hold newer data. */
function dirtyHead(head: Buffer): boolean {
  if (head.length < 512) return false;
  return head.readUInt32LE(4) !== head.readUInt32LE(8) || head.readUInt32LE(0x1fc) !== baseBlockChecksum(head);
}

/** The hive's transaction logs beside it (.LOG1, .LOG2, XP's .LOG), each at most MAX_LOG_BYTES. */
async function readLogs(g: GuestView, path: string): Promise<LogFile[]> {
  const out: LogFile[] = [];
  for (const ext of ['.LOG1', '.LOG2', '.LOG']) {
    const p = path + ext;
    if (!(await g.isFile(p))) continue;
    const size = (await g.size(p)) ?? 0;
    if (size === 0) continue;
    if (size > MAX_LOG_BYTES) {
      g.warn(`${p}: ${size} bytes is larger than any transaction log; not replayed`);
      continue;
    }
    const data = await g.bytes(p, MAX_LOG_BYTES);
    if (data) out.push({ name: p, data });
  }
  return out;
}
