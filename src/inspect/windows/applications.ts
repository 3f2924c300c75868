import type { Hive, RegKey } from '../../registry/index.js';
import type { Application } from '../types.js';

export const UNINSTALL = 'Microsoft\\Windows\\CurrentVersion\\Uninstall';
/** The 32-bit view (WOW64): libguestfs spells it WOW6432node; key names compare case-insensitively. */
export const UNINSTALL_VIEWS = [UNINSTALL, `WOW6432Node\\${UNINSTALL}`] as const;
const MAX_APPS = 20000;

/** The architecture of the programs in the WOW6432Node view: 32-bit ones of the guest's family. */
function wowArch(arch: string | undefined): string {
  if (arch === 'aarch64' || arch === 'arm') return 'arm';
  if (arch === 'x86_64' || arch === 'i386') return 'i386';
  return '';
}

/**
 * Installed programs from SOFTWARE's Uninstall keys, as libguestfs lists them: every
 * subkey with a DisplayName (name = key name, display_name = DisplayName), sorted by name.
 * Both views are read on every guest, whatever its architecture (a WOW6432Node left on a
 * 32-bit system, or an unknown architecture, still lists its programs), and whatever the
 * case the guest spells the key names in. `found` receives the key paths read, as stored.
 */
export async function readApplications(software: Hive, arch: string | undefined, found?: string[]): Promise<Application[]> {
  const out: Application[] = [];
  const sources: [string, string][] = [
    [UNINSTALL_VIEWS[0], arch ?? ''],
    [UNINSTALL_VIEWS[1], wowArch(arch)],
  ];
  for (const [path, appArch] of sources) {
    const key = await software.key(path);
    if (!key) continue;
    found?.push(key.path);
    out.push(...(await readUninstallEntries(key, appArch)));
  }
  // libguestfs lists them sorted by key name (code unit order)
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The programs of one Uninstall key: every subkey with a DisplayName (bounded). */
export async function readUninstallEntries(key: RegKey, appArch: string): Promise<Application[]> {
  const out: Application[] = [];
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
  return out;
}
