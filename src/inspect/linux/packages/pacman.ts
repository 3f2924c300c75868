import type { GuestView } from '../../guest-view.js';
import type { Application } from '../../types.js';
import { compareText } from '../../../util/compare.js';

/** pacman's desc file: `%KEY%` then value lines until a blank line. */
export function parsePacmanDesc(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let key: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^%([A-Z0-9]+)%$/.exec(line.trim());
    if (m) {
      key = m[1]!;
      out.set(key, []);
    } else if (line.trim() === '') key = undefined;
    else if (key) out.get(key)!.push(line);
  }
  return out;
}

/** [epoch:]pkgver-pkgrel */
function splitPacmanVersion(v: string): { epoch: number; version: string; release: string } {
  let epoch = 0;
  const c = v.indexOf(':');
  if (c > 0 && /^\d+$/.test(v.slice(0, c))) {
    epoch = Number(v.slice(0, c));
    v = v.slice(c + 1);
  }
  const d = v.lastIndexOf('-');
  return d > 0 ? { epoch, version: v.slice(0, d), release: v.slice(d + 1) } : { epoch, version: v, release: '' };
}

const MAX_PACKAGES = 100_000;

/** Installed packages from Arch's /var/lib/pacman/local/<pkg>/desc. */
export async function pacmanApplications(g: GuestView): Promise<Application[] | undefined> {
  const dir = '/var/lib/pacman/local';
  if (!(await g.isDir(dir))) return undefined;
  const apps: Application[] = [];
  for (const e of (await g.entries(dir)).slice(0, MAX_PACKAGES)) {
    if (e.type !== 'directory') continue;
    const text = await g.text(`${dir}/${e.name}/desc`, 1024 * 1024);
    if (!text) continue;
    const d = parsePacmanDesc(text);
    const name = d.get('NAME')?.[0];
    const ver = d.get('VERSION')?.[0];
    if (!name || !ver) continue;
    const v = splitPacmanVersion(ver);
    const app: Application = { name, ...v, arch: d.get('ARCH')?.[0] ?? '' };
    const base = d.get('BASE')?.[0];
    if (base) app.source_package = base;
    // One licence a line; pacman means all of them apply.
    const licenses = d.get('LICENSE')?.filter((l) => l.trim() !== '');
    if (licenses?.length) app.license = licenses.join(' AND ');
    const desc = d.get('DESC')?.[0];
    if (desc) app.summary = desc;
    const url = d.get('URL')?.[0];
    if (url) app.url = url;
    apps.push(app);
  }
  return apps.sort((a, b) => compareText(a.name, b.name));
}
