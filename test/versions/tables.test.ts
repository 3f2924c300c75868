import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertVersion, compareVersions, ecosystemOfPackageFormat, versionProblem, type Ecosystem } from '../../src/versions/index.js';
import { GuestkitError } from '../../src/protocol/errors.js';

// [a, b, sign of compare(a, b)]: the rules each ecosystem is known to get wrong elsewhere
const TABLES: Record<Ecosystem, [string, string, number][]> = {
  dpkg: [
    ['1.0', '1.0', 0],
    ['1:1.0', '2.0', 1], // an epoch beats any upstream
    ['0:1.0', '1.0', 0], // epoch 0 is no epoch
    ['1.0~rc1', '1.0', -1], // ~ sorts before the end
    ['1.0~~', '1.0~', -1],
    ['1.0~rc1-1', '1.0-1', -1],
    ['3.0.11-1~deb12u2', '3.0.11-1', -1],
    ['3.0.11-1~deb12u2', '3.0.11-1~deb12u1', 1],
    ['1.0a', '1.0', 1],
    ['1.0+b1', '1.0', 1],
    ['1.0-1', '1.0', 1], // a revision beats none
    ['1.0-0', '1.0', 0], // revision "0" is the default
    ['1.10', '1.9', 1], // numbers, not characters (osquery's mistake)
    ['1.01', '1.1', 0], // leading zeros ignored
    ['12.4+deb12u15', '12.4+deb12u9', 1],
    ['2:1.0-1', '10:0.1-1', -1],
    ['1.0-1-2', '1.0-1-10', -1], // the revision follows the last '-'
    ['1.0.', '1.0', 1], // a non-letter after the end
    ['7.2+dfsg-1', '7.2-1', 1],
  ],
  rpm: [
    ['1.0-1', '1.0-1', 0],
    ['1:1.0-1', '2.0-1', 1], // epochs count (Fleet's scanner ignored them)
    ['0:1.0-1', '1.0-1', 0],
    ['1.0~rc1-1', '1.0-1', -1],
    ['1.0^git1-1', '1.0-1', 1], // ^ is after the release …
    ['1.0^git1-1', '1.0.1-1', -1], // … but before the next version
    ['1.0-1.el9', '1.0-1.el9_3', -1],
    ['1.10-1', '1.9-1', 1],
    ['1.0a-1', '1.0-1', 1],
    ['1.0-1', '1.0.a-1', -1], // numeric segments beat alpha ones
    ['1.0_1-1', '1.0.1-1', 0], // separators only separate
    ['5.14.0-362.8.1.el9_3', '5.14.0-362.el9', 1],
    ['2.02-150.el8', '1:2.02-150.el8', -1],
    ['1.0', '1.0-1', -1], // a missing release sorts first
  ],
  apk: [
    ['1.2.3-r0', '1.2.3-r0', 0],
    ['1.2.3_rc1-r0', '1.2.3-r0', -1],
    ['1.2.3_alpha-r0', '1.2.3_beta-r0', -1],
    ['1.2.3_pre2', '1.2.3_rc1', -1],
    ['1.2.3_p1-r0', '1.2.3-r0', 1],
    ['1.2.3_git20230717-r0', '1.2.3-r0', 1],
    ['1.2.3_cvs', '1.2.3_p', -1],
    ['1.2.3-r1', '1.2.3-r0', 1],
    ['1.2.3-r10', '1.2.3-r9', 1],
    ['1.2.3', '1.2.3-r0', -1], // a revision beats none
    ['1.2a', '1.2', 1],
    ['1.2a', '1.2b', -1],
    ['1.2', '1.2.1', -1],
    ['1.01', '1.1', -1], // a leading zero compares as a string
    ['1.10', '1.9', 1],
    ['2.0', '1.99_p1', 1],
  ],
  pacman: [
    ['1.0-1', '1.0-1', 0],
    ['1:1.0-1', '2.0-1', 1],
    ['1.0-2', '1.0-10', -1],
    ['1.0', '1.0-1', 0], // a missing pkgrel matches any
    ['1.0a', '1.0', -1], // a trailing letter segment is a pre-release
    ['1.0alpha', '1.0', -1],
    ['1.0', '1.0.1', -1],
    ['1.0..1', '1.0.1', 1], // longer separator runs win
    ['6.6.1.arch1-1', '6.6.1-1', 1],
    ['2023.09.18-1', '2023.9.18-1', 0],
    ['1.0-1.1', '1.0-1', 1],
  ],
};

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

for (const [eco, rows] of Object.entries(TABLES) as [Ecosystem, [string, string, number][]][]) {
  test(`${eco}: table of tricky pairs, both ways round`, () => {
    for (const [a, b, want] of rows) {
      assert.equal(compareVersions(eco, a, b), want, `${a} vs ${b}`);
      assert.equal(compareVersions(eco, b, a), sign(-want), `${b} vs ${a}`);
    }
  });
}

test('package formats of the inspection map to ecosystems', () => {
  assert.equal(ecosystemOfPackageFormat('deb'), 'dpkg');
  assert.equal(ecosystemOfPackageFormat('rpm'), 'rpm');
  assert.equal(ecosystemOfPackageFormat('apk'), 'apk');
  assert.equal(ecosystemOfPackageFormat('pacman'), 'pacman');
  assert.equal(ecosystemOfPackageFormat('ebuild'), undefined);
  assert.equal(ecosystemOfPackageFormat('xbps'), undefined);
});

test('versions the package manager would refuse are named, with a typed error', () => {
  const bad: [Ecosystem, string][] = [
    ['dpkg', ''], ['dpkg', 'a:1.0'], ['dpkg', '1.0 1'], ['dpkg', '1.0-'], ['dpkg', '1.0_1'], ['dpkg', ':1.0'],
    ['rpm', ''], ['rpm', 'x:1.0'], ['rpm', '1.0-'], ['rpm', '1 0'],
    ['apk', ''], ['apk', 'abc'], ['apk', '1.2_foo'], ['apk', '1.2-1'], ['apk', '1.2-r'],
    ['pacman', ''], ['pacman', '1.0-x'], ['pacman', 'a:1.0'], ['pacman', '1.0~rc1-1'],
  ];
  for (const [eco, v] of bad) {
    assert.ok(versionProblem(eco, v), `${eco} ${JSON.stringify(v)} should be refused`);
    assert.throws(() => assertVersion(eco, v, 'version_lt'), (e: unknown) => e instanceof GuestkitError && e.code === 'VALIDATION_ERROR');
  }
  const good: [Ecosystem, string][] = [
    ['dpkg', '1:3.0.11-1~deb12u2'], ['dpkg', '3.134'], ['rpm', '1:1.12.20-8.el9'], ['rpm', '1.0^git1'],
    ['apk', '1.2.4_git20230717-r4'], ['apk', '3.0.7'], ['pacman', '1:2.12-3'], ['pacman', '6.6.1.arch1-1'],
  ];
  for (const [eco, v] of good) assert.equal(versionProblem(eco, v), undefined, `${eco} ${v}`);
});
