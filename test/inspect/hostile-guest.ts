import type { FileSystem } from '../../src/fs/types.js';
import { Vfs } from '../../src/fs/vfs.js';
import type { GuestView } from '../../src/inspect/guest-view.js';
import { detectArch } from '../../src/inspect/linux/arch.js';
import { detectBootloader, detectKernels } from '../../src/inspect/linux/boot.js';
import { detectHostname } from '../../src/inspect/linux/hostname.js';
import { detectNetwork } from '../../src/inspect/linux/network.js';
import { detectApplications } from '../../src/inspect/linux/packages/index.js';
import { detectRelease, packageManagementOf } from '../../src/inspect/linux/release.js';
import { detectServices } from '../../src/inspect/linux/services.js';
import { detectCloudInit, detectGuestAgents, detectLocale, detectSecurity, detectTimezone } from '../../src/inspect/linux/system.js';
import { detectUsers } from '../../src/inspect/linux/users.js';
import type { OverlayFs } from './overlay-fs.js';

/*
 * Hostile inputs for the Linux collectors over a real guest (test/inspect/collectors-fuzz.test.ts
 * bounds the work they cause; bench/collectors-hostile.ts times them): which collectors read
 * which guest file, pathological lines and generators of damaged files.
 */

type Collector = (g: GuestView) => Promise<unknown>;
export const C = {
  release: detectRelease,
  arch: detectArch,
  hostname: detectHostname,
  pkgmgmt: (g: GuestView) => packageManagementOf(g, 'ubuntu', 22),
  deb: (g: GuestView) => detectApplications(g, 'deb'),
  rpm: (g: GuestView) => detectApplications(g, 'rpm'),
  apk: (g: GuestView) => detectApplications(g, 'apk'),
  pacman: (g: GuestView) => detectApplications(g, 'pacman'),
  kernels: detectKernels,
  bootloader: detectBootloader,
  services: detectServices,
  agents: detectGuestAgents,
  cloudinit: detectCloudInit,
  users: detectUsers,
  network: detectNetwork,
  timezone: detectTimezone,
  locale: detectLocale,
  security: detectSecurity,
} satisfies Record<string, Collector>;
export type Name = keyof typeof C;

/** Guest file → the collectors that read it. `fstab` means the root assembly. */
export const TARGETS: [string, (Name | 'fstab')[]][] = [
  ['/etc/os-release', ['release', 'pkgmgmt']],
  ['/etc/lsb-release', ['release']],
  ['/etc/debian_version', ['release']],
  ['/etc/redhat-release', ['release']],
  ['/etc/alpine-release', ['release']],
  ['/etc/hostname', ['hostname']],
  ['/etc/sysconfig/network', ['hostname', 'network']],
  ['/usr/bin/ls', ['arch']],
  ['/var/lib/dpkg/status', ['deb']],
  ['/var/lib/rpm/rpmdb.sqlite', ['rpm']],
  ['/var/lib/rpm/Packages', ['rpm']],
  ['/usr/lib/sysimage/rpm/Packages.db', ['rpm']],
  ['/usr/lib/apk/db/installed', ['apk']],
  ['/var/lib/pacman/local/pkg-1.0-1/desc', ['pacman']],
  ['/boot/grub/grub.cfg', ['bootloader', 'kernels']],
  ['/boot/grub/grubenv', ['bootloader']],
  ['/boot/loader/entries/x.conf', ['bootloader']],
  ['/boot/extlinux/extlinux.conf', ['bootloader']],
  ['/boot/grub/menu.lst', ['bootloader']],
  ['/etc/inittab', ['services']],
  ['/etc/passwd', ['users']],
  ['/etc/shadow', ['users']],
  ['/etc/group', ['users']],
  ['/etc/sudoers', ['users']],
  ['/etc/login.defs', ['users']],
  ['/etc/netplan/50-cloud-init.yaml', ['network']],
  ['/etc/network/interfaces', ['network']],
  ['/etc/sysconfig/network-scripts/ifcfg-eth0', ['network']],
  ['/etc/NetworkManager/system-connections/x.nmconnection', ['network']],
  ['/etc/systemd/network/10-x.network', ['network']],
  ['/etc/systemd/resolved.conf', ['network']],
  ['/etc/resolv.conf', ['network']],
  ['/etc/hosts', ['network']],
  ['/etc/timezone', ['timezone']],
  ['/etc/default/locale', ['locale']],
  ['/etc/ssh/sshd_config', ['security']],
  ['/etc/selinux/config', ['security']],
  ['/etc/default/grub', ['security']],
  ['/etc/cloud/cloud.cfg', ['cloudinit']],
  ['/etc/fstab', ['fstab']],
  ['/etc/crypttab', ['fstab']],
];

/** Directive lines each file's parser reacts to, repeated to make huge or deeply nested inputs. */
export const HOSTILE_LINES = [
  'Include /etc/ssh/*',
  'Include /etc/ssh/*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b',
  '@includedir /etc',
  '#include /etc/sudoers',
  'source-directory /etc',
  'source /etc/network/interfaces',
  "submenu 'x' {",
  "menuentry 'x' {",
  `menuentry '${"'".repeat(3000)}`,
  'LABEL x',
  'title x',
  'root:x:0:0:root:/root:/bin/bash',
  'wheel:x:0:root,a,b,c',
  '%wheel ALL=(ALL) ALL',
  'ID=ubuntu',
  'network: {ethernets: {eth0: {dhcp4: true}}}',
  '- - [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
  '&a [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
  '/dev/sda1 / ext4 defaults 0 1',
  'UUID=x /boot ext4 defaults 0 2',
  'nameserver 1.1.1.1',
  'Package: x\nStatus: install ok installed\nVersion: 1',
  'P:x\nV:1-r0',
  '%NAME%\nx\n%VERSION%\n1-1',
  '[main]',
  'key=' + '\\'.repeat(1000),
];
/** Single lines of ~1 MB that make backtracking regexes quadratic or worse. */
export const LONG_LINES = [
  `menuentry '${"' ".repeat(400_000)}{`,
  `menuentry "${'"'.repeat(800_000)} {`,
  `Include /etc/ssh/${'*a'.repeat(200)}b`,
  `A="${' #'.repeat(400_000)}`,
  `a${' ='.repeat(400_000)}`,
  `[${'['.repeat(800_000)}`,
  `- ${'['.repeat(100_000)}`,
  `${'x:'.repeat(400_000)}`,
  `${'\t'.repeat(800_000)}x`,
];
const SPECIALS = `'"{}[]()\\=:#% \t*$\n;,&!|-`;

export function generators(real: Buffer | undefined): ((r: () => number) => Buffer)[] {
  const pick = <T>(r: () => number, xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  return [
    // random bytes
    (r) => Buffer.from(Array.from({ length: Math.floor(r() * 8192) }, () => Math.floor(r() * 256))),
    // the real file with bytes flipped and lines duplicated
    (r) => {
      const b = Buffer.from(real ?? 'x=y\n');
      for (let i = 0, n = 1 + Math.floor(r() * 16); i < n && b.length; i++) b[Math.floor(r() * b.length)] = r() < 0.5 ? SPECIALS.charCodeAt(Math.floor(r() * SPECIALS.length)) : Math.floor(r() * 256);
      const lines = b.toString('latin1').split('\n');
      for (let i = 0; i < 4; i++) lines.splice(Math.floor(r() * lines.length), 0, pick(r, lines));
      return Buffer.from(lines.join('\n'), 'latin1');
    },
    // one huge line of one special character
    (r) => Buffer.from(pick(r, [...SPECIALS]).repeat(200_000 + Math.floor(r() * 100_000))),
  ];
}

/** Puts `data` at guest `path` in the overlay, at the real path (merged /usr: /lib/… lives at /usr/lib/…) so every reader sees it. */
export async function placeFile(real: FileSystem, overlay: OverlayFs, path: string, data: Buffer): Promise<void> {
  const base = new Vfs(real);
  const dir = path.replace(/\/[^/]*$/, '') || '/';
  const realDir = (await base.exists(dir)) ? await base.realpath(dir) : dir;
  await overlay.setFile(`${realDir === '/' ? '' : realDir}/${path.slice(dir.length + 1)}`, data);
}

/** 20,000 kernels, 20,000 modules directories (no two pair by name) and 20,000 BLS entries. */
export async function addBigBootDirectories(real: FileSystem, overlay: OverlayFs): Promise<void> {
  const modulesDir = await new Vfs(real).realpath('/lib/modules');
  for (let i = 0; i < 20_000; i++) {
    await overlay.setFile(`/boot/vmlinuz-9.${i}.0-flavour${i}`, Buffer.alloc(0));
    await overlay.setFile(`${modulesDir}/9.${i}.1-x-y-z-${i}/modules.dep`, Buffer.alloc(0));
    await overlay.setFile(`/boot/loader/entries/e${i}.conf`, Buffer.from(`title e${i}\nlinux /vmlinuz-${i}\n`));
  }
  await overlay.setFile('/boot/grub/grub.cfg', Buffer.from('blscfg\n'));
}
