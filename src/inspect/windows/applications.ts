import type { Hive } from '../../registry/index.js';
import type { Application } from '../types.js';

const UNINSTALL = 'Microsoft\\Windows\\CurrentVersion\\Uninstall';
const MAX_APPS = 20000;

/**
 * Installed programs from SOFTWARE's Uninstall keys, as libguestfs lists them: every
 * subkey with a DisplayName (name = key name, display_name = DisplayName), native ones and
 * those of 32-bit programs on a 64-bit system (WOW6432Node), sorted by name.
 */
export async function readApplications(software: Hive, arch: string | undefined): Promise<Application[]> {
  const out: Application[] = [];
  const sources: [string, string][] = [[UNINSTALL, arch ?? '']];
  if (arch === 'x86_64' || arch === 'aarch64') sources.push([`WOW6432Node\\${UNINSTALL}`, arch === 'x86_64' ? 'i386' : 'arm']);
  for (const [path, appArch] of sources) {
    const key = await software.key(path);
    if (!key) continue;
    for (const k of (await key.subkeys()).slice(0, MAX_APPS)) {
      const vals = new Map((await k.values()).map((v) => [v.name.toLowerCase(), v]));
      const s = (n: string) => vals.get(n)?.string()?.trim() || undefined;
      const display = s('displayname');
      // entries without a DisplayName (components, update leftovers) are not shown by Windows nor libguestfs
      if (!display) continue;
      const publisher = s('publisher');
      const install = s('installlocation');
      const url = s('urlinfoabout');
      const comments = s('comments');
      out.push({
        name: k.name,
        epoch: 0,
        version: s('displayversion') ?? '',
        release: '',
        arch: appArch,
        display_name: display,
        ...(publisher ? { publisher } : {}),
        ...(install ? { install_path: install } : {}),
        ...(url ? { url } : {}),
        ...(comments ? { summary: comments } : {}),
      });
    }
  }
  // libguestfs lists them sorted by key name (code unit order)
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
