import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { newReadStats } from '../../src/disk/types.js';
import { assembleRoot } from '../../src/inspect/guest.js';
import { GuestSession } from '../../src/inspect/session.js';
import { DEFAULT_INSPECT_OPTIONS, type OperatingSystem } from '../../src/inspect/types.js';
import { inspectWindows } from '../../src/inspect/windows/index.js';
import { parseSid } from '../../src/inspect/windows/domain.js';
import { peMachine } from '../../src/inspect/windows/pe.js';
import { windowsDisplayName, windowsOsinfo } from '../../src/inspect/windows/version.js';
import { fixture } from '../helpers/fixtures.js';
import { hivexExport } from '../registry/helpers.js';

interface Run {
  os: OperatingSystem;
  roles: [string, string][];
  bytesRead: number;
  ms: number;
}

/** Inspects the one Windows root of an image the way the orchestrator will (session → root → collector). */
async function inspectImage(path: string, opts = DEFAULT_INSPECT_OPTIONS): Promise<Run> {
  const t0 = performance.now();
  const stats = newReadStats();
  const s = await GuestSession.open([path], { stats });
  try {
    const ms = await s.mountables();
    const roots = ms.filter((m) => m.role === 'windows-root');
    assert.equal(roots.length, 1, 'one Windows root');
    const a = await assembleRoot(roots[0]!, s.devices, s.pool);
    const os = await inspectWindows(a, opts, (_stage, fn) => fn(), s.devices);
    return { os, roles: ms.map((m) => [m.device.device, m.role]), bytesRead: stats.bytesRead, ms: performance.now() - t0 };
  } finally {
    await s.close();
  }
}

let srv: Run;
let w11: Run;
before(async () => {
  srv = await inspectImage(fixture('windows', 'server2019.qcow2'));
  w11 = await inspectImage(fixture('windows', 'win11.vmdk'));
});

test('Windows Server 2019 on MBR (qcow2): identity facts as virt-inspector names them', () => {
  const os = srv.os;
  assert.deepEqual(srv.roles, [
    ['/dev/sda1', 'data'],
    ['/dev/sda2', 'windows-root'],
    ['/dev/sda3', 'data'],
  ]);
  assert.equal(os.root, '/dev/sda2');
  assert.equal(os.type, 'windows');
  assert.equal(os.name, 'windows');
  assert.equal(os.distro, 'windows');
  assert.equal(os.product_name, 'Windows Server 2019 Standard');
  assert.equal(os.product_variant, 'Server');
  assert.equal(os.major_version, 10);
  assert.equal(os.minor_version, 0);
  assert.equal(os.build_id, '17763');
  assert.equal(os.edition, 'ServerStandard');
  assert.equal(os.arch, 'x86_64');
  assert.equal(os.hostname, 'WIN-SRV2019-01');
  assert.equal(os.osinfo, 'win2k19');
  assert.equal(os.pretty_name, 'Windows Server 2019 Standard');
  assert.equal(os.windows_systemroot, '/Windows');
  assert.equal(os.package_format, undefined);
  assert.equal(os.package_management, undefined);
  assert.deepEqual(os.mountpoints, { '/': '/dev/sda2' });
  assert.deepEqual(os.filesystems, ['/dev/sda2']);
  // C: and D: by disk signature + offset; E: is a CD-ROM path, not a partition
  assert.deepEqual(os.drive_mappings, { C: '/dev/sda2', D: '/dev/sda3' });
  assert.equal(os.timezone, 'W. Europe Standard Time');
  assert.deepEqual(os.warnings, []);
});

test('Windows 11 on GPT (VMDK): build number makes it win11 though ProductName says Windows 10', () => {
  const os = w11.os;
  assert.deepEqual(w11.roles, [
    ['/dev/sda1', 'data'],
    ['/dev/sda3', 'windows-root'],
  ]);
  assert.equal(os.root, '/dev/sda3');
  assert.equal(os.product_name, 'Windows 10 Pro');
  assert.equal(os.product_variant, 'Client');
  assert.equal(os.build_id, '22631');
  assert.equal(os.edition, 'Professional');
  assert.equal(os.osinfo, 'win11');
  assert.equal(os.pretty_name, 'Windows 11 Pro', 'the readable name follows the build, not ProductName');
  assert.equal(os.arch, 'x86_64');
  assert.deepEqual(os.drive_mappings, { C: '/dev/sda3' }, 'by GPT partition GUID');
  // Select\Current = 2: ControlSet002 holds the live settings, ControlSet001 an old name
  assert.equal(os.windows_current_control_set, 'ControlSet002');
  assert.equal(os.hostname, 'DESKTOP-7K3Q9ZB');
  assert.equal(os.timezone, 'Pacific Standard Time');
  assert.equal(os.warnings.length, 1);
  assert.match(os.warnings[0]!, /SOFTWARE: hive is dirty .*not replayed/);
});

test('applications: native and WOW6432Node Uninstall entries with publisher and install path', () => {
  const apps = srv.os.applications!.map((a) => [a.name, a.display_name ?? null, a.version, a.arch, a.publisher ?? null, a.install_path ?? null]);
  // exactly what virt-inspector 1.48 lists for this image (entries without DisplayName left out, sorted by key name)
  assert.deepEqual(apps, [
    ['7-Zip', '7-Zip 23.01 (x64)', '23.01', 'x86_64', 'Igor Pavlov', 'C:\\Program Files\\7-Zip\\'],
    ['Mozilla Maintenance Service', 'Mozilla Maintenance Service', '121.0', 'i386', 'Mozilla', null],
    ['Notepad++', 'Notepad++ (64-bit x64)', '8.6.2', 'x86_64', 'Notepad++ Team', 'C:\\Program Files\\Notepad++'],
    ['{A3D5C4D1-3B5E-4E2C-9D6A-4C86D6E5F0B2}', 'VMware Tools', '12.3.5.22544099', 'x86_64', 'VMware, Inc.', 'C:\\Program Files\\VMware\\VMware Tools\\'],
    ['{D4C5C2B3-6E66-4D3B-9C4B-ED6D0D2D8D7B}', 'Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33130', '14.38.33130.0', 'x86_64', 'Microsoft Corporation', null],
    ['{F5B09CFD-F0B2-36AF-8DF4-1DF6B63FC7B4}', 'Microsoft Visual C++ 2015-2022 Redistributable (x86) - 14.38.33130', '14.38.33130.0', 'i386', 'Microsoft Corporation', null],
  ]);
  assert.deepEqual(
    w11.os.applications!.map((a) => a.name),
    ['Microsoft Edge', 'Mozilla Firefox 121.0 (x64 en-US)', '{8D7A4D2E-3E6F-4C42-9C6A-1E7B5B9E2D11}', '{C4A4B6C6-4F62-4B55-8E3E-4B3C6E1E2F20}', '微信'],
  );
  const wechat = w11.os.applications!.find((a) => a.name === '微信')!;
  assert.equal(wechat.display_name, '微信');
  assert.equal(wechat.arch, 'i386');
  assert.equal(wechat.publisher, '腾讯科技(深圳)有限公司');
});

test('services: Type/Start/ImagePath of the current control set; boot, system and auto start count as enabled', () => {
  const byName = new Map(srv.os.services!.map((s) => [s.name, s]));
  const gen = readFileSync(fixture('windows', 'server2019', 'reg', 'system.reg'), 'utf8');
  const declared = new Set([...gen.matchAll(/^\[\\ControlSet001\\Services\\([^\\\]]+)\]$/gm)].map((m) => m[1]!));
  declared.delete('Tcpip'); // present as a service too, listed below
  // every key with a Type value, nothing else (EventLog\Application is a subkey, not a key of Services)
  assert.equal(srv.os.services!.length, 87);
  for (const n of ['ACPI', 'Dnscache', 'VMTools', 'RemoteRegistry', 'Ntfs']) assert.ok(byName.has(n), n);
  assert.ok([...byName.keys()].every((n) => declared.has(n) || n === 'Tcpip'));
  assert.deepEqual(byName.get('ACPI'), {
    name: 'ACPI',
    kind: 'kernel-driver',
    enabled_in: ['boot'],
    start: 'boot',
    service_type: 1,
    image_path: 'System32\\drivers\\ACPI.sys',
    display_name: '@acpi.inf,%ACPI.SvcDesc%;Microsoft ACPI Driver',
  });
  assert.deepEqual(byName.get('VMTools')!.enabled_in, ['auto']);
  assert.equal(byName.get('VMTools')!.kind, 'win32-own-process');
  assert.equal(byName.get('VMTools')!.image_path, '"C:\\Program Files\\VMware\\VMware Tools\\vmtoolsd.exe"');
  assert.equal(byName.get('BITS')!.start, 'demand');
  assert.equal(byName.get('WinDefend')!.start, 'auto-delayed');
  assert.deepEqual(byName.get('RemoteRegistry')!.enabled_in, []);
  assert.equal(byName.get('RemoteRegistry')!.start, 'disabled');
  assert.equal(byName.get('Ntfs')!.kind, 'filesystem-driver');
  assert.equal(byName.get('WinRM')!.start, 'auto', 'Server 2019 enables WinRM');
  assert.equal(w11.os.services!.find((s) => s.name === 'WinRM')!.start, 'demand', 'Windows 11 does not');
  assert.equal(w11.os.services!.find((s) => s.name === 'QEMU-GA')!.enabled_in[0], 'auto');
});

test('guest agents by services and Uninstall entries; Hyper-V services that every Windows has do not count', () => {
  assert.deepEqual(srv.os.guest_agents, ['vmware-tools']);
  assert.deepEqual(w11.os.guest_agents, ['qemu-guest-agent', 'virtio-drivers']);
});

test('users from SAM: RIDs, disabled flag from F, full name from V, home from ProfileList', () => {
  const u = (os: OperatingSystem) => os.users!.map((x) => [x.name, x.uid, x.login_allowed, x.system, x.gecos, x.home]);
  assert.deepEqual(u(srv.os), [
    ['Administrator', 500, true, true, '', 'C:\\Users\\Administrator'],
    ['Guest', 501, false, true, '', ''],
    ['DefaultAccount', 503, false, true, '', ''],
    ['svc_backup', 1000, true, false, 'Backup Service', 'C:\\Users\\svc_backup'],
    ['Jürgen', 1001, false, false, 'Jürgen Weiß', ''],
  ]);
  assert.deepEqual(u(w11.os), [
    ['Administrator', 500, false, true, '', ''],
    ['Guest', 501, false, true, '', ''],
    ['DefaultAccount', 503, false, true, '', ''],
    ['WDAGUtilityAccount', 504, false, true, '', ''],
    ['alice', 1001, true, false, 'Alice Example', 'C:\\Users\\alice'],
    ['Дмитрий', 1002, true, false, 'Дмитрий Иванов', 'C:\\Users\\Дмитрий'],
  ]);
  assert.ok(srv.os.users!.every((x) => x.password === 'unknown'), 'no hashes are read');
});

test('network: static and DHCP adapters, DNS servers, search domains, hosts file', () => {
  const n = srv.os.network!;
  assert.deepEqual(
    n.interfaces.map((i) => [i.name, i.method, i.addresses, i.gateway, i.dns]),
    [
      ['{4f1c2b7a-1d2e-4b4c-9a0e-6b1f3c5d7e91}', 'static', ['192.168.10.20/24', '192.168.10.21/24'], '192.168.10.1', ['192.168.10.2', '192.168.10.3']],
      ['{9b3e0a55-2c71-4e0f-8d6a-0c2f1e4b7a63}', 'dhcp', ['10.0.2.15/24'], '10.0.2.2', ['10.0.2.3']],
    ],
  );
  assert.deepEqual(n.dns_servers, ['192.168.10.2', '192.168.10.3', '10.0.2.3']);
  assert.deepEqual(n.search_domains, ['corp.example.com', 'example.com']);
  assert.deepEqual(n.hosts, [{ address: '10.0.0.5', names: ['build.corp.example.com', 'build'] }]);
  const w = w11.os.network!;
  assert.deepEqual(
    w.interfaces.map((i) => [i.method, i.addresses, i.gateway ?? null, i.dns ?? null]),
    [
      ['dhcp', [], null, null],
      ['dhcp', ['192.168.122.57/24'], '192.168.122.1', ['192.168.122.1', '1.1.1.1']],
    ],
  );
  assert.deepEqual(w.search_domains, ['home.arpa']);
  // each adapter's own DNS suffix: the static one's Domain, the DHCP lease's DhcpDomain
  assert.deepEqual(n.interfaces.map((i) => i.domain ?? null), ['corp.example.com', null]);
  assert.deepEqual(w.interfaces.map((i) => i.domain ?? null), [null, 'home.arpa']);
});

test('static addresses, DNS servers and suffixes per adapter agree with hivexregedit --export of the SYSTEM hive', () => {
  for (const [run, profile, cs] of [[srv, 'server2019', 'ControlSet001'], [w11, 'win11', 'ControlSet002']] as const) {
    const dump = hivexExport(fixture('windows', profile, 'SYSTEM'));
    for (const i of run.os.network!.interfaces) {
      const vals = dump.get(`${cs}\\Services\\Tcpip\\Parameters\\Interfaces\\${i.name}`)!;
      const text = (name: string) => {
        const v = vals.get(name);
        if (!v) return [];
        const [, hex] = v.split(':');
        return Buffer.from(hex!, 'hex').toString('utf16le').split('\0').flatMap((s) => s.split(/[ ,]+/)).filter((s) => s && s !== '0.0.0.0');
      };
      const dhcp = vals.get('EnableDHCP') === `4:01000000`;
      assert.deepEqual(i.addresses.map((a) => a.replace(/\/\d+$/, '')), text(dhcp ? 'DhcpIPAddress' : 'IPAddress'), `${profile} ${i.name} addresses`);
      const ns = text('NameServer');
      assert.deepEqual(i.dns ?? [], ns.length ? ns : text('DhcpNameServer'), `${profile} ${i.name} dns`);
      assert.equal(i.domain ?? '', text('Domain')[0] ?? text('DhcpDomain')[0] ?? '', `${profile} ${i.name} suffix`);
    }
  }
});

test('domain membership from the SECURITY hive: a joined server, a workgroup client; agrees with hivexregedit --export', () => {
  assert.deepEqual(srv.os.domain, { joined: true, name: 'CORP', sid: 'S-1-5-21-2873013452-1490231467-3817046021', dns_domain: 'corp.example.com' });
  assert.deepEqual(w11.os.domain, { joined: false, name: 'WORKGROUP' });
  for (const [run, profile] of [[srv, 'server2019'], [w11, 'win11']] as const) {
    const dump = hivexExport(fixture('windows', profile, 'SECURITY'));
    const name = Buffer.from(dump.get('Policy\\PolPrDmN')!.get('')!.split(':')[1]!, 'hex');
    assert.equal(name.subarray(8, 8 + name.readUInt16LE(0)).toString('utf16le'), run.os.domain!.name, profile);
    assert.equal(dump.get('Policy\\PolPrDmS')!.get('')!.split(':')[1]!.length > 0, run.os.domain!.joined, profile);
  }
  assert.deepEqual(srv.os.evidence.domain, [
    '/Windows/System32/config/SECURITY:Policy\\PolPrDmN',
    '/Windows/System32/config/SECURITY:Policy\\PolPrDmS',
    '/Windows/System32/config/SYSTEM:ControlSet001\\Services\\Tcpip\\Parameters',
  ]);
});

test('evidence names the hive file and key (or file) behind each fact', () => {
  const e = w11.os.evidence;
  assert.deepEqual(e.release, ['/Windows/System32/config/SOFTWARE:Microsoft\\Windows NT\\CurrentVersion']);
  assert.deepEqual(e.arch, ['/Windows/System32/ntoskrnl.exe']);
  assert.deepEqual(e.hostname, ['/Windows/System32/config/SYSTEM:ControlSet002\\Control\\ComputerName\\ComputerName']);
  assert.deepEqual(e.drive_mappings, ['/Windows/System32/config/SYSTEM:MountedDevices']);
  assert.deepEqual(e.users, ['/Windows/System32/config/SAM:SAM\\Domains\\Account\\Users']);
  assert.deepEqual(e.network, ['/Windows/System32/config/SYSTEM:ControlSet002\\Services\\Tcpip\\Parameters', '/Windows/System32/drivers/etc/hosts']);
  assert.deepEqual(e.control_set, ['/Windows/System32/config/SYSTEM:Select']);
  assert.deepEqual(Object.keys(e).sort(), ['account_domain', 'applications', 'arch', 'control_set', 'domain', 'drive_mappings', 'drivers', 'groups', 'guest_agents', 'hostname', 'network', 'pending_reboot', 'release', 'services', 'timezone', 'updates', 'user_applications', 'users', 'windows_update']);
});

test('options leave out what was not asked for, and inspection reads only a small part of the disk', async () => {
  const r = await inspectImage(fixture('windows', 'server2019.qcow2'), {
    ...DEFAULT_INSPECT_OPTIONS,
    include_packages: false,
    include_services: false,
    include_users: false,
    include_network: false,
  });
  assert.equal(r.os.applications, undefined);
  assert.equal(r.os.services, undefined);
  assert.equal(r.os.users, undefined);
  assert.equal(r.os.network, undefined);
  assert.equal(r.os.domain, undefined, 'the SECURITY hive is opened only for network facts');
  assert.equal(r.os.hostname, 'WIN-SRV2019-01');
  assert.ok(r.bytesRead < srv.bytesRead, `${r.bytesRead} < ${srv.bytesRead}`);
  assert.ok(srv.bytesRead < 4 * 1024 * 1024, `full inspection read ${srv.bytesRead} bytes of a 100 MiB disk`);
});

test('PE machine field: x86-64 and i386 mingw binaries, non-PE data', () => {
  assert.equal(peMachine(readFileSync('/usr/share/win64/gdbreplay.exe').subarray(0, 4096)), 'x86_64');
  assert.equal(peMachine(readFileSync('/usr/share/win32/gdbreplay.exe').subarray(0, 4096)), 'i386');
  assert.equal(peMachine(Buffer.from('#!/bin/sh\n'.padEnd(128, ' '))), undefined);
  const mz = Buffer.alloc(256);
  mz.write('MZ');
  mz.writeUInt32LE(0x1000, 0x3c); // e_lfanew past the header read
  assert.equal(peMachine(mz), undefined);
});

test('osinfo ids and display names: libosinfo names, libguestfs rules, the build number decides on 10.0', () => {
  // [major, minor, ProductName, InstallationType, CurrentBuildNumber] → [osinfo, readable name]
  const table: [number, number, string, string, string | undefined, string, string][] = [
    [5, 1, 'Microsoft Windows XP', 'Client', '2600', 'winxp', 'Microsoft Windows XP'],
    [5, 2, 'Microsoft Windows Server 2003 R2', 'Server', '3790', 'win2k3r2', 'Microsoft Windows Server 2003 R2'],
    [6, 0, 'Windows Vista (TM) Business', 'Client', '6002', 'winvista', 'Windows Vista (TM) Business'],
    [6, 1, 'Windows 7 Professional', 'Client', '7601', 'win7', 'Windows 7 Professional'],
    [6, 1, 'Windows Server 2008 R2 Standard', 'Server', '7601', 'win2k8r2', 'Windows Server 2008 R2 Standard'],
    [6, 3, 'Windows 8.1 Pro', 'Client', '9600', 'win8.1', 'Windows 8.1 Pro'],
    [6, 3, 'Windows Server 2012 R2 Datacenter', 'Server Core', '9600', 'win2k12r2', 'Windows Server 2012 R2 Datacenter'],
    [10, 0, 'Windows Server 2016 Standard', 'Server', '14393', 'win2k16', 'Windows Server 2016 Standard'],
    [10, 0, 'Windows Server 2019 Datacenter', 'Server Core', '17763', 'win2k19', 'Windows Server 2019 Datacenter'],
    [10, 0, 'Windows Server 2022 Datacenter', 'Server', '20348', 'win2k22', 'Windows Server 2022 Datacenter'],
    [10, 0, 'Windows Server 2025 Standard', 'Server', '26100', 'win2k25', 'Windows Server 2025 Standard'],
    // an in-place upgrade that left the old year in ProductName: the build wins
    [10, 0, 'Windows Server 2019 Standard', 'Server', '20348', 'win2k22', 'Windows Server 2022 Standard'],
    // no build number: the year in the name
    [10, 0, 'Windows Server 2022 Standard', 'Server', undefined, 'win2k22', 'Windows Server 2022 Standard'],
    [10, 0, 'Windows 10 Enterprise', 'Client', '19045', 'win10', 'Windows 10 Enterprise'],
    [10, 0, 'Windows 10 Pro', 'Client', '22000', 'win11', 'Windows 11 Pro'],
    [10, 0, 'Windows 10 Enterprise', 'Client', '26100', 'win11', 'Windows 11 Enterprise'],
    [10, 0, 'Windows 10 Pro', 'Client', '21999', 'win10', 'Windows 10 Pro'],
  ];
  for (const [major, minor, product_name, product_variant, build_id, osinfo, display] of table) {
    const v = { major_version: major, minor_version: minor, product_name, product_variant, ...(build_id ? { build_id } : {}) };
    assert.equal(windowsOsinfo(v), osinfo, `${product_name} ${build_id}`);
    assert.equal(windowsDisplayName(v), display, `${product_name} ${build_id}`);
  }
  // every libosinfo id the issue names is reached
  const ids = new Set(table.map((r) => r[5]));
  for (const id of ['win7', 'win8.1', 'win10', 'win11', 'win2k8r2', 'win2k12r2', 'win2k16', 'win2k19', 'win2k22', 'win2k25']) assert.ok(ids.has(id), id);
});

test('damaged hives: each lost fact is a warning, the facts of the sound hive remain', async () => {
  const r = await inspectImage(fixture('windows', 'damaged.img'));
  const os = r.os;
  assert.deepEqual(r.roles, [['/dev/sda', 'windows-root']]);
  assert.equal(os.product_name, 'Windows Server 2019 Standard', 'SOFTWARE is intact');
  assert.equal(os.osinfo, 'win2k19');
  assert.equal(os.arch, 'i386', 'a 32-bit kernel');
  // the hive's WOW6432Node view is read though the kernel is 32-bit: both views on every guest
  assert.equal(os.applications!.length, 6);
  assert.ok(os.applications!.every((a) => a.arch === 'i386'));
  assert.ok(os.applications!.some((a) => a.name === 'Mozilla Maintenance Service'));
  for (const missing of ['hostname', 'drive_mappings', 'services', 'users', 'network', 'timezone', 'windows_current_control_set', 'domain'] as const) {
    assert.equal(os[missing], undefined, missing);
  }
  assert.deepEqual(os.guest_agents, ['vmware-tools'], 'still found through the Uninstall entries');
  const w = os.warnings.join('\n');
  assert.match(w, /SYSTEM: header states \d+ bytes of hive bins, the file holds 4096/);
  assert.match(w, /^hostname: registry hive: subkey list offset 0x[0-9a-f]+ lies outside the hive bins/m);
  assert.match(w, /^\/Windows\/System32\/config\/SAM: 28 bytes is too short for a hive$/m);
  assert.deepEqual(Object.keys(os.evidence).sort(), ['applications', 'arch', 'guest_agents', 'release', 'server_features', 'updates', 'user_applications', 'windows_update']);
  // SYSTEM's Session Manager cannot be read: whether a reboot is pending is unknown, not "no"
  assert.equal(os.pending_reboot, undefined);
  assert.match(w, /^pending_reboot: registry hive: subkey list offset/m);
  assert.deepEqual(os.user_applications, [], 'no profile folder holds a hive');
  assert.deepEqual(os.evidence.guest_agents, [
    '/Windows/System32/config/SOFTWARE:Microsoft\\Windows\\CurrentVersion\\Uninstall',
    '/Windows/System32/config/SOFTWARE:WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall',
  ]);
});

test('SIDs: binary form to S-1-…, anything else (empty, wrong revision, short, too many sub-authorities) is none', () => {
  const sid = (hex: string) => parseSid(Buffer.from(hex, 'hex'));
  assert.equal(sid('010400000000000515000000ccb43eabab20d358058083e3'), 'S-1-5-21-2873013452-1490231467-3817046021');
  assert.equal(sid('010100000000000512000000'), 'S-1-5-18');
  assert.equal(sid(''), undefined);
  assert.equal(sid('00000000'), undefined, 'the DWORD 0 of a machine not joined');
  assert.equal(sid('020100000000000512000000'), undefined, 'revision 2');
  assert.equal(sid('0104000000000005150000'), undefined, 'shorter than its count says');
  assert.equal(sid(`0110000000000005${'01000000'.repeat(16)}`), undefined, '16 sub-authorities');
  assert.equal(parseSid(undefined), undefined);
});
