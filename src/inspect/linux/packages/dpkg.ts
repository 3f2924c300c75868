import type { GuestView } from '../../guest-view.js';
import type { Application } from '../../types.js';

/** dpkg's Version: [epoch:]upstream[-revision]. */
export function splitDebVersion(v: string): { epoch: number; version: string; release: string } {
  let epoch = 0;
  const colon = v.indexOf(':');
  if (colon > 0 && /^\d+$/.test(v.slice(0, colon))) {
    epoch = Number(v.slice(0, colon));
    v = v.slice(colon + 1);
  }
  const dash = v.lastIndexOf('-');
  return dash > 0 ? { epoch, version: v.slice(0, dash), release: v.slice(dash + 1) } : { epoch, version: v, release: '' };
}

/** Stanzas of a deb822 file (dpkg status): field → value, continuation lines joined. */
export function parseDeb822(text: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let cur = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (cur.size) out.push(cur);
      cur = new Map();
      last = undefined;
      continue;
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      cur.set(last, `${cur.get(last)}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon);
    cur.set(last, line.slice(colon + 1).trim());
  }
  if (cur.size) out.push(cur);
  return out;
}

/** Installed packages from /var/lib/dpkg/status: only those whose Status says "installed". */
export async function dpkgApplications(g: GuestView): Promise<Application[] | undefined> {
  const text = await g.text('/var/lib/dpkg/status', 64 * 1024 * 1024);
  if (text === undefined) return undefined;
  const apps: Application[] = [];
  for (const s of parseDeb822(text)) {
    const status = s.get('Status')?.split(/\s+/);
    if (!status || status[2] !== 'installed') continue;
    const name = s.get('Package');
    const version = s.get('Version');
    if (!name || !version) continue;
    const v = splitDebVersion(version);
    const app: Application = { name, epoch: v.epoch, version: v.version, release: v.release, arch: s.get('Architecture') ?? '' };
    const source = s.get('Source');
    app.source_package = source ? source.split(/\s+/)[0]! : name;
    const desc = s.get('Description');
    if (desc) app.summary = desc.split('\n')[0]!;
    const home = s.get('Homepage');
    if (home) app.url = home;
    apps.push(app);
  }
  return apps.sort((a, b) => a.name.localeCompare(b.name) || a.arch.localeCompare(b.arch));
}
