import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { assembleRoot } from '../../src/inspect/guest.js';
import { GuestSession } from '../../src/inspect/session.js';
import { DEFAULT_INSPECT_OPTIONS, type OperatingSystem } from '../../src/inspect/types.js';
import { inspectWindows } from '../../src/inspect/windows/index.js';
import { profileGuestPath } from '../../src/inspect/windows/profiles.js';
import { parseAliasC } from '../../src/inspect/windows/users.js';
import { driverFamily, readDrivers } from '../../src/inspect/windows/driverstore.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { openHive } from '../../src/registry/index.js';
import { readFileSync } from 'node:fs';
import { runCli } from '../helpers/cli.js';
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
  assert.equal(os.updates, undefined);
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

/** The bytes of a binary value in an export ("3:<hex>"). */
function bin(v: string | undefined): Buffer {
  assert.ok(v, 'value present');
  return Buffer.from(v.split(':')[1]!, 'hex');
}

/** RegRipper samparse.pl's reading of an alias C value's members (12-byte well-known and 28-byte domain SIDs). */
function samparseMembers(c: Buffer): string[] {
  const vals = Array.from({ length: 13 }, (_, i) => c.readUInt32LE(i * 4));
  const out: string[] = [];
  let count = 0;
  for (let i = 0; i < vals[12]!; i++) {
    const ofs = vals[10]! + 52 + count;
    const tmp = c.readUInt32LE(ofs);
    const len = tmp === 0x101 ? 12 : tmp === 0x501 ? 28 : 0;
    assert.ok(len, `SID header ${tmp.toString(16)}`);
    const subs = Array.from({ length: (len - 8) / 4 }, (_, j) => c.readUInt32LE(ofs + 8 + 4 * j));
    out.push(`S-1-${c.readUIntBE(ofs + 2, 6)}-${subs.join('-')}`);
    count += len;
  }
  return out;
}

const filetimeIso = (b: Buffer, off: number) => {
  const ft = b.readBigUInt64LE(off);
  return ft === 0n || ft === 0x7fffffffffffffffn ? undefined : new Date(Number(ft / 10000n) - 11644473600000).toISOString();
};

test('local users from SAM F/V: SID, disabled and locked flags, last logon, password last set — as hivexregedit exports the values', () => {
  for (const p of ['server2019', 'win11'] as const) {
    const os = inspected.get(p)!;
    const sam = dump(p, 'SAM');
    const machine = /^S-1-5-21-\d+-\d+-\d+/.exec([...dump(p, 'SOFTWARE').keys()].find((k) => /ProfileList\\S-1-5-21-/.test(k))!.split('\\').pop()!)![0];
    for (const u of os.users!) {
      const f = bin(sam.get(`SAM\\Domains\\Account\\Users\\${u.uid.toString(16).toUpperCase().padStart(8, '0')}`)!.get('F'));
      const acb = f.readUInt16LE(0x38);
      assert.equal(u.sid, `${machine}-${u.uid}`, u.name);
      assert.equal(u.disabled, (acb & 1) !== 0, u.name);
      assert.equal(u.locked, (acb & 0x400) !== 0, u.name);
      assert.equal(u.login_allowed, !u.disabled, u.name);
      assert.equal(u.last_logon, filetimeIso(f, 8), u.name);
      assert.equal(u.password_last_set, filetimeIso(f, 0x18), u.name);
      assert.equal(u.logon_count, f.readUInt16LE(0x42), u.name);
      assert.equal(u.password, 'unknown', 'no hash is read');
    }
  }
  const w11 = new Map(inspected.get('win11')!.users!.map((u) => [u.name, u]));
  assert.equal(w11.get('Дмитрий')!.locked, true);
  assert.equal(w11.get('Дмитрий')!.last_logon, '2024-01-23T08:53:20.000Z');
  assert.equal(w11.get('alice')!.locked, false);
  assert.equal(w11.get('alice')!.password_last_set, '2023-11-16T15:10:00.000Z');
  assert.equal(w11.get('Guest')!.last_logon, undefined, 'never logged on');
  assert.equal(w11.get('Administrator')!.comment, 'Built-in account for administering the computer/domain');
});

test('local groups from SAM Builtin aliases: members by name, domain members by SID; each user lists its groups', () => {
  for (const p of ['server2019', 'win11'] as const) {
    const os = inspected.get(p)!;
    const sam = dump(p, 'SAM');
    const aliases = [...sam].filter(([k]) => /^SAM\\Domains\\Builtin\\Aliases\\[0-9A-F]{8}$/.test(k));
    assert.deepEqual(
      os.groups!.map((g) => [g.gid, g.sid, g.member_sids]),
      aliases.map(([k, v]) => [parseInt(k.slice(-8), 16), `S-1-5-32-${parseInt(k.slice(-8), 16)}`, samparseMembers(bin(v.get('C')))]).sort((a, b) => (a[0] as number) - (b[0] as number)),
      p,
    );
    // the names in Builtin\Aliases\Names carry the same RIDs (the type of their default value)
    for (const g of os.groups!) assert.ok(sam.has(`SAM\\Domains\\Builtin\\Aliases\\Names\\${g.name}`), g.name);
  }
  const srv = new Map(inspected.get('server2019')!.groups!.map((g) => [g.name, g.members]));
  assert.deepEqual(srv.get('Administrators'), ['Administrator', 'svc_backup', 'S-1-5-21-2873013452-1490231467-3817046021-512']);
  assert.deepEqual(srv.get('Users'), ['NT AUTHORITY\\INTERACTIVE', 'NT AUTHORITY\\Authenticated Users', 'S-1-5-21-2873013452-1490231467-3817046021-513']);
  assert.deepEqual(srv.get('Remote Desktop Users'), ['svc_backup', 'Jürgen']);
  assert.deepEqual(srv.get('Remote Management Users'), []);
  const users = new Map(inspected.get('server2019')!.users!.map((u) => [u.name, u.groups]));
  assert.deepEqual(users.get('svc_backup'), ['Administrators', 'Backup Operators', 'Remote Desktop Users']);
  assert.deepEqual(users.get('Jürgen'), ['Remote Desktop Users']);
  assert.deepEqual(inspected.get('server2019')!.evidence.groups, ['/Windows/System32/config/SAM:SAM\\Domains\\Builtin\\Aliases']);
});

test('alias C values that lie (short, member past the end, absurd count) are CORRUPT_IMAGE', () => {
  const c = bin(dump('server2019', 'SAM').get('SAM\\Domains\\Builtin\\Aliases\\00000220')!.get('C'));
  assert.equal(parseAliasC(c).members.length, 3);
  const bad = (b: Buffer) => assert.throws(() => parseAliasC(b), (e: Error & { code?: string }) => e.code === 'CORRUPT_IMAGE');
  bad(c.subarray(0, 0x30));
  bad(c.subarray(0, c.length - 4));
  const many = Buffer.from(c);
  many.writeUInt32LE(0xffffffff, 0x30);
  bad(many);
  const notSid = Buffer.from(c);
  notSid[0x34 + c.readUInt32LE(0x28)] = 2;
  bad(notSid);
});

const dwordOf = (v: string | undefined) => (v === undefined ? undefined : bin(v).readUInt32LE(0));

test('installed updates: CBS Package_for_KB… packages (state, install time) and Uninstall keys naming a KB, as hivexregedit exports them', () => {
  const states: Record<number, string> = { 0x50: 'superseded', 0x60: 'install_pending', 0x70: 'installed' };
  for (const p of ['server2019', 'win11'] as const) {
    const sw = dump(p, 'SOFTWARE');
    const expected = new Map<string, [string, string, string | undefined, string]>();
    for (const [k, v] of sw) {
      const m = /^Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\Packages\\(Package_(\d+_)?for_(KB\d+)~.*)$/.exec(k);
      if (!m || (m[2] && expected.has(m[3]!))) continue;
      const ft = (BigInt(dwordOf(v.get('InstallTimeHigh'))!) << 32n) | BigInt(dwordOf(v.get('InstallTimeLow'))!);
      expected.set(m[3]!, [m[1]!, 'cbs', states[dwordOf(v.get('CurrentState'))!], new Date(Number(ft / 10000n) - 11644473600000).toISOString()]);
    }
    for (const [k, v] of sw) {
      const m = /^(?:WOW6432Node\\)?Microsoft\\Windows\\CurrentVersion\\Uninstall\\(KB\d+)$/.exec(k);
      if (m && !expected.has(m[1]!)) expected.set(m[1]!, [m[1]!, 'uninstall', undefined, sz(v.get('InstallDate'))!.replace(/^(\d{4})(\d\d)(\d\d)$/, '$1-$2-$3')]);
    }
    const os = inspected.get(p)!;
    assert.deepEqual(
      os.updates!.map((u) => [u.kb, u.package, u.source, u.state, u.installed]),
      [...expected].sort((a, b) => Number(a[0].slice(2)) - Number(b[0].slice(2))).map(([kb, r]) => [kb, ...r]),
      p,
    );
  }
  const srv = new Map(inspected.get('server2019')!.updates!.map((u) => [u.kb, u]));
  assert.deepEqual([...srv.keys()], ['KB2468871', 'KB5005112', 'KB5033371', 'KB5034439'], 'one entry per KB; servicing stack and language packs are no KBs');
  assert.equal(srv.get('KB5034439')!.package, 'Package_for_KB5034439~31bf3856ad364e35~amd64~~17763.5322.1.1', 'the main package, not its part');
  assert.equal(srv.get('KB5034439')!.installed, '2024-01-16T07:30:00.000Z');
  assert.equal(srv.get('KB5033371')!.state, 'superseded');
  assert.deepEqual(srv.get('KB2468871'), { kb: 'KB2468871', source: 'uninstall', package: 'KB2468871', installed: '2023-04-12', product: 'Microsoft .NET Framework 4 Extended' });
});

test('pending-reboot markers: CBS RebootPending, WU RebootRequired, PendingFileRenameOperations pairs', () => {
  const w11 = inspected.get('win11')!;
  assert.deepEqual(w11.pending_reboot, { pending: true, markers: ['cbs_reboot_pending', 'windows_update_reboot_required', 'pending_file_rename_operations'], file_rename_operations: 2 });
  const sys = dump('win11', 'SYSTEM');
  const ops = bin(sys.get('ControlSet002\\Control\\Session Manager')!.get('PendingFileRenameOperations')).toString('utf16le').split('\0');
  // source, target ('!' = replace), source, '' (delete): the empty target ends the REG_MULTI_SZ's visible list
  assert.deepEqual(ops.filter(Boolean).length, 3, 'three paths, two operations, in the export');
  assert.deepEqual(inspected.get('server2019')!.pending_reboot, { pending: false, markers: [] });
  assert.deepEqual(w11.evidence.pending_reboot, [
    '/Windows/System32/config/SOFTWARE:Microsoft\\Windows\\CurrentVersion\\Component Based Servicing\\RebootPending',
    '/Windows/System32/config/SOFTWARE:Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto Update\\RebootRequired',
    '/Windows/System32/config/SYSTEM:ControlSet002\\Control\\Session Manager',
  ]);
});

test('Windows Update policy: WSUS server, target group, AUOptions and schedule', () => {
  const sw = dump('server2019', 'SOFTWARE');
  const wu = sw.get('Policies\\Microsoft\\Windows\\WindowsUpdate')!;
  const au = sw.get('Policies\\Microsoft\\Windows\\WindowsUpdate\\AU')!;
  assert.deepEqual(inspected.get('server2019')!.windows_update, {
    policy: true,
    wu_server: sz(wu.get('WUServer')),
    wu_status_server: sz(wu.get('WUStatusServer')),
    target_group: 'Servers-Ring1',
    use_wu_server: dwordOf(au.get('UseWUServer')) === 1,
    no_auto_update: false,
    au_options: dwordOf(au.get('AUOptions')),
    au_options_text: 'auto_download_notify_install',
    scheduled_install_day: 0,
    scheduled_install_time: 3,
    disable_windows_update_access: true,
  });
  assert.deepEqual(inspected.get('win11')!.windows_update, { policy: true, no_auto_update: false, au_options: 4, au_options_text: 'auto_download_scheduled_install' });
});

test('reboot markers and update policy are read only with the security facts', async () => {
  const os = await inspectImage(fixture('windows', 'win11.vmdk'), { ...DEFAULT_INSPECT_OPTIONS, include_security: false });
  assert.equal(os.pending_reboot, undefined);
  assert.equal(os.windows_update, undefined);
  assert.equal(os.evidence.pending_reboot, undefined);
  assert.ok(os.timezone, 'the other system facts remain');
});

test('DriverStore packages from SYSTEM DriverDatabase, paravirtual drivers tagged: virtio on the KVM guest, VMware on the other', () => {
  for (const p of ['server2019', 'win11'] as const) {
    const sys = dump(p, 'SYSTEM');
    const expected = [...sys]
      .filter(([k]) => /^DriverDatabase\\DriverPackages\\[^\\]+$/.test(k))
      .map(([k, v]) => [k.split('\\').pop()!, sz(v.get(''))!, sz(v.get('Provider'))!])
      .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
    const os = inspected.get(p)!;
    assert.deepEqual(os.drivers!.map((d) => [d.package, d.published_name, d.provider]), expected, p);
    assert.deepEqual(os.evidence.drivers, ['/Windows/System32/config/SYSTEM:DriverDatabase\\DriverPackages']);
  }
  const w11 = inspected.get('win11')!;
  assert.deepEqual(w11.virt_drivers, { virtio: true, vmware: false, hyperv: true, xen: false, virtualbox: false });
  assert.deepEqual(
    w11.drivers!.filter((d) => d.family === 'virtio').map((d) => d.inf),
    ['balloon.inf', 'netkvm.inf', 'vioscsi.inf', 'vioser.inf', 'viostor.inf'],
  );
  const srv = inspected.get('server2019')!;
  assert.deepEqual(srv.virt_drivers, { virtio: false, vmware: true, hyperv: true, xen: false, virtualbox: false }, 'no virtio drivers: a move to KVM needs them first');
  assert.equal(srv.drivers!.find((d) => d.inf === 'e1g6032e.inf')!.family, undefined);
  assert.equal(driverFamily('VIOSTOR.INF'), 'virtio');
  assert.equal(driverFamily('pvscsi.inf'), 'vmware');
});

test('without a DriverDatabase (Windows 7), the FileRepository folder names are the packages', async () => {
  const s = await GuestSession.open([fixture('windows', 'win11.vmdk')]);
  try {
    const root = (await s.mountables()).find((m) => m.role === 'windows-root')!;
    const a = await assembleRoot(root, s.devices, s.pool);
    const g = new GuestView(a.vfs, []);
    // a hive written by hivexregedit without DriverDatabase
    const noDb = await openHive(readFileSync(fixture('windows', 'mixedcase', 'SOFTWARE-a')), 'SOFTWARE-a');
    const keys: string[] = [];
    const drivers = await readDrivers(g, noDb, '/Windows', keys);
    const folders = readFileSync(fixture('windows', 'win11', 'reg', 'driverstore.txt'), 'utf8').trim().split('\n').sort();
    assert.deepEqual(drivers.map((d) => d.package), folders);
    assert.ok(drivers.every((d) => d.published_name === undefined));
    assert.deepEqual(keys, []);
    assert.deepEqual(g.evidence, ['/Windows/System32/DriverStore/FileRepository']);
  } finally {
    await s.close();
  }
});

test('the CLI summary shows membership, admins, per-user programs, updates, reboot, update policy, drivers and BitLocker volumes', async () => {
  const srv = await runCli(['inspect', fixture('windows', 'server2019.qcow2')]);
  assert.equal(srv.code, 0, srv.stderr);
  for (const line of [
    /^ {2}domain: {7}joined to corp\.example\.com \(CORP\)$/m,
    /^ {2}admins: {7}Administrator, svc_backup, S-1-5-21-2873013452-1490231467-3817046021-512$/m,
    /^ {2}rdp users: {4}svc_backup, Jürgen$/m,
    /^ {2}user apps: {4}3 \(Administrator, svc_backup\)$/m,
    /^ {2}updates: {6}4 KBs, latest KB5034439 \(2024-01-16\)$/m,
    /^ {2}reboot: {7}not pending$/m,
    /^ {2}wu policy: {4}auto_download_notify_install, WSUS http:\/\/wsus\.corp\.example\.com:8530$/m,
    /^ {2}drivers: {6}8 packages; paravirtual: vmware, hyperv \(no virtio drivers\)$/m,
  ]) assert.match(srv.stdout, line);
  const w11 = await runCli(['inspect', fixture('windows', 'win11.vmdk')]);
  assert.match(w11.stdout, /^ {2}domain: {7}workgroup WORKGROUP$/m);
  assert.match(w11.stdout, /^ {2}locked out: {3}Дмитрий$/m);
  assert.match(w11.stdout, /^ {2}reboot: {7}pending \(cbs_reboot_pending, windows_update_reboot_required, pending_file_rename_operations\)$/m);
  assert.match(w11.stdout, /^ {2}drivers: {6}7 packages; paravirtual: virtio, hyperv$/m);
  const bde = await runCli(['inspect', '--no-packages', fixture('windows', 'bitlocker.qcow2')]);
  assert.match(bde.stdout, /^ {2}\/dev\/sda3 +BitLocker +24M +ENCRYPTED \(tpm_pin, recovery_password\)$/m);
  assert.match(bde.stdout, /^ {2}\/dev\/sda4 +BitLocker +24M +ENCRYPTED \(password, recovery_password, startup_key\)$/m);
});

test('server roles and features: ServerComponentCache subkeys with InstallState 1; none on a client', () => {
  const sw = dump('server2019', 'SOFTWARE');
  const expected = [...sw]
    .filter(([k, v]) => /^Microsoft\\ServerManager\\ServicingStorage\\ServerComponentCache\\[^\\]+$/.test(k) && dwordOf(v.get('InstallState')) === 1)
    .map(([k]) => k.split('\\').pop()!)
    .sort();
  const srv = inspected.get('server2019')!;
  assert.deepEqual(srv.server_features, expected);
  assert.ok(srv.server_features!.includes('Web-Server'));
  assert.ok(!srv.server_features!.includes('RDS-RD-Server'), 'InstallState 0: not installed');
  assert.deepEqual(srv.evidence.server_features, ['/Windows/System32/config/SOFTWARE:Microsoft\\ServerManager\\ServicingStorage\\ServerComponentCache']);
  const w11 = inspected.get('win11')!;
  assert.equal(w11.server_features, undefined);
  assert.equal(w11.evidence.server_features, undefined);
});
