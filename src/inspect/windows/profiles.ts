import type { Hive } from '../../registry/index.js';
import { guestFaultMessage } from '../faults.js';
import type { GuestView } from '../guest-view.js';
import type { UserApplication } from '../types.js';
import { readUninstallEntries } from './applications.js';
import { openHiveFile } from './hives.js';

export const PROFILE_LIST = 'Microsoft\\Windows NT\\CurrentVersion\\ProfileList';
/** The per-user Uninstall key, relative to the root of a profile's NTUSER.DAT (HKEY_CURRENT_USER). */
export const USER_UNINSTALL = 'Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall';
const MAX_PROFILES = 10000;

export interface Profile {
  sid: string;
  /** ProfileImagePath as stored (C:\Users\alice, %SystemDrive%\Users\alice, …). */
  image_path: string;
  /** The profile folder in the system volume's filesystem (/Users/alice); absent for another drive. */
  guest_path?: string;
  /** The profile folder's name, which Windows derives from the account name. */
  user: string;
}

/**
 * The user profiles SOFTWARE's ProfileList knows (SID → ProfileImagePath), with their folders
 * mapped to the system volume: %SystemDrive%, %SystemRoot% and %windir% are expanded from the
 * SystemRoot value (C:\Windows), and a path on the system drive becomes a path from the root
 * of its filesystem. Profiles on other drives keep only their stored path.
 */
export async function readProfiles(software: Hive): Promise<Profile[]> {
  const list = await software.key(PROFILE_LIST);
  if (!list) return [];
  const cv = await software.key('Microsoft\\Windows NT\\CurrentVersion');
  const sysroot = ((await cv?.value('SystemRoot'))?.string() ?? 'C:\\Windows').trim();
  const out: Profile[] = [];
  for (const k of (await list.subkeys()).slice(0, MAX_PROFILES)) {
    if (!/^S-1-[0-9-]+$/.test(k.name)) continue;
    const path = (await k.value('ProfileImagePath'))?.string()?.trim();
    if (!path) continue;
    const { guest_path, user } = profileGuestPath(path, sysroot);
    out.push({ sid: k.name, image_path: path, ...(guest_path ? { guest_path } : {}), user });
  }
  return out;
}

/**
 * A ProfileImagePath in the system volume's filesystem: %SystemDrive%, %SystemRoot% and %windir%
 * expanded from SystemRoot (C:\Windows); a path on another drive (or a UNC path) has none.
 * `user` is the folder's last component.
 */
export function profileGuestPath(path: string, systemRoot: string): { guest_path?: string; user: string } {
  const drive = /^[A-Za-z]:/.test(systemRoot) ? systemRoot.slice(0, 2) : 'C:';
  const expanded = path.replace(/%(SystemDrive|SystemRoot|windir)%/gi, (_m, v: string) => (v.toLowerCase() === 'systemdrive' ? drive : systemRoot));
  const user = expanded.split(/[\\/]/).filter(Boolean).pop() ?? '';
  if (expanded.slice(0, 2).toUpperCase() !== drive.toUpperCase() || !/^[\\/]/.test(expanded.slice(2))) return { user };
  const rest = expanded.slice(2).replace(/[\\/]+/g, '/').replace(/\/+$/, '');
  return { guest_path: rest || '/', user };
}

/**
 * Programs installed for one user only (per-user installers write HKCU's Uninstall key): each
 * profile's NTUSER.DAT on the system volume, its Software\…\Uninstall entries with a DisplayName,
 * as the machine-wide list reads them. A profile without a hive is skipped; a damaged hive is a
 * warning. `read` receives the hive paths opened. Sorted by user, then key name.
 */
export async function readUserApplications(g: GuestView, profiles: Profile[], read?: string[]): Promise<UserApplication[]> {
  const out: UserApplication[] = [];
  for (const p of profiles) {
    if (!p.guest_path) continue;
    const file = `${p.guest_path === '/' ? '' : p.guest_path}/NTUSER.DAT`;
    let hive: Hive | undefined;
    try {
      hive = await openHiveFile(g, file);
    } catch (err) {
      g.warn(`${file}: ${guestFaultMessage(err)}`);
      continue;
    }
    if (!hive) continue;
    read?.push(file);
    const key = await hive.key(USER_UNINSTALL);
    if (!key) continue;
    // HKCU\Software is shared by 32- and 64-bit programs (no WOW6432Node view): the architecture is unknown
    for (const a of await readUninstallEntries(key, '')) out.push({ ...a, user: p.user, sid: p.sid });
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return out.sort((a, b) => cmp(a.user, b.user) || cmp(a.name, b.name));
}
