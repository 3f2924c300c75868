import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { inspect, requireOs, type OperatingSystem } from '../../src/inspect/index.js';
import { Vfs } from '../../src/fs/vfs.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { isOstreeSysroot, ostreeOsinfo, parseOrigin, SubtreeFs } from '../../src/inspect/linux/ostree.js';
import { rpmApplications } from '../../src/inspect/linux/packages/rpm.js';
import { GuestSession } from '../../src/inspect/session.js';
import { fixture } from '../helpers/fixtures.js';
import { CountingFs } from './counting-fs.js';

// A Fedora CoreOS-like disk built by test/fixtures/ostree/build.sh with Debian's ostree: two
// deployments of fcos/stable (39.20231101.3.0, then 39.20231119.3.0), boot partition /dev/sda1,
// the physical sysroot /dev/sda2.
const img = fixture('ostree', 'fcos.img');
const out = (name: string) => readFileSync(fixture('ostree', name), 'utf8');

/** `ostree admin status --sysroot` as the builder saved it: deployments in its order (default first). */
function ostreeStatus(): { osname: string; checksum: string; serial: number; version?: string; refspec?: string }[] {
  const ds: ReturnType<typeof ostreeStatus> = [];
  for (const line of out('ostree-status.txt').split('\n')) {
    const d = /^[* ] (\S+) ([0-9a-f]{64})\.(\d+)/.exec(line);
    if (d) {
      ds.push({ osname: d[1]!, checksum: d[2]!, serial: Number(d[3]) });
      continue;
    }
    const cur = ds[ds.length - 1];
    const v = /^\s+Version: (\S+)/.exec(line);
    if (cur && v) cur.version = v[1]!;
    const r = /^\s+origin refspec: (\S+)/.exec(line);
    if (cur && r) cur.refspec = r[1]!;
  }
  return ds;
}

let os: OperatingSystem;
before(async () => {
  const r = requireOs(await inspect(img));
  assert.equal(r.operating_systems.length, 1);
  os = r.operating_systems[0]!;
});

test('the fixture: ostree admin status lists two deployments of fcos/stable', () => {
  const st = ostreeStatus();
  assert.equal(st.length, 2);
  assert.deepEqual(
    st.map((d) => d.version),
    ['39.20231119.3.0', '39.20231101.3.0'],
  );
});

test('ostree: every deployment, in ostree admin status order, the default first and the rest rollbacks', () => {
  const st = ostreeStatus();
  const ds = os.ostree_deployments!;
  assert.deepEqual(
    ds.map(({ osname, checksum, serial, version, refspec }) => ({ osname, checksum, serial, version, refspec })),
    st,
  );
  assert.deepEqual(
    ds.map((d) => d.default),
    [true, false],
  );
  assert.equal(os.root, '/dev/sda2');
});

test('ostree: the OS facts are the default deployment’s (os-release through /etc/os-release → /usr/lib/os-release)', () => {
  assert.equal(os.distro, 'fedora');
  assert.equal(os.product_name, 'Fedora CoreOS 39.20231119.3.0');
  assert.equal(os.major_version, 39);
  assert.equal(os.osinfo, 'fedora-coreos-stable');
  assert.equal(os.hostname, 'fcos-node-1');
  assert.deepEqual(os.kernels?.map((k) => k.version), ['6.5.12-300.fc39.x86_64']);
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda2', '/boot': '/dev/sda1', '/sysroot': '/dev/sda2', '/var': '/dev/sda2' });
  assert.deepEqual(os.warnings, []);
});

test('ostree: packages from the rpm database at its relocated path, as rpm -qa reads it', () => {
  const def = os.ostree_deployments!.find((d) => d.default)!;
  const truth = out(`rpm-${def.checksum}.${def.serial}.txt`).trim().split('\n');
  const apps = os.applications!.map((a) => [a.name, String(a.epoch ?? 0), a.version, a.release, a.arch].join('\t')).sort();
  assert.deepEqual(apps, truth);
  // The rollback's database is elsewhere (usr/share/rpm) and differs: it is not the OS's.
  const rb = os.ostree_deployments!.find((d) => !d.default)!;
  assert.notDeepEqual(out(`rpm-${rb.checksum}.${rb.serial}.txt`).trim().split('\n'), truth);
});

test('ostree: the rollback’s rpm database at the older relocated path (/usr/share/rpm) reads as rpm -qa reads it', async () => {
  const rb = os.ostree_deployments!.find((d) => !d.default)!;
  const s = await GuestSession.open([img]);
  try {
    const sys = await s.deviceView('/dev/sda2');
    const dir = `/ostree/deploy/${rb.osname}/deploy/${rb.checksum}.${rb.serial}`;
    const r = await sys.resolve(dir, true);
    const warnings: string[] = [];
    const g = new GuestView(new Vfs(new SubtreeFs(r.mount.fs, r.ino), '/dev/sda2'), warnings);
    assert.equal(await g.isFile('/usr/lib/sysimage/rpm/rpmdb.sqlite'), false);
    const apps = (await rpmApplications(g))!.map((a) => [a.name, String(a.epoch ?? 0), a.version, a.release, a.arch].join('\t')).sort();
    assert.deepEqual(apps, out(`rpm-${rb.checksum}.${rb.serial}.txt`).trim().split('\n'));
    assert.ok(g.evidence.some((p) => p.startsWith('/usr/share/rpm/')), g.evidence.join(', '));
    assert.deepEqual(warnings, []);
  } finally {
    await s.close();
  }
});

test('ostree osinfo follows osinfo-db’s short-ids (fedora-coreos-<stream>, silverblue<N>)', () => {
  const d = (version: string | undefined, refspec: string) => ({ osname: 'fedora', checksum: '0'.repeat(64), serial: 0, default: true, ...(version ? { version } : {}), refspec });
  assert.equal(ostreeOsinfo('coreos', d('39.20231119.3.0', 'fedora:fedora/x86_64/coreos/testing')), 'fedora-coreos-testing');
  assert.equal(ostreeOsinfo('coreos', d('39.20231119.3.0', 'fedora/x86_64/coreos/custom')), undefined);
  assert.equal(ostreeOsinfo('silverblue', d('37.20221220.0', 'fedora:fedora/37/x86_64/silverblue')), 'silverblue37');
  assert.equal(ostreeOsinfo('silverblue', d(undefined, 'fedora:fedora/37/x86_64/silverblue')), 'silverblue-unknown');
  assert.equal(ostreeOsinfo('iot', d('39.20231119.0', 'fedora/stable/x86_64/iot')), undefined);
});

test('ostree: layered packages from each deployment’s origin file', () => {
  for (const d of os.ostree_deployments!) {
    const origin = parseOrigin(out(`origin-${d.checksum}.${d.serial}.txt`));
    const requested = (origin.get('rpmostree')?.get('requested-packages') ?? '').split(';').filter((s) => s !== '');
    assert.deepEqual(d.layered_packages ?? [], requested);
    assert.equal(d.refspec, origin.get('origin')?.get('refspec'));
  }
  assert.deepEqual(os.ostree_deployments![0]!.layered_packages, ['htop', 'vim-enhanced']);
});

test('ostree: the guest view has the deployment’s /etc, the stateroot’s /var, the physical root at /sysroot', async () => {
  const s = await GuestSession.open([img]);
  try {
    const vfs = await s.osView();
    assert.match((await vfs.readText('/etc/os-release')) ?? '', /OSTREE_VERSION='39\.20231119\.3\.0'/);
    assert.match((await vfs.readText('/var/home/core/.ssh/authorized_keys')) ?? '', /core@fixture/);
    assert.match((await vfs.readText('/home/core/.ssh/authorized_keys')) ?? '', /core@fixture/);
    const deployed = (await vfs.readdirNames('/sysroot/ostree/deploy/fcos/deploy')).filter((n) => !n.endsWith('.origin')).sort();
    assert.deepEqual(deployed, ostreeStatus().map((d) => `${d.checksum}.${d.serial}`).sort());
    assert.ok((await vfs.readdirNames('/boot/loader/entries')).length === 2);
  } finally {
    await s.close();
  }
});

test('detection is cheap: a filesystem that is not an ostree sysroot costs one lookup', async () => {
  // Flatcar's ROOT: an ordinary Linux root filesystem without /ostree.
  const s = await GuestSession.open([fixture('flatcar', 'flatcar.img')]);
  try {
    const root = await s.deviceView('/dev/sda9');
    const fs = new CountingFs((await root.resolve('/', true)).mount.fs);
    assert.equal(await isOstreeSysroot(fs, '/dev/sda9'), false);
    assert.equal(fs.work.lookups, 1);
    assert.equal(fs.work.reads + fs.work.readdirs, 0);
  } finally {
    await s.close();
  }
});

test('the boot partition (it has /ostree, the kernels) is not taken for a sysroot', async () => {
  const s = await GuestSession.open([img]);
  try {
    const boot = await s.deviceView('/dev/sda1');
    assert.equal(await isOstreeSysroot((await boot.resolve('/', true)).mount.fs, '/dev/sda1'), false);
  } finally {
    await s.close();
  }
});

test('the fixture outputs are all used', () => {
  assert.equal(readdirSync(fixture('ostree', '')).filter((f) => f.startsWith('rpm-')).length, 2);
});
