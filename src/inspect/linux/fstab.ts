import type { CrypttabEntry, FstabEntry } from '../types.js';
import { contentLines } from '../parse.js';

/** fstab's octal escapes (\040 for a space). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseFstab(text: string): FstabEntry[] {
  const out: FstabEntry[] = [];
  for (const line of contentLines(text)) {
    const f = line.split(/\s+/);
    if (f.length < 2) continue;
    out.push({
      spec: unescape(f[0]!),
      file: unescape(f[1]!),
      vfstype: f[2] ?? 'auto',
      options: f[3] ?? 'defaults',
      freq: Number(f[4] ?? 0) || 0,
      passno: Number(f[5] ?? 0) || 0,
    });
  }
  return out;
}

export function parseCrypttab(text: string): CrypttabEntry[] {
  return contentLines(text)
    .map((l) => l.split(/\s+/))
    .filter((f) => f.length >= 2)
    .map((f) => ({ name: f[0]!, device: f[1]!, keyfile: f[2] ?? 'none', options: f[3] ?? '' }));
}

/** Value of one mount option (`subvol=@`), or undefined. */
export function mountOption(options: string, key: string): string | undefined {
  for (const o of options.split(',')) {
    const eq = o.indexOf('=');
    if (eq > 0 && o.slice(0, eq) === key) return o.slice(eq + 1);
  }
  return undefined;
}

const PSEUDO = new Set(['proc', 'sysfs', 'tmpfs', 'devpts', 'devtmpfs', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'fuse', 'bind', 'overlay', 'none', 'efivarfs', 'binfmt_misc', 'hugetlbfs', 'mqueue', 'autofs', 'pstore', 'configfs', 'tracefs', 'usbfs', 'rpc_pipefs']);
/** Filesystems served over a network or by the host (virtiofs, 9p): no disk image holds them. */
const NETWORK = new Set(['nfs', 'nfs4', 'cifs', 'smbfs', 'smb3', 'glusterfs', 'ceph', 'cephfs', 'lustre', 'sshfs', 'davfs', '9p', 'virtiofs', 'afs', 'ncpfs']);

/**
 * Whether an entry no disk holds deserves a warning. Not for what the guest itself treats as
 * optional or remote (noauto, nofail, _netdev, host:/export, //server/share), removable media,
 * zram swap or swap files, which live on no device of their own.
 */
export function expectsDevice(e: FstabEntry): boolean {
  const opts = e.options.split(',');
  if (opts.includes('noauto') || opts.includes('nofail') || opts.includes('_netdev')) return false;
  if (NETWORK.has(e.vfstype) || e.vfstype.startsWith('fuse.')) return false;
  if (e.spec.startsWith('//') || /^[^/=\s]+:/.test(e.spec)) return false;
  if (/^\/dev\/(?:sr\d+|scd\d+|cdrom\d*|dvd\d*|fd\d+|floppy|zram\d+)$/.test(e.spec) || e.spec.startsWith('/dev/iso9660/')) return false;
  if (e.vfstype === 'swap' && e.spec.startsWith('/') && !e.spec.startsWith('/dev/')) return false;
  return true;
}

/** Entries that attach a filesystem somewhere in the tree (not swap, not pseudo filesystems). */
export function isMountable(e: FstabEntry): boolean {
  if (!e.file.startsWith('/')) return false;
  if (e.vfstype === 'swap' || e.file === 'none') return false;
  if (PSEUDO.has(e.vfstype) || NETWORK.has(e.vfstype) || e.vfstype.startsWith('fuse.')) return false;
  if (e.options.split(',').includes('bind')) return false;
  return true;
}
