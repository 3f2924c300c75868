import type { GuestView } from '../../guest-view.js';
import type { Application } from '../../types.js';
import { apkApplications } from './apk.js';
import { dpkgApplications } from './dpkg.js';
import { pacmanApplications } from './pacman.js';
import { rpmApplications } from './rpm.js';

const READERS: Record<string, (g: GuestView) => Promise<Application[] | undefined>> = {
  deb: dpkgApplications,
  rpm: rpmApplications,
  apk: apkApplications,
  pacman: pacmanApplications,
};

/** Where each package manager keeps its database. */
export const PACKAGE_DB_PATHS = [
  '/var/lib/dpkg/status',
  '/var/lib/rpm/rpmdb.sqlite',
  '/var/lib/rpm/Packages',
  '/var/lib/rpm/Packages.db',
  '/usr/lib/sysimage/rpm/rpmdb.sqlite',
  '/usr/lib/sysimage/rpm/Packages.db',
  '/usr/share/rpm/rpmdb.sqlite',
  '/lib/apk/db/installed',
  '/var/lib/pacman/local',
];

/** Why no application list: no database at all, or one that could not be read. */
export async function missingApplicationsReason(g: GuestView): Promise<string> {
  for (const p of PACKAGE_DB_PATHS) if (await g.exists(p)) return `package database ${p} could not be read`;
  return 'no package database found';
}

/**
 * Installed applications. The distro's own format is asked first; when it
 * has none (unknown distro, or a database of another kind), every reader is tried.
 */
export async function detectApplications(g: GuestView, packageFormat?: string): Promise<Application[] | undefined> {
  const first = packageFormat ? READERS[packageFormat] : undefined;
  if (first) {
    const apps = await first(g);
    if (apps) return apps;
  }
  for (const [fmt, read] of Object.entries(READERS)) {
    if (fmt === packageFormat) continue;
    const apps = await read(g);
    if (apps) return apps;
  }
  return undefined;
}
