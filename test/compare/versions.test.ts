import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { dpkgPartCompare, rpmPartCompare } from '../../src/compare/versions.js';

// Pairs that exercise each rule: tildes, carets, letters against digits, leading zeros, separators.
const PAIRS: [string, string][] = [
  ['1.0', '1.0'], ['1.0~rc1', '1.0'], ['1.0~rc1', '1.0~rc2'], ['1.0~~', '1.0~'], ['1.0', '1.0a'], ['1.0a', '1.0b'],
  ['1.0', '1.0.1'], ['1.01', '1.1'], ['1.10', '1.9'], ['2.38.1', '2.38'], ['0.0.17+nmu1', '0.0.18'], ['12.4+deb12u15', '12.4+deb12u9'],
  ['1.0+b1', '1.0'], ['1.0-1', '1.0.1'], ['a', 'b'], ['1.0.a', '1.0.1'], ['1.0^', '1.0'], ['1.0^git1', '1.0.1'], ['1_0', '1.0'],
  ['5+deb12u3', '5+deb12u10'], ['2.6.1', '2.6.1+'], ['1.0', '1.0.'], ['7.2+dfsg', '7.2'], ['010', '10'], ['1.2.3', '1.2.3~beta'],
];

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

test('dpkg version order agrees with dpkg --compare-versions', () => {
  for (const [a, b] of PAIRS) {
    if (a.includes('^') || b.includes('^') || a.includes('_') || b.includes('_')) continue; // not valid Debian versions
    const lt = spawnSync('dpkg', ['--compare-versions', a, 'lt', b]).status === 0;
    const eq = spawnSync('dpkg', ['--compare-versions', a, 'eq', b]).status === 0;
    const want = lt ? -1 : eq ? 0 : 1;
    assert.equal(sign(dpkgPartCompare(a, b)), want, `${a} vs ${b}`);
    assert.equal(sign(dpkgPartCompare(b, a)), want === 0 ? 0 : -want, `${b} vs ${a}`);
  }
});

test('rpm version order agrees with rpm.vercmp', () => {
  // rpm.vercmp parses [epoch:]version[-release]: a '-' would split the string, so those pairs are dpkg's only
  const pairs = PAIRS.filter(([a, b]) => !a.includes('-') && !b.includes('-'));
  const lua = pairs.map(([a, b]) => `print(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}) .. ' ')`).join(' ');
  const r = spawnSync('rpm', ['--eval', `%{lua: ${lua}}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const want = r.stdout.trim().split(/\s+/).map(Number);
  assert.equal(want.length, pairs.length);
  pairs.forEach(([a, b], i) => assert.equal(sign(rpmPartCompare(a, b)), want[i], `${a} vs ${b}`));
});
