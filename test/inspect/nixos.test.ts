import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { inspect, requireOs, type OperatingSystem } from '../../src/inspect/index.js';
import { splitStoreName } from '../../src/inspect/linux/nixos.js';
import { GuestSession } from '../../src/inspect/session.js';
import { fixture } from '../helpers/fixtures.js';

// A NixOS-like root built by test/fixtures/nixos/build.sh: its store and db.sqlite written by
// Debian's nix-store (--add, --load-db) and nix-env (two system generations).
const img = fixture('nixos', 'nixos.img');
const lines = (name: string) => readFileSync(fixture('nixos', name), 'utf8').trim().split('\n');

let os: OperatingSystem;
before(async () => {
  const r = requireOs(await inspect(img));
  assert.equal(r.operating_systems.length, 1);
  os = r.operating_systems[0]!;
});

test('Nix name splitting: the version starts at the first dash followed by a non-letter (builtins.parseDrvName)', () => {
  assert.deepEqual(splitStoreName('nix-0.12pre12876'), { name: 'nix', version: '0.12pre12876' });
  assert.deepEqual(splitStoreName('bash-5.2-p15'), { name: 'bash', version: '5.2-p15' });
  assert.deepEqual(splitStoreName('perl5.38.2-URI-5.21'), { name: 'perl5.38.2-URI', version: '5.21' });
  assert.deepEqual(splitStoreName('etc-os-release'), { name: 'etc-os-release', version: '' });
});

test('NixOS: OS facts from os-release in the store, reached through /etc/os-release → /etc/static', () => {
  assert.equal(os.distro, 'nixos');
  assert.equal(os.product_name, 'NixOS 23.11 (Tapir)');
  assert.equal(os.major_version, 23);
  assert.equal(os.minor_version, 11);
  assert.equal(os.osinfo, 'nixos-23.11');
  assert.equal(os.package_format, 'nix');
  assert.equal(os.hostname, 'nixos-gen2');
  assert.deepEqual(os.warnings, []);
});

test('NixOS: packages are the versioned store paths of the Nix database, as nix-store --dump-db lists them', () => {
  const valid = lines('valid-paths.txt');
  assert.equal(valid.length, 18);
  // The store path names, split independently of the reader: name, then "-" and a non-letter.
  const expected = new Set<string>();
  for (const p of valid) {
    const m = /^\/nix\/store\/[a-z0-9]{32}-(.+?)-([^A-Za-z].*)$/.exec(p);
    if (m) expected.add(`${m[1]} ${m[2]}`);
  }
  const got = os.applications!.map((a) => `${a.name} ${a.version}`);
  assert.deepEqual(new Set(got), expected);
  assert.equal(got.length, expected.size);
  for (const want of ['glibc 2.38-27', 'bash 5.2-p15', 'openssh 9.6p1', 'perl5.38.2-URI 5.21', 'linux 6.1.69', 'linux 6.1.71', 'nixos-system-nixos 23.11.20240101.a0b1c2d']) {
    assert.ok(got.includes(want), want);
  }
  // The current system's closure (nix-store --query --requisites) is all there.
  for (const p of lines('requisites-system-2.txt')) {
    const m = /^\/nix\/store\/[a-z0-9]{32}-(.+?)-([^A-Za-z].*)$/.exec(p);
    if (m) assert.ok(got.includes(`${m[1]} ${m[2]}`), p);
  }
});

test('NixOS: the system generations from the profile links, the current one as nix-env left it', () => {
  const links = new Map(lines('generations.txt').map((l) => l.split(' ') as [string, string]));
  const gens = os.nixos_generations!;
  assert.deepEqual(
    gens.map((g) => [g.number, g.path, g.current]),
    [
      [1, links.get('system-1-link'), links.get('system') === 'system-1-link'],
      [2, links.get('system-2-link'), links.get('system') === 'system-2-link'],
    ],
  );
  assert.equal(gens.find((g) => g.current)?.number, 2);
  assert.deepEqual(
    gens.map((g) => g.version),
    ['23.11.20231201.5de0b32', '23.11.20240101.a0b1c2d'],
  );
  // Each generation's closure, as nix-store --query --requisites gives it, holds its system path.
  for (const g of gens) assert.ok(lines(`requisites-system-${g.number}.txt`).includes(g.path));
});

test('NixOS: /etc files resolve through /etc/static into the current generation’s store paths', async () => {
  const s = await GuestSession.open([img]);
  try {
    const vfs = await s.osView();
    const closure = lines('requisites-system-2.txt');
    const real = await vfs.realpath('/etc/os-release');
    assert.ok(closure.includes(real), real);
    assert.match((await vfs.readText('/etc/os-release')) ?? '', /^ID=nixos$/m);
    assert.equal((await vfs.readText('/etc/hostname'))?.trim(), 'nixos-gen2');
    assert.match((await vfs.readText('/etc/ssh/sshd_config')) ?? '', /Port 22/);
  } finally {
    await s.close();
  }
});
