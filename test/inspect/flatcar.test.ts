import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { inspect, requireOs, type Inspection, type OperatingSystem } from '../../src/inspect/index.js';
import { GuestSession } from '../../src/inspect/session.js';
import { fixture } from '../helpers/fixtures.js';

// Disks built by test/fixtures/flatcar/build.sh: USR-A holds 3975.2.0, USR-B the older 3815.2.5.
const img = (name: string) => fixture('flatcar', `${name}.img`);

/** `sgdisk -i N` as the builder kept it: type GUID, name and the attribute bits. */
function sgdisk(image: string, n: number): { type: string; name: string; priority: number; tries: number; successful: boolean } {
  const t = readFileSync(fixture('flatcar', `sgdisk-${image}-${n}.txt`), 'utf8');
  const attrs = BigInt(`0x${/^Attribute flags: ([0-9a-f]+)/m.exec(t)![1]}`);
  return {
    type: /^Partition GUID code: (\S+)/m.exec(t)![1]!,
    name: /^Partition name: '(.*)'/m.exec(t)![1]!,
    priority: Number((attrs >> 48n) & 0xfn),
    tries: Number((attrs >> 52n) & 0xfn),
    successful: ((attrs >> 56n) & 1n) === 1n,
  };
}

function blkid(name: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(fixture('flatcar', `${name}.blkid`), 'utf8')
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

const results = new Map<string, Inspection>();
before(async () => {
  for (const name of ['flatcar', 'flatcar-rollback', 'flatcar-failed', 'flatcar-noattrs']) results.set(name, await inspect(img(name)));
});
const osOf = (name: string): OperatingSystem => {
  const r = requireOs(results.get(name)!);
  assert.equal(r.operating_systems.length, 1);
  return r.operating_systems[0]!;
};

test('the fixture is what Flatcar lays out: USR-A/B with the coreos-usr type GUID, ROOT with coreos-resize', () => {
  assert.equal(sgdisk('flatcar', 3).type, '5DFBF5F4-2848-4BAC-AA5E-0D9A20B745A6');
  assert.equal(sgdisk('flatcar', 4).type, '5DFBF5F4-2848-4BAC-AA5E-0D9A20B745A6');
  assert.equal(sgdisk('flatcar', 9).type, '3884DD41-8582-4404-B9A8-E9B84F2DF50E');
  assert.deepEqual([3, 4, 6, 9].map((n) => sgdisk('flatcar', n).name), ['USR-A', 'USR-B', 'OEM', 'ROOT']);
});

test('Flatcar: found (no fstab), facts from /usr/lib/os-release through the /etc/os-release symlink, BUILD_ID, osinfo by channel', () => {
  const os = osOf('flatcar');
  assert.equal(os.root, '/dev/sda9');
  assert.equal(os.type, 'linux');
  assert.equal(os.distro, 'flatcar');
  assert.equal(os.product_name, 'Flatcar Container Linux by Kinvolk 3975.2.0 (Oklo)');
  assert.equal(os.major_version, 3975);
  assert.equal(os.minor_version, 2);
  assert.equal(os.build_id, '2024-08-05-2103');
  // osinfo-db has no Flatcar entry: its CoreOS-family naming (fedora-coreos-stable) with the update channel.
  assert.equal(os.osinfo, 'flatcar-stable');
  assert.equal(os.hostname, 'flatcar-node-1');
  assert.deepEqual(os.fstab, []);
  assert.deepEqual(os.warnings, []);
  assert.ok(os.evidence['release']?.includes('/usr/lib/os-release'));
  assert.ok(os.users?.some((u) => u.name === 'core' && u.home === '/home/core'));
  assert.deepEqual(os.services?.map((s) => s.name), ['docker.service']);
});

test('Flatcar: no package database, and the report says so (package_format none, a note, no application list, no warning)', () => {
  const os = osOf('flatcar');
  assert.equal(os.package_format, 'none');
  assert.equal(os.package_management, 'none');
  assert.match(os.package_note!, /no package database/);
  assert.equal(os.applications, undefined);
  assert.ok(!os.warnings.some((w) => /package database/.test(w)));
});

test('Flatcar mountpoints as virt-inspector gives CoreOS (/ and /usr), plus OEM at /oem; filesystem roles', () => {
  const r = results.get('flatcar')!;
  const os = osOf('flatcar');
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda9', '/oem': '/dev/sda6', '/usr': '/dev/sda3' });
  assert.deepEqual(os.filesystems, ['/dev/sda3', '/dev/sda6', '/dev/sda9']);
  const fs = Object.fromEntries(r.filesystems.map((f) => [f.device, f]));
  assert.equal(fs['/dev/sda9']?.uuid, blkid('root')['UUID']);
  assert.equal(fs['/dev/sda9']?.role, 'linux-root');
  assert.equal(fs['/dev/sda3']?.uuid, blkid('usr-a')['UUID']);
  assert.equal(fs['/dev/sda3']?.role, 'usr');
  assert.equal(fs['/dev/sda4']?.uuid, blkid('usr-b')['UUID']);
  assert.equal(fs['/dev/sda6']?.type, 'btrfs');
  assert.equal(fs['/dev/sda6']?.uuid, blkid('oem')['UUID']);
});

/** [image, active /usr, version the OS reports, chosen by] */
const CHOICES: [string, string, string, 'attributes' | 'label'][] = [
  ['flatcar', '/dev/sda3', '3975.2.0', 'attributes'],
  ['flatcar-rollback', '/dev/sda4', '3815.2.5', 'attributes'],
  ['flatcar-failed', '/dev/sda3', '3975.2.0', 'attributes'],
  ['flatcar-noattrs', '/dev/sda3', '3975.2.0', 'label'],
];
for (const [name, usr, version, by] of CHOICES) {
  test(`${name}: /usr is ${usr} (by ${by}), the OS is ${version}, both /usr partitions listed with sgdisk's attribute bits`, () => {
    const os = osOf(name);
    assert.equal(os.mountpoints['/usr'], usr);
    assert.equal(`${os.major_version}.${os.minor_version}`, version.split('.').slice(0, 2).join('.'));
    assert.match(os.product_name!, new RegExp(` ${version.replace(/\./g, '\\.')} `));
    assert.deepEqual(
      os.usr_partitions,
      [3, 4].map((n) => {
        const s = sgdisk(name, n);
        return {
          device: `/dev/sda${n}`,
          label: s.name,
          active: `/dev/sda${n}` === usr,
          priority: s.priority,
          tries: s.tries,
          successful: s.successful,
          version: n === 3 ? '3975.2.0' : '3815.2.5',
        };
      }),
    );
    assert.match(os.evidence['usr']![0]!, by === 'attributes' ? /GPT attributes/ : /GPT partition name USR-A/);
  });
}

test('the guest view of a Flatcar session sees /usr and /etc/os-release like the booted system', async () => {
  const s = await GuestSession.open([img('flatcar-rollback')]);
  try {
    const vfs = await s.osView();
    assert.match((await vfs.readText('/etc/os-release')) ?? '', /VERSION_ID=3815\.2\.5/);
    assert.equal((await vfs.readText('/usr/share/flatcar/version.txt'))?.trim(), '3815.2.5');
    assert.match((await vfs.readText('/oem/oem-release')) ?? '', /ID=qemu/);
  } finally {
    await s.close();
  }
});
