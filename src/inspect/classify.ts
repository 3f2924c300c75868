import type { GuestView } from './guest-view.js';

export type FsRole = 'linux-root' | 'windows-root' | 'usr' | 'boot' | 'var' | 'data';

/** What a filesystem is, judged from its own tree the way libguestfs's check_filesystem does. */
export async function classifyFilesystem(g: GuestView): Promise<FsRole> {
  if ((await g.isFile('/grub/menu.lst')) || (await g.isFile('/grub/grub.conf')) || (await g.isFile('/grub2/grub.cfg')) || (await g.isFile('/grub/grub.cfg'))) {
    return 'boot';
  }
  const etc = await g.isDir('/etc');
  if (etc) {
    const bin = (await g.lstatType('/bin')) === 'directory' || (await g.readlink('/bin')) === 'usr/bin' || (await g.readlink('/bin')) === '/usr/bin';
    if (bin && ((await g.isFile('/etc/fstab')) || (await g.isFile('/etc/hosts')))) return 'linux-root';
  }
  if ((await g.isDir('/bin')) && (await g.isDir('/share')) && (await g.isDir('/local')) && !(await g.isFile('/etc/fstab'))) {
    return 'usr';
  }
  // /var/run is a symlink to /run on current systems; on the bare /var filesystem its absolute
  // target leads back to itself, so it is judged without following it.
  if ((await g.isDir('/log')) && ['directory', 'symlink'].includes((await g.lstatType('/run')) ?? '') && (await g.isDir('/spool'))) return 'var';
  if (await isWindowsRoot(g)) return 'windows-root';
  return 'data';
}

/** A Windows system root: a Windows (or WINNT) directory holding System32/config. */
async function isWindowsRoot(g: GuestView): Promise<boolean> {
  for (const d of ['/Windows', '/WINDOWS', '/windows', '/WINNT', '/winnt']) {
    if (await g.isDir(`${d}/System32/config`)) return true;
  }
  return false;
}
