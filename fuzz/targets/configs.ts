import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GuestView } from '../../src/inspect/guest-view.js';
import { detectArch } from '../../src/inspect/linux/arch.js';
import { detectBootloader, detectKernels, parseGrubCfg } from '../../src/inspect/linux/boot.js';
import { dockerImages } from '../../src/inspect/linux/containers/docker.js';
import { podmanImages } from '../../src/inspect/linux/containers/podman.js';
import { expectsDevice, isMountable, mountOption, parseCrypttab, parseFstab } from '../../src/inspect/linux/fstab.js';
import { decodeGVariant } from '../../src/inspect/linux/gvariant.js';
import { detectHostname } from '../../src/inspect/linux/hostname.js';
import { detectNetwork } from '../../src/inspect/linux/network.js';
import { parseLoaderEntry, parseOrigin } from '../../src/inspect/linux/ostree.js';
import { detectRelease, packageManagementOf } from '../../src/inspect/linux/release.js';
import { detectServices } from '../../src/inspect/linux/services.js';
import { detectSnaps } from '../../src/inspect/linux/snap.js';
import { detectCloudInit, detectGuestAgents, detectLocale, detectSecurity, detectTimezone } from '../../src/inspect/linux/system.js';
import { detectUsers } from '../../src/inspect/linux/users.js';
import { parseGuestYaml, yamlBudget } from '../../src/inspect/linux/yaml.js';
import { guestImageFiles, memGuest } from '../lib/mem-fs.js';
import { fixtureFile } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

const FLATPAK_DEPLOY = '/var/lib/flatpak/app/org.guestkit.Hello/x86_64/stable/434975a25f83458d5f52a001ff3efd7700c0a541814184e60c225b7e59f6a3dc/deploy';
const SPLIT = Buffer.from([0, 0]);
const PASSWD = Buffer.from('root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\nbob:x:1001:27::/home/bob:/usr/sbin/nologin\n');
const GROUP = Buffer.from('root:x:0:\nsudo:x:27:alice\nwheel:x:10:bob\n');
const IFCFG = Buffer.from('DEVICE=eth0\nBOOTPROTO=none\nIPADDR=10.0.0.5\nPREFIX=24\nONBOOT=yes\n');

interface Parser {
  /** The guest file the input becomes. */
  path: string;
  /** Fixed files beside it, so the parser reaches the paths that need them. */
  beside?: Record<string, Buffer | { symlink: string }>;
  run(g: GuestView, data: Buffer): Promise<unknown>;
  /** A second fuzzed file: the input is split at its first NUL NUL, the part after it goes there. */
  second?: string;
  /** Where real copies of the file are: extracted trees (relative to test/fixtures/out) and guest images. */
  trees?: string[];
}

const text = (b: Buffer) => b.toString('utf8');
const users = (g: GuestView) => detectUsers(g);
const network = (g: GuestView) => detectNetwork(g);
const release = async (g: GuestView) => {
  const r = await detectRelease(g);
  return packageManagementOf(g, r.distro, r.major_version);
};
const boot = async (g: GuestView) => {
  await detectBootloader(g);
  return detectKernels(g);
};

/** Input byte 0 picks one of these (mod their count); the rest is the file. */
const PARSERS: Parser[] = [
  {
    path: '/etc/fstab',
    run: async (_g, d) => {
      for (const e of parseFstab(text(d))) {
        isMountable(e);
        expectsDevice(e);
        mountOption(e.options, 'subvol');
      }
    },
  },
  { path: '/etc/crypttab', run: async (_g, d) => parseCrypttab(text(d)) },
  { path: '/etc/passwd', beside: { '/etc/group': GROUP }, run: users },
  { path: '/etc/group', beside: { '/etc/passwd': PASSWD }, run: users },
  { path: '/etc/shadow', beside: { '/etc/passwd': PASSWD, '/etc/group': GROUP }, run: users },
  { path: '/etc/sudoers', beside: { '/etc/passwd': PASSWD, '/etc/group': GROUP, '/etc/sudoers.d/extra': Buffer.from('bob ALL=(ALL) ALL\n') }, run: users },
  { path: '/etc/login.defs', beside: { '/etc/passwd': PASSWD }, run: users },
  { path: '/etc/os-release', beside: { '/usr/bin/dnf': Buffer.alloc(0) }, run: release },
  { path: '/usr/lib/os-release', run: release },
  { path: '/etc/lsb-release', run: release },
  { path: '/etc/redhat-release', run: release },
  { path: '/etc/centos-release', run: release },
  { path: '/etc/oracle-release', run: release },
  { path: '/etc/SuSE-release', run: release },
  { path: '/etc/debian_version', run: release },
  { path: '/etc/alpine-release', run: release },
  { path: '/etc/hostname', run: detectHostname },
  { path: '/etc/sysconfig/network', beside: { '/etc/sysconfig/network-scripts/ifcfg-eth0': IFCFG }, run: async (g) => [await detectHostname(g), await network(g)] },
  { path: '/etc/network/interfaces', beside: { '/etc/network/interfaces.d/eth1': Buffer.from('auto eth1\niface eth1 inet dhcp\n') }, run: network },
  { path: '/etc/netplan/50-cloud-init.yaml', beside: { '/lib/netplan/00-base.yaml': Buffer.from('network:\n  ethernets:\n    eth0:\n      dhcp4: true\n') }, run: network },
  { path: '/etc/NetworkManager/system-connections/x.nmconnection', run: network },
  { path: '/etc/sysconfig/network-scripts/ifcfg-eth0', beside: { '/etc/sysconfig/network': Buffer.from('GATEWAY=10.0.0.1\n') }, run: network },
  { path: '/etc/systemd/network/10-x.network', run: network },
  { path: '/etc/systemd/resolved.conf', beside: { '/etc/systemd/resolved.conf.d/dns.conf': Buffer.from('[Resolve]\nDNS=9.9.9.9\n') }, run: network },
  { path: '/etc/resolv.conf', run: network },
  { path: '/etc/hosts', run: network },
  { path: '/etc/inittab', run: detectServices },
  { path: '/etc/systemd/system/multi-user.target.wants/x.service', beside: { '/sbin/init': { symlink: '/lib/systemd/systemd' }, '/lib/systemd/systemd': Buffer.alloc(0), '/etc/systemd/system/sshd.service': { symlink: '/lib/systemd/system/ssh.service' } }, run: detectServices },
  { path: '/boot/grub/grub.cfg', beside: { '/boot/vmlinuz-6.1.0-9-amd64': Buffer.alloc(0), '/lib/modules/6.1.0-9-amd64/modules.dep': Buffer.alloc(0) }, run: async (g, d) => [parseGrubCfg(text(d)), await boot(g)] },
  { path: '/boot/grub2/grubenv', beside: { '/boot/grub2/grub.cfg': Buffer.from('set default="${saved_entry}"\nblscfg\n'), '/boot/loader/entries/a.conf': Buffer.from('title A\nlinux /vmlinuz\n') }, run: boot },
  { path: '/boot/loader/entries/x.conf', beside: { '/boot/grub2/grub.cfg': Buffer.from('blscfg\n') }, run: boot },
  { path: '/boot/extlinux/extlinux.conf', run: boot },
  { path: '/boot/grub/menu.lst', run: boot },
  { path: '/etc/timezone', run: detectTimezone },
  { path: '/etc/sysconfig/clock', run: detectTimezone },
  { path: '/etc/default/locale', run: detectLocale },
  { path: '/etc/ssh/sshd_config', beside: { '/etc/ssh/sshd_config.d/a.conf': Buffer.from('PermitRootLogin no\n') }, run: detectSecurity },
  { path: '/etc/selinux/config', run: detectSecurity },
  { path: '/etc/default/grub', run: detectSecurity },
  { path: '/etc/cloud/cloud.cfg', beside: { '/etc/cloud/cloud.cfg.d/90.cfg': Buffer.from('datasource_list: [NoCloud]\n') }, run: async (g) => [await detectCloudInit(g), await detectGuestAgents(g)] },
  { path: '/fuzz.yaml', run: async (g, d) => parseGuestYaml(g, '/fuzz.yaml', text(d), yamlBudget()) },
  { path: '/boot/loader/entries/ostree-1.conf', run: async (_g, d) => parseLoaderEntry('ostree-1.conf', text(d)) },
  { path: '/ostree/deploy/x/deploy/abc.0.origin', run: async (_g, d) => parseOrigin(text(d)) },
  { path: '/var/lib/snapd/state.json', run: detectSnaps },
  { path: '/var/lib/docker/image/overlay2/repositories.json', run: (g) => dockerImages(g) },
  { path: '/var/lib/containers/storage/overlay-images/images.json', run: (g) => podmanImages(g) },
  { path: '/usr/bin/ls', run: detectArch },
  // GVariant: a flatpak deploy file and an ostree commit object, decoded as their readers do
  { path: '/fuzz.flatpak-deploy', run: async (_g, d) => decodeGVariant(d, '(ssasta{sv})') },
  { path: '/fuzz.ostree-commit', run: async (_g, d) => decodeGVariant(d, '(a{sv}aya(say)sstayay)') },
  // grub.cfg and a BLS entry together: the entry's $variables expand to grub.cfg's `set`s
  { path: '/boot/grub2/grub.cfg', second: '/boot/loader/entries/fuzz.conf', run: boot },
];

/** The guest path each selector byte (mod the count) stands for. */
export const PARSER_PATHS = PARSERS.map((p) => p.path);

const target: FuzzTarget = {
  describe: 'Linux configuration collectors: byte 0 picks the file (fstab, passwd/group/shadow/sudoers, os-release & co, hostname, ifupdown, netplan, NM, ifcfg, networkd, resolv, grub, BLS, extlinux, sshd, cloud-init, YAML, snapd, docker/podman…)',
  async run(data) {
    if (data.length === 0) return;
    const p = PARSERS[data[0]! % PARSERS.length]!;
    let body = data.subarray(1);
    const files: Record<string, Buffer | { symlink: string }> = { ...p.beside };
    if (p.second) {
      const cut = body.indexOf(SPLIT);
      files[p.second] = cut < 0 ? Buffer.alloc(0) : body.subarray(cut + SPLIT.length);
      if (cut >= 0) body = body.subarray(0, cut);
    }
    files[p.path] = body;
    await expectTyped(() => p.run(memGuest(files), body));
  },
  async seeds() {
    const out: Buffer[] = [];
    const add = (i: number, b: Buffer | undefined) => {
      if (b && b.length <= 64 * 1024) out.push(Buffer.concat([Buffer.from([i]), b]));
    };
    const roots = ['inspect/debian-root', 'profile/linux-good-root', 'profile/linux-bad-root'].map((r) => fixtureFile(...r.split('/'))).filter((r): r is string => !!r);
    const images = ['ubuntu-like.qcow2', 'rocky8-bls.qcow2', 'networkd.qcow2', 'centos5-sysv.qcow2', 'alpine.qcow2'].map((n) => fixtureFile('inspect-guests', n));
    const fromImages = new Map<string, Buffer>();
    for (const img of images) {
      for (const [p, b] of await guestImageFiles(img, PARSERS.map((x) => x.path))) if (!fromImages.has(p)) fromImages.set(p, b);
    }
    const nm = fixtureFile('inspect-guests', 'nm-tools', 'etc', 'NetworkManager', 'NetworkManager.conf');
    PARSERS.forEach((p, i) => {
      for (const r of roots) {
        try {
          add(i, readFileSync(join(r, p.path)));
        } catch {
          /* not in this tree */
        }
      }
      add(i, fromImages.get(p.path));
      for (const b of Object.values(p.beside ?? {})) if (Buffer.isBuffer(b) && b.length) add(i, b);
    });
    const idx = (path: string) => PARSERS.findIndex((p) => p.path === path);
    if (nm) add(idx('/etc/NetworkManager/system-connections/x.nmconnection'), readFileSync(nm));
    add(idx('/etc/NetworkManager/system-connections/x.nmconnection'), Buffer.from('[connection]\nid=eth0\ninterface-name=eth0\nautoconnect=true\n[ethernet]\nmac-address=52:54:00:12:34:56\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\ndns=1.1.1.1;\n'));
    const snap = fixtureFile('beside-pm', 'snapd-state.json');
    if (snap) add(idx('/var/lib/snapd/state.json'), readFileSync(snap));
    const podman = fixtureFile('beside-pm', 'podman-images.json');
    if (podman) add(idx('/var/lib/containers/storage/overlay-images/images.json'), readFileSync(podman));
    add(idx('/var/lib/docker/image/overlay2/repositories.json'), Buffer.from('{"Repositories":{"alpine":{"alpine:3.19":"sha256:05455a08881ea9cf0e752bc48e61bbd71a34c029bb13df01e40e3e70e0a007d5"}}}'));
    const deploy = await guestImageFiles(fixtureFile('beside-pm', 'guest.qcow2'), [FLATPAK_DEPLOY]);
    add(idx('/fuzz.flatpak-deploy'), deploy.get(FLATPAK_DEPLOY));
    add(PARSERS.length - 1, Buffer.from('set default="0"\nset tuned_params="skew_tick=1"\nload_env -f ${config_directory}/grubenv\nblscfg\n\0\0title Rocky Linux (4.18.0-513.el8.x86_64) 8.9\nversion 4.18.0-513.el8.x86_64\nlinux /vmlinuz-4.18.0-513.el8.x86_64\ninitrd /initramfs-4.18.0-513.el8.x86_64.img $tuned_initrd\noptions $kernelopts $tuned_params\nid rocky-4.18.0-513.el8.x86_64\n'));
    add(idx('/fuzz.yaml'), Buffer.from('a: &x [1, 2, {b: c}]\nd: *x\ne: |\n  text\n'));
    add(idx('/ostree/deploy/x/deploy/abc.0.origin'), Buffer.from('[origin]\nrefspec=fedora:fedora/39/x86_64/silverblue\n'));
    add(idx('/boot/loader/entries/ostree-1.conf'), Buffer.from('title Fedora 39 (ostree:0)\nversion 1\noptions root=UUID=x ostree=/ostree/boot.1/fedora/abc/0\nlinux /ostree/fedora-abc/vmlinuz\n'));
    return out;
  },
};
export default target;
