import { GuestkitError, corrupt } from '../../../protocol/errors.js';
import { fromGuestBytes, guestFaultMessage } from '../../faults.js';
import type { GuestView } from '../../guest-view.js';
import type { Application } from '../../types.js';
import { queryDatabase } from '../sqlite.js';
import { bdbHashValues } from './rpm-bdb.js';
import { ndbBlobs } from './rpm-ndb.js';
import { applicationOfHeader } from './rpm-header.js';
import { compareText } from '../../../util/compare.js';

// ostree systems (rpm-ostree) keep it in /usr: /usr/share/rpm, or /usr/lib/sysimage/rpm since Fedora 39.
const DB_DIRS = ['/var/lib/rpm', '/usr/lib/sysimage/rpm', '/usr/share/rpm'];
const MAX_DB = 512 * 1024 * 1024;

/** Header blobs of an sqlite rpmdb, read from its bytes in memory. */
export async function sqliteBlobs(file: Buffer): Promise<Buffer[]> {
  try {
    return (await queryDatabase<{ blob: unknown }>(file, 'SELECT blob FROM Packages')).map((r) => r.blob).filter((b): b is Buffer => Buffer.isBuffer(b));
  } catch (err) {
    // SQLITE_NOTADB, SQLITE_CORRUPT, a missing Packages table: the guest's file, not our fault.
    throw corrupt(`rpm sqlite database: ${(err as Error).message}`, { sqlite_code: (err as { code?: unknown }).code });
  }
}

/** Installed rpm packages, from whichever database form the guest has (sqlite, ndb, bdb). */
export async function rpmApplications(g: GuestView): Promise<Application[] | undefined> {
  for (const dir of DB_DIRS) {
    for (const [file, read] of [
      ['rpmdb.sqlite', sqliteBlobs],
      ['Packages.db', ndbBlobs],
      ['Packages', bdbHashValues],
    ] as const) {
      const path = `${dir}/${file}`;
      if (!(await g.isFile(path))) continue;
      const bytes = await g.bytes(path, MAX_DB);
      if (!bytes) continue;
      if (file === 'rpmdb.sqlite' && ((await g.size(`${path}-wal`)) ?? 0) > 0) {
        g.warn(`${path}-wal is not empty: packages installed since the last checkpoint may be missing`);
      }
      let blobs: Buffer[];
      try {
        blobs = await read(bytes);
      } catch (err) {
        // ndb and bdb are walked with Buffer reads: a bounds error there is a truncated file
        const e = fromGuestBytes(err, path);
        if (e instanceof GuestkitError) throw corrupt(`${path}: ${e.message}`, { path, ...e.details });
        throw e;
      }
      const apps: Application[] = [];
      let bad = 0;
      for (const blob of blobs) {
        // bdb keeps a 4-byte counter record beside the headers.
        if (blob.length < 16) continue;
        try {
          const app = applicationOfHeader(blob);
          if (app) apps.push(app);
        } catch (err) {
          // a damaged header is counted; a bug in the header parser is not the guest's
          guestFaultMessage(fromGuestBytes(err, 'rpm header'));
          bad++;
        }
      }
      if (bad) g.warn(`${path}: ${bad} package headers could not be parsed`);
      return apps.sort((a, b) => compareText(a.name, b.name) || compareText(a.version, b.version) || compareText(a.arch, b.arch));
    }
  }
  return undefined;
}
