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
