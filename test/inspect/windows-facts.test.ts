import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { assembleRoot } from '../../src/inspect/guest.js';
import { GuestSession } from '../../src/inspect/session.js';
import { DEFAULT_INSPECT_OPTIONS, type OperatingSystem } from '../../src/inspect/types.js';
import { inspectWindows } from '../../src/inspect/windows/index.js';
import { profileGuestPath } from '../../src/inspect/windows/profiles.js';
import { fixture } from '../helpers/fixtures.js';
import { hivexExport, type HiveDump } from '../registry/helpers.js';

// The facts of issue 19 read from more hives than SOFTWARE/SYSTEM: profiles' NTUSER.DAT, the
// SAM's aliases, Component Based Servicing, the DriverStore. Expected values come from
// `hivexregedit --export` of the hives the fixture builder wrote (test/fixtures/windows/build.sh).

async function inspectImage(path: string, opts = DEFAULT_INSPECT_OPTIONS): Promise<OperatingSystem> {
  const s = await GuestSession.open([path]);
  try {
    const roots = (await s.mountables()).filter((m) => m.role === 'windows-root');
    assert.equal(roots.length, 1, 'one Windows root');
    const a = await assembleRoot(roots[0]!, s.devices, s.pool);
    return await inspectWindows(a, opts, (_stage, fn) => fn(), s.devices);
  } finally {
    await s.close();
  }
}

/** A REG_SZ from an export ("1:<hex>") as text. */
function sz(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const [type, hex] = v.split(':') as [string, string];
  assert.ok(type === '1' || type === '2', `string type, not ${type}`);
  return Buffer.from(hex, 'hex').toString('utf16le').replace(/\0+$/, '');
}

const IMAGES = { server2019: 'server2019.qcow2', win11: 'win11.vmdk' } as const;
type Profile = keyof typeof IMAGES;
const inspected = new Map<Profile, OperatingSystem>();
const exports = new Map<string, HiveDump>();
const dump = (profile: Profile, hive: string): HiveDump => {
  const k = `${profile}/${hive}`;
  if (!exports.has(k)) exports.set(k, hivexExport(fixture('windows', profile, hive)));
  return exports.get(k)!;
};

before(async () => {
  for (const [p, img] of Object.entries(IMAGES) as [Profile, string][]) inspected.set(p, await inspectImage(fixture('windows', img)));
});

test('per-user applications: each profile NTUSER.DAT Uninstall key, with its user and SID, as hivexregedit exports them', () => {
  for (const p of ['server2019', 'win11'] as const) {
    const os = inspected.get(p)!;
    const sw = dump(p, 'SOFTWARE');
    // expected: ProfileList SID → folder; the folder's NTUSER.DAT (NTUSER-<RID>.DAT in the builder's output)
    const expected: [string, string, string, string, string][] = [];
    for (const [key, vals] of sw) {
      const m = /^Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\(S-1-5-21-\d+-\d+-\d+-(\d+))$/.exec(key);
      if (!m) continue;
      const user = sz(vals.get('ProfileImagePath'))!.split('\\').pop()!;
      let nt: HiveDump;
      try {
        nt = dump(p, `NTUSER-${m[2]}.DAT`);
      } catch {
        continue; // a profile without a hive
      }
      for (const [k, v] of nt) {
        const e = /^Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\([^\\]+)$/.exec(k);
        const display = sz(v.get('DisplayName'));
        if (e && display) expected.push([user, m[1]!, e[1]!, display, sz(v.get('DisplayVersion')) ?? '']);
      }
    }
    const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    expected.sort((a, b) => cmp(a[0], b[0]) || cmp(a[2], b[2]));
    assert.ok(expected.length >= 3, `${p}: the fixture has per-user programs`);
    assert.deepEqual(
      os.user_applications!.map((a) => [a.user, a.sid, a.name, a.display_name, a.version]),
      expected,
      p,
    );
    // per-user programs stay out of the machine-wide list (virt-inspector's applications)
    const machine = new Set(os.applications!.map((a) => a.name));
    assert.ok(os.user_applications!.every((u) => !machine.has(u.name)), p);
  }
  const w11 = inspected.get('win11')!;
  const telegram = w11.user_applications!.find((a) => a.display_name === 'Telegram Desktop')!;
  assert.equal(telegram.user, 'Дмитрий');
  assert.equal(telegram.publisher, 'Telegram FZ-LLC');
  assert.equal(telegram.install_path, 'C:\\Users\\Дмитрий\\AppData\\Roaming\\Telegram Desktop\\');
  const srv = inspected.get('server2019')!;
  assert.deepEqual(
    srv.user_applications!.map((a) => `${a.user}: ${a.display_name}`),
    ['Administrator: Microsoft OneDrive', 'svc_backup: Git', 'svc_backup: Restic Backup Helper'],
    'the entry without a DisplayName is left out, as for the machine-wide list',
  );
  assert.deepEqual(srv.evidence.user_applications!.slice().sort(), [
    '/Users/Administrator/NTUSER.DAT',
    '/Users/svc_backup/NTUSER.DAT',
    '/Windows/System32/config/SOFTWARE:Microsoft\\Windows NT\\CurrentVersion\\ProfileList',
  ]);
});

test('per-user applications are read only with the package facts', async () => {
  const os = await inspectImage(fixture('windows', 'win11.vmdk'), { ...DEFAULT_INSPECT_OPTIONS, include_packages: false });
  assert.equal(os.user_applications, undefined);
  assert.ok(!Object.values(os.evidence).flat().some((p) => /NTUSER\.DAT$/i.test(p)), 'no NTUSER.DAT opened');
});

test('profile folders map to the system volume: %SystemDrive%, %SystemRoot%, other drives', () => {
  const table: [string, string, string | undefined, string][] = [
    ['C:\\Users\\alice', 'C:\\Windows', '/Users/alice', 'alice'],
    ['c:\\users\\Bob\\', 'C:\\Windows', '/users/Bob', 'Bob'],
    ['%SystemDrive%\\Users\\carol', 'C:\\Windows', '/Users/carol', 'carol'],
    ['%systemroot%\\system32\\config\\systemprofile', 'C:\\Windows', '/Windows/system32/config/systemprofile', 'systemprofile'],
    ['%SystemDrive%\\Users\\dave', 'D:\\WINNT', '/Users/dave', 'dave'],
    ['C:\\Users\\erin', 'D:\\WINNT', undefined, 'erin'],
    ['E:\\Profiles\\frank', 'C:\\Windows', undefined, 'frank'],
    ['\\\\fileserver\\profiles\\gina', 'C:\\Windows', undefined, 'gina'],
  ];
  for (const [path, root, guest, user] of table) {
    const r = profileGuestPath(path, root);
    assert.equal(r.guest_path, guest, path);
    assert.equal(r.user, user, path);
  }
});
