import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { osTitle } from '../../src/cli/commands/inspect.js';
import { inspect, type Inspection } from '../../src/inspect/index.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { hivexExport, type HiveDump } from '../registry/helpers.js';

/**
 * One small guest per Windows release (test/fixtures/windows-families/build.sh). The expected
 * facts come from the releases themselves (ProductName, InstallationType, build), libosinfo's
 * short ids (osinfo-db's win-*.xml) and libguestfs's rules (lib/inspect-osinfo.c): 6.x by
 * major.minor and InstallationType, 10.0 servers by the year, 10.0 clients by build ≥ 22000.
 */
interface Family {
  id: string;
  scheme: 'mbr' | 'gpt';
  product_name: string;
  product_variant: string;
  major: number;
  minor: number;
  build: string;
  edition: string;
  arch: string;
  hostname: string;
  /** the name a person knows the release by (the summary's title) */
  pretty: string;
  /** CurrentVersion's extra values the release has, or must not have (null) */
  extra: Record<string, string | number | null>;
}

const SIX = { CurrentMajorVersionNumber: null, CurrentMinorVersionNumber: null, DisplayVersion: null, ReleaseId: null };
const FAMILIES: Family[] = [
  { id: 'win7', scheme: 'mbr', product_name: 'Windows 7 Professional', product_variant: 'Client', major: 6, minor: 1, build: '7601', edition: 'Professional', arch: 'i386', hostname: 'ALICE-PC', pretty: 'Windows 7 Professional', extra: { ...SIX, CurrentVersion: '6.1', CSDVersion: 'Service Pack 1' } },
  { id: 'win2k8r2', scheme: 'mbr', product_name: 'Windows Server 2008 R2 Standard', product_variant: 'Server', major: 6, minor: 1, build: '7601', edition: 'ServerStandard', arch: 'x86_64', hostname: 'WIN-K3Q8T2M9F1A', pretty: 'Windows Server 2008 R2 Standard', extra: { ...SIX, CurrentVersion: '6.1', CSDVersion: 'Service Pack 1' } },
  { id: 'win8.1', scheme: 'mbr', product_name: 'Windows 8.1 Pro', product_variant: 'Client', major: 6, minor: 3, build: '9600', edition: 'Professional', arch: 'x86_64', hostname: 'BOB-LAPTOP', pretty: 'Windows 8.1 Pro', extra: { ...SIX, CurrentVersion: '6.3' } },
  { id: 'win2k12r2', scheme: 'mbr', product_name: 'Windows Server 2012 R2 Datacenter', product_variant: 'Server', major: 6, minor: 3, build: '9600', edition: 'ServerDatacenter', arch: 'x86_64', hostname: 'WIN-Q1B3N5V7C9X', pretty: 'Windows Server 2012 R2 Datacenter', extra: { ...SIX, CurrentVersion: '6.3' } },
  { id: 'win10', scheme: 'gpt', product_name: 'Windows 10 Enterprise', product_variant: 'Client', major: 10, minor: 0, build: '19045', edition: 'Enterprise', arch: 'x86_64', hostname: 'DESKTOP-4F8K2LQ', pretty: 'Windows 10 Enterprise', extra: { CurrentVersion: '6.3', CurrentMajorVersionNumber: 10, CurrentMinorVersionNumber: 0, ReleaseId: '2009', DisplayVersion: '22H2' } },
  // ProductName says "Windows 10" on Windows 11: the build (22000, its first) decides
  { id: 'win11', scheme: 'gpt', product_name: 'Windows 10 Pro', product_variant: 'Client', major: 10, minor: 0, build: '22000', edition: 'Professional', arch: 'x86_64', hostname: 'DESKTOP-N3R7TQ2', pretty: 'Windows 11 Pro', extra: { CurrentVersion: '6.3', CurrentMajorVersionNumber: 10, CurrentMinorVersionNumber: 0, ReleaseId: '2009', DisplayVersion: '21H2' } },
  { id: 'win2k16', scheme: 'gpt', product_name: 'Windows Server 2016 Standard', product_variant: 'Server', major: 10, minor: 0, build: '14393', edition: 'ServerStandard', arch: 'x86_64', hostname: 'WIN-H2J4K6L8M0P', pretty: 'Windows Server 2016 Standard', extra: { CurrentVersion: '6.3', CurrentMajorVersionNumber: 10, CurrentMinorVersionNumber: 0, ReleaseId: '1607', DisplayVersion: null } },
  { id: 'win2k19', scheme: 'gpt', product_name: 'Windows Server 2019 Datacenter', product_variant: 'Server', major: 10, minor: 0, build: '17763', edition: 'ServerDatacenter', arch: 'x86_64', hostname: 'WIN-R5T7Y9U1E3W', pretty: 'Windows Server 2019 Datacenter', extra: { CurrentVersion: '6.3', CurrentMajorVersionNumber: 10, CurrentMinorVersionNumber: 0, ReleaseId: '1809', DisplayVersion: null } },
  // Server Core: InstallationType "Server Core" still counts as a server
  { id: 'win2k22', scheme: 'gpt', product_name: 'Windows Server 2022 Datacenter', product_variant: 'Server Core', major: 10, minor: 0, build: '20348', edition: 'ServerDatacenter', arch: 'x86_64', hostname: 'WIN-C4V6B8N0M2Q', pretty: 'Windows Server 2022 Datacenter', extra: { CurrentVersion: '6.3', CurrentMajorVersionNumber: 10, CurrentMinorVersionNumber: 0, ReleaseId: '2009', DisplayVersion: '21H2' } },
  // the same build as Windows 11 24H2: InstallationType keeps it a server
  { id: 'win2k25', scheme: 'gpt', product_name: 'Windows Server 2025 Standard', product_variant: 'Server', major: 10, minor: 0, build: '26100', edition: 'ServerStandard', arch: 'x86_64', hostname: 'WIN-S8D0F2G4H6J', pretty: 'Windows Server 2025 Standard', extra: { CurrentVersion: '6.3', CurrentMajorVersionNumber: 10, CurrentMinorVersionNumber: 0, ReleaseId: '2009', DisplayVersion: '24H2' } },
];

const results = new Map<string, Inspection>();
before(async () => {
  for (const f of FAMILIES) results.set(f.id, await inspect(fixture('windows-families', `${f.id}.qcow2`)));
});

/** A value of hivexregedit's export, decoded: REG_SZ as text, REG_DWORD as a number. */
function exported(dump: HiveDump, key: string, name: string): string | number | undefined {
  const v = dump.get(key)?.get(name);
  if (v === undefined) return undefined;
  const [type, hex] = v.split(':') as [string, string];
  const b = Buffer.from(hex, 'hex');
  if (type === '1' || type === '2') return b.toString('utf16le').replace(/\0+$/, '');
  if (type === '4') return b.readUInt32LE(0);
  throw new Error(`${key}\\${name}: type ${type}`);
}

for (const f of FAMILIES) {
  test(`${f.id}: ${f.pretty} on ${f.scheme === 'mbr' ? 'MBR' : 'GPT'}: release facts, osinfo id, arch and host name`, () => {
    const r = results.get(f.id)!;
    assert.deepEqual(r.partition_table, [{ device: '/dev/sda', scheme: f.scheme }]);
    assert.equal(r.operating_systems.length, 1);
    const os = r.operating_systems[0]!;
    assert.equal(os.root, '/dev/sda1');
    assert.equal(os.type, 'windows');
    assert.equal(os.distro, 'windows');
    assert.equal(os.product_name, f.product_name);
    assert.equal(os.product_variant, f.product_variant);
    assert.equal(os.major_version, f.major);
    assert.equal(os.minor_version, f.minor);
    assert.equal(os.build_id, f.build);
    assert.equal(os.edition, f.edition);
    assert.equal(os.osinfo, f.id);
    assert.equal(os.arch, f.arch);
    assert.equal(os.hostname, f.hostname);
    assert.equal(os.windows_systemroot, '/Windows');
    assert.equal(os.windows_current_control_set, 'ControlSet001');
    assert.deepEqual(os.drive_mappings, { C: '/dev/sda1' });
    assert.equal(os.pretty_name, f.pretty);
    assert.deepEqual(os.warnings, []);
  });
}

test('the readable summary names each release as people know it: Windows 11 is never "Windows 10"', () => {
  for (const f of FAMILIES) {
    const os = results.get(f.id)!.operating_systems[0]!;
    const title = osTitle(os);
    assert.equal(title, `${f.pretty} — windows ${f.major}.${f.minor} build ${f.build}, ${f.arch}`);
  }
  const w11 = results.get('win11')!.operating_systems[0]!;
  assert.doesNotMatch(osTitle(w11), /Windows 10/);
  // only product_name keeps the registry's words (virt-inspector reports it so)
  const stale = Object.entries(w11).filter(([, v]) => typeof v === 'string' && v.includes('Windows 10')).map(([k]) => k);
  assert.deepEqual(stale, ['product_name']);
});

test('guestkit inspect prints Windows 11 as Windows 11, with its osinfo id', async () => {
  const r = await runCli(['inspect', fixture('windows-families', 'win11.qcow2')], undefined, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Windows 11 Pro — windows 10\.0 build 22000, x86_64 on \/dev\/sda1$/m);
  assert.match(r.stdout, /^ {2}osinfo: +win11$/m);
  assert.doesNotMatch(r.stdout, /Windows 10/);
});

test('every libosinfo id of the ten releases, each from one fixture', () => {
  const ids = FAMILIES.map((f) => results.get(f.id)!.operating_systems[0]!.osinfo);
  assert.deepEqual(ids, ['win7', 'win2k8r2', 'win8.1', 'win2k12r2', 'win10', 'win11', 'win2k16', 'win2k19', 'win2k22', 'win2k25']);
});

test('hivexregedit --export reads the values these facts come from in each fixture hive', () => {
  const CV = 'Microsoft\\Windows NT\\CurrentVersion';
  for (const f of FAMILIES) {
    const sw = hivexExport(fixture('windows-families', f.id, 'SOFTWARE'));
    const sys = hivexExport(fixture('windows-families', f.id, 'SYSTEM'));
    const at = `${f.id}: `;
    assert.equal(exported(sw, CV, 'ProductName'), f.product_name, at + 'ProductName');
    assert.equal(exported(sw, CV, 'InstallationType'), f.product_variant, at + 'InstallationType');
    assert.equal(exported(sw, CV, 'CurrentBuildNumber'), f.build, at + 'CurrentBuildNumber');
    assert.equal(exported(sw, CV, 'CurrentBuild'), f.build, at + 'CurrentBuild');
    assert.equal(exported(sw, CV, 'EditionID'), f.edition, at + 'EditionID');
    for (const [name, want] of Object.entries(f.extra)) assert.equal(exported(sw, CV, name), want ?? undefined, at + name);
    const os = results.get(f.id)!.operating_systems[0]!;
    // the numbers the inspection gave come from the values this release has
    const major = exported(sw, CV, 'CurrentMajorVersionNumber') ?? Number(String(exported(sw, CV, 'CurrentVersion')).split('.')[0]);
    assert.equal(major, os.major_version, at + 'major');
    assert.equal(exported(sys, 'Select', 'Current'), 1, at + 'Select\\Current');
    assert.equal(exported(sys, 'ControlSet001\\Control\\ComputerName\\ComputerName', 'ComputerName'), f.hostname, at + 'ComputerName');
    assert.equal(exported(sys, 'ControlSet001\\Services\\Tcpip\\Parameters', 'Hostname'), f.hostname, at + 'Tcpip Hostname');
    assert.equal(exported(sys, 'ControlSet001\\Control\\ProductOptions', 'ProductType'), f.product_variant === 'Client' ? 'WinNT' : 'ServerNT', at + 'ProductType');
  }
});
