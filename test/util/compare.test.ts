import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { compareNatural, compareText } from '../../src/util/compare.js';

// Names as package databases hold them: case, digits, punctuation.
const names = ['libc6', 'libc-bin', 'NetworkManager', 'g++-12', 'gcc', 'gcc-12', 'zlib1g', 'Zsh', 'a_b', 'a.b', 'a-b', 'ä', 'z', '~x', ''];

test('compareText is `LC_ALL=C sort` order, whatever the locale', () => {
  const sorted = execFileSync('sort', { input: names.filter(Boolean).join('\n') + '\n', env: { ...process.env, LC_ALL: 'C' } }).toString().trimEnd().split('\n');
  assert.deepEqual(names.filter(Boolean).sort(compareText), sorted);
  assert.equal(compareText('a', 'a'), 0);
  assert.equal(compareText('', 'a'), -1);
});

test('compareNatural orders digit runs by value, the rest by code unit', () => {
  const kernels = ['6.1.0-10-amd64', '6.1.0-9-amd64', '5.10.0-28-amd64', '6.1.0-18-amd64', '5.4.0-100-generic', '5.4.0-99-generic'];
  assert.deepEqual([...kernels].sort(compareNatural), ['5.4.0-99-generic', '5.4.0-100-generic', '5.10.0-28-amd64', '6.1.0-9-amd64', '6.1.0-10-amd64', '6.1.0-18-amd64']);
  assert.equal(compareNatural('el9_3', 'el9_3'), 0);
  assert.equal(compareNatural('a2', 'a10'), -1);
  assert.equal(compareNatural('a10', 'a2'), 1);
  assert.equal(compareNatural('a', 'a0'), -1);
  assert.equal(compareNatural('x1y', 'x1'), 1);
  // equal but for leading zeros: still a fixed, antisymmetric order
  assert.equal(compareNatural('1.01', '1.1'), -compareNatural('1.1', '1.01'));
  assert.notEqual(compareNatural('1.01', '1.1'), 0);
  assert.equal(compareNatural('007', '7x') , -1);
});

test('compareNatural is a total order (antisymmetric, transitive) on random strings', () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const alphabet = '0019.-_aZ';
  const xs = Array.from({ length: 300 }, () => Array.from({ length: rnd(6) }, () => alphabet[rnd(alphabet.length)]).join(''));
  const sorted = [...xs].sort(compareNatural);
  for (let i = 1; i < sorted.length; i++) assert.ok(compareNatural(sorted[i - 1]!, sorted[i]!) <= 0, `${sorted[i - 1]} <= ${sorted[i]}`);
  const few = xs.slice(0, 40);
  for (const a of few) {
    for (const b of few) {
      assert.equal(Math.sign(compareNatural(a, b)) + Math.sign(compareNatural(b, a)), 0, `${a} ? ${b}`);
      for (const c of few) if (compareNatural(a, b) <= 0 && compareNatural(b, c) <= 0) assert.ok(compareNatural(a, c) <= 0, `${a} <= ${b} <= ${c}`);
    }
  }
});
