import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { compareVersions, type Ecosystem } from '../../src/versions/index.js';
import { fixtureVersions, versionPairs } from '../helpers/version-corpus.js';

// Thousands of version pairs from the fixture guests' package databases (and near neighbours of
// them), ordered by the package managers' own code, each tool driven by one process.
let versions: Record<Ecosystem, string[]>;
const dir = mkdtempSync(join(tmpdir(), 'guestkit-versions-'));
before(async () => {
  versions = await fixtureVersions();
});
after(() => rmSync(dir, { recursive: true, force: true }));

const all = () => [...versions.dpkg, ...versions.rpm, ...versions.apk, ...versions.pacman];
const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
  return r.stdout;
}

function assertSame(eco: Ecosystem, pairs: [string, string][], want: number[]): void {
  assert.equal(want.length, pairs.length);
  const wrong = pairs.filter(([a, b], i) => compareVersions(eco, a, b) !== sign(want[i]!));
  assert.deepEqual(wrong.slice(0, 10).map(([a, b]) => `${a} vs ${b}`), [], `${wrong.length} of ${pairs.length} ${eco} pairs disagree`);
}

test('fixture guests give versions of every ecosystem', () => {
  assert.ok(versions.dpkg.length > 200, `dpkg: ${versions.dpkg.length}`);
  assert.ok(versions.rpm.length > 20, `rpm: ${versions.rpm.length}`);
  assert.ok(versions.apk.length >= 10, `apk: ${versions.apk.length}`);
  assert.ok(versions.pacman.length >= 4, `pacman: ${versions.pacman.length}`);
});

test('dpkg: 4000 pairs agree with dpkg (Dpkg::Version) and 300 with dpkg --compare-versions', () => {
  const pairs = versionPairs(versions.dpkg, 'dpkg', 4000, 11);
  const perl = 'use Dpkg::Version; while (<STDIN>) { chomp; my ($a, $b) = split /\\t/; print version_compare($a, $b), "\\n" }';
  const out = run('perl', ['-e', perl], pairs.map((p) => p.join('\t')).join('\n') + '\n');
  assertSame('dpkg', pairs, out.trim().split('\n').map(Number));

  // the C tool itself, one process per comparison: a smaller sample, in one shell loop
  const sample = versionPairs(versions.dpkg, 'dpkg', 300, 12);
  const loop = 'while IFS="\t" read -r a b; do if dpkg --compare-versions "$a" lt "$b"; then echo -1; elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done';
  const cout = run('sh', ['-c', loop], sample.map((p) => p.join('\t')).join('\n') + '\n');
  assertSame('dpkg', sample, cout.trim().split('\n').map(Number));
});

test('rpm: 4000 pairs agree with rpm.vercmp over [epoch:]version[-release]', () => {
  const pairs = versionPairs([...versions.rpm, ...versions.dpkg], 'rpm', 4000, 21);
  const file = join(dir, 'rpm-pairs.txt');
  writeFileSync(file, pairs.map((p) => p.join('\t')).join('\n') + '\n');
  const lua = `for l in io.lines(${JSON.stringify(file)}) do local a, b = l:match("^(.-)\\t(.*)$"); print(rpm.vercmp(a, b) .. " ") end`;
  const out = run('rpm', ['--eval', `%{lua: ${lua}}`]);
  assertSame('rpm', pairs, out.trim().split(/\s+/).map(Number));
});

test("pacman: 3000 pairs agree with libalpm's alpm_pkg_vercmp", () => {
  const pairs = versionPairs(all(), 'pacman', 3000, 31);
  const py = [
    'import ctypes, sys',
    "f = ctypes.CDLL('libalpm.so.13').alpm_pkg_vercmp",
    'f.argtypes = [ctypes.c_char_p, ctypes.c_char_p]',
    "for l in sys.stdin.buffer.read().split(b'\\n'):",
    "    if l: a, b = l.split(b'\\t'); print(f(a, b))",
  ].join('\n');
  const out = run('python3', ['-c', py], pairs.map((p) => p.join('\t')).join('\n') + '\n');
  assertSame('pacman', pairs, out.trim().split('\n').map(Number));
});
