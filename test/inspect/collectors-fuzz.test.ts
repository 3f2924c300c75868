import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FsError } from '../../src/fs/errors.js';
import { Vfs } from '../../src/fs/vfs.js';
import { assembleRoot, type Mountable } from '../../src/inspect/guest.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { GuestSession } from '../../src/inspect/index.js';
import { detectArch } from '../../src/inspect/linux/arch.js';
import { detectBootloader, detectKernels } from '../../src/inspect/linux/boot.js';
import { detectHostname } from '../../src/inspect/linux/hostname.js';
import { detectNetwork } from '../../src/inspect/linux/network.js';
import { detectApplications } from '../../src/inspect/linux/packages/index.js';
import { detectRelease, packageManagementOf } from '../../src/inspect/linux/release.js';
import { detectServices } from '../../src/inspect/linux/services.js';
import { detectCloudInit, detectGuestAgents, detectLocale, detectSecurity, detectTimezone } from '../../src/inspect/linux/system.js';
import { detectUsers } from '../../src/inspect/linux/users.js';
import { GuestkitError } from '../../src/protocol/errors.js';
import { rng } from '../fs/ext4-fat-helpers.js';
import { fixture } from '../helpers/fixtures.js';
import { OverlayFs } from './overlay-fs.js';

/*
 * Hostile guest files: the real Ubuntu-style guest of test/fixtures/inspect-guests (netplan,
 * cloud-init, AppArmor, sudoers, grub) with one configuration file at a time replaced by
 * random bytes, by its own bytes mutated, or by pathological text (a huge line of one
 * character, tens of thousands of repeated directive lines). Every collector that reads the
 * file must finish quickly and fail, if at all, only with GuestkitError or FsError.
 */

type Collector = (g: GuestView) => Promise<unknown>;
const C = {
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
type Name = keyof typeof C;

/** Guest file → the collectors that read it. `fstab` means the root assembly. */
const TARGETS: [string, (Name | 'fstab')[]][] = [
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
const HOSTILE_LINES = [
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
const LONG_LINES = [
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

function generators(real: Buffer | undefined): ((r: () => number) => Buffer)[] {
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

let session: GuestSession;
let root: Mountable;
before(async () => {
  session = await GuestSession.open([fixture('inspect-guests', 'ubuntu-like.qcow2')]);
  const r = (await session.mountables()).find((m) => m.role === 'linux-root');
  assert.ok(r, 'the Ubuntu-style guest has a Linux root');
  root = r;
});
after(async () => {
  await session?.close();
});


/** Collector calls over one hostile file should take milliseconds; this leaves room for a slow machine. */
const MAX_MS = 3000;

/** Runs the collectors of `path` over `data` there; returns what went wrong (untyped errors, slowness). */
async function runOn(path: string, data: Buffer, names: (Name | 'fstab')[], context: string): Promise<string[]> {
  const problems: string[] = [];
  const overlay = new OverlayFs(root.fs);
  const base = new Vfs(root.fs);
  // Write at the real path (merged /usr: /lib/… lives at /usr/lib/…) so every reader sees it.
  const dir = path.replace(/\/[^/]*$/, '') || '/';
  const realDir = (await base.exists(dir)) ? await base.realpath(dir) : dir;
  await overlay.setFile(`${realDir === '/' ? '' : realDir}/${path.slice(dir.length + 1)}`, data);
  for (const name of names) {
    const warnings: string[] = [];
    const t0 = performance.now();
    try {
      if (name === 'fstab') await assembleRoot({ ...root, fs: overlay }, session.devices, session.pool);
      else await C[name](new GuestView(new Vfs(overlay, root.device.device), warnings));
    } catch (err) {
      if (!(err instanceof GuestkitError || err instanceof FsError)) problems.push(`${context} ${name}: untyped ${(err as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(err)}`);
    }
    const ms = performance.now() - t0;
    if (process.env.FUZZ_TRACE) process.stderr.write(`TRACE ${ms.toFixed(0)} ms ${context} ${name}\n`);
    if (ms > MAX_MS) problems.push(`${context} ${name}: took ${ms.toFixed(0)} ms on ${data.length} bytes`);
  }
  return problems;
}

test('collectors fuzz: hostile guest files give results, warnings or typed errors, quickly', async () => {
  const seeds = Number(process.env.FUZZ_SEEDS ?? 3);
  const base = new Vfs(root.fs);
  const problems: string[] = [];
  for (const [path, names] of TARGETS) {
    const real = (await base.exists(path)) ? await base.readFile(path) : undefined;
    const gens = generators(real);
    for (let seed = 1; seed <= seeds; seed++) {
      for (let k = 0; k < gens.length; k++) {
        const r = rng(seed * 101 + k);
        problems.push(...(await runOn(path, gens[k]!(r), names, `${path} seed ${seed} generator ${k}`)));
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('collectors fuzz: every file made of 20,000 copies of each hostile directive, or of one huge line', async () => {
  const problems: string[] = [];
  for (const [path, names] of TARGETS) {
    for (const [i, line] of HOSTILE_LINES.entries()) {
      problems.push(...(await runOn(path, Buffer.from(`${line}\n`.repeat(20_000)), names, `${path} hostile line ${i}`)));
    }
    for (const [i, line] of LONG_LINES.entries()) {
      problems.push(...(await runOn(path, Buffer.from(`${line}\n`), names, `${path} long line ${i}`)));
    }
  }
  assert.deepEqual(problems, []);
});

test('collectors fuzz: directories of 20,000 entries (kernels and modules, BLS entries) are read in bounded time', async () => {
  const overlay = new OverlayFs(root.fs);
  const base = new Vfs(root.fs);
  const modulesDir = await base.realpath('/lib/modules');
  for (let i = 0; i < 20_000; i++) {
    await overlay.setFile(`/boot/vmlinuz-9.${i}.0-flavour${i}`, Buffer.alloc(0));
    await overlay.setFile(`${modulesDir}/9.${i}.1-x-y-z-${i}/modules.dep`, Buffer.alloc(0));
    await overlay.setFile(`/boot/loader/entries/e${i}.conf`, Buffer.from(`title e${i}\nlinux /vmlinuz-${i}\n`));
  }
  await overlay.setFile('/boot/grub/grub.cfg', Buffer.from('blscfg\n'));
  const warnings: string[] = [];
  const g = new GuestView(new Vfs(overlay, root.device.device), warnings);
  let t0 = performance.now();
  const kernels = await detectKernels(g);
  assert.ok(performance.now() - t0 < MAX_MS, `kernels: ${(performance.now() - t0).toFixed(0)} ms`);
  assert.ok(kernels.length >= 40_000, `${kernels.length} kernels`);
  t0 = performance.now();
  const bl = await detectBootloader(g);
  assert.ok(performance.now() - t0 < MAX_MS, `bootloader: ${(performance.now() - t0).toFixed(0)} ms`);
  assert.equal(bl?.entries.length, 1000);
  assert.ok(warnings.includes('/boot/loader/entries: 20000 entries; only the first 1000 were read'), warnings.join('\n'));
});
