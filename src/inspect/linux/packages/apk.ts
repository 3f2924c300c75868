import type { GuestView } from '../../guest-view.js';
import type { Application } from '../../types.js';
import { compareText } from '../../../util/compare.js';

/** apk's version: upstream-rN. */
function splitApkVersion(v: string): { version: string; release: string } {
  const m = /^(.*)-r(\d+)$/.exec(v);
  return m ? { version: m[1]!, release: `r${m[2]}` } : { version: v, release: '' };
}

/** Installed packages from Alpine's /lib/apk/db/installed (blank-line separated `X:value` records). */
export async function apkApplications(g: GuestView): Promise<Application[] | undefined> {
  const text = await g.text('/lib/apk/db/installed', 64 * 1024 * 1024);
  if (text === undefined) return undefined;
  const apps: Application[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const f = new Map<string, string>();
    for (const line of block.split('\n')) {
      if (line.length > 2 && line[1] === ':' && !f.has(line[0]!)) f.set(line[0]!, line.slice(2));
    }
    const name = f.get('P');
    const ver = f.get('V');
    if (!name || !ver) continue;
    const v = splitApkVersion(ver);
    const app: Application = { name, epoch: 0, version: v.version, release: v.release, arch: f.get('A') ?? '' };
    const origin = f.get('o');
    if (origin) app.source_package = origin;
    const license = f.get('L');
    if (license) app.license = license;
    const desc = f.get('T');
    if (desc) app.summary = desc;
    const url = f.get('U');
    if (url) app.url = url;
    apps.push(app);
  }
  return apps.sort((a, b) => compareText(a.name, b.name));
}
