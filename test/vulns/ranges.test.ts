import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredRange } from '../../src/vulns/db.js';
import { matchAffected, matchRange } from '../../src/vulns/ranges.js';

const eco = (...events: StoredRange['events']): StoredRange => ({ type: 'ECOSYSTEM', events });

test('introduced/fixed: below the fix is affected, at and above it is not', () => {
  const r = eco({ introduced: '0' }, { fixed: '1:9.2p1-2+deb12u3' });
  assert.deepEqual(matchRange('dpkg', '1:9.2p1-2+deb12u2', r), { range: '>= 0, < 1:9.2p1-2+deb12u3', fixed: '1:9.2p1-2+deb12u3' });
  assert.equal(matchRange('dpkg', '1:9.2p1-2+deb12u3', r), undefined);
  assert.equal(matchRange('dpkg', '1:9.2p1-2+deb12u10', r), undefined, 'u10 > u3 numerically, not as text');
});

test('epochs order before everything else', () => {
  const r = eco({ introduced: '0' }, { fixed: '9.3p1-1' });
  // without the epoch 9.2p1 < 9.3p1 would look affected; epoch 1 is newer than any epoch-0 version
  assert.equal(matchRange('dpkg', '1:9.2p1-2', r), undefined);
  assert.ok(matchRange('dpkg', '9.2p1-2', r));
  const rpm = eco({ introduced: '0' }, { fixed: '1:2.02-150.el8' });
  assert.ok(matchRange('rpm', '2.06-1.el8', rpm), 'rpm: epoch 0 2.06 < epoch 1 2.02');
  assert.equal(matchRange('rpm', '1:2.02-150.el8', rpm), undefined);
});

test('~ sorts before the release it precedes', () => {
  const r = eco({ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' });
  assert.ok(matchRange('dpkg', '3.0.11-1~deb12u1', r));
  assert.equal(matchRange('dpkg', '3.0.11-1~deb12u2', r), undefined);
  assert.equal(matchRange('dpkg', '3.0.11-1', r), undefined, '3.0.11-1 is newer than 3.0.11-1~deb12u2');
  assert.ok(matchRange('dpkg', '3.0.11~rc1-1', eco({ introduced: '0' }, { fixed: '3.0.11-1' })), 'an upstream ~rc precedes the release');
});

test('last_affected includes its version; limit excludes the rest of the range', () => {
  const la = eco({ introduced: '2.0-1' }, { last_affected: '2.3-1' });
  assert.equal(matchRange('dpkg', '1.9-1', la), undefined, 'before introduced');
  assert.deepEqual(matchRange('dpkg', '2.3-1', la), { range: '>= 2.0-1, <= 2.3-1' });
  assert.equal(matchRange('dpkg', '2.3-2', la), undefined);
  const lim = eco({ introduced: '0' }, { limit: '5.0-1' });
  assert.ok(matchRange('dpkg', '4.9-1', lim));
  assert.equal(matchRange('dpkg', '5.0-1', lim), undefined);
});

test('several introduced/fixed pairs, given out of order, are sorted by the ecosystem order', () => {
  const r = eco({ introduced: '2.0-r0' }, { fixed: '2.1-r0' }, { introduced: '0' }, { fixed: '1.5-r0' });
  assert.ok(matchRange('apk', '1.4-r9', r));
  assert.equal(matchRange('apk', '1.5-r0', r), undefined, 'fixed in the first series');
  assert.deepEqual(matchRange('apk', '2.0_p1-r0', r), { range: '>= 2.0-r0, < 2.1-r0', fixed: '2.1-r0' });
  assert.equal(matchRange('apk', '2.1-r0', r), undefined);
});

test('apk suffixes: _p after the release, _rc before it, -rN last', () => {
  const r = eco({ introduced: '0' }, { fixed: '9.6_p1-r1' });
  assert.ok(matchRange('apk', '9.6_p1-r0', r));
  assert.ok(matchRange('apk', '9.6-r5', r), '9.6 < 9.6_p1');
  assert.equal(matchRange('apk', '9.6_p2-r0', r), undefined);
  assert.ok(matchRange('apk', '9.7_rc1-r0', eco({ introduced: '0' }, { fixed: '9.7-r0' })));
});

test('versions[] lists affected versions outright; SEMVER ranges use SemVer order', () => {
  assert.deepEqual(matchAffected('dpkg', '3.2.1-3', [], ['3.2.1-2', '3.2.1-3']), { range: 'listed in versions' });
  assert.equal(matchAffected('dpkg', '3.2.1-4', [], ['3.2.1-2', '3.2.1-3']), undefined);
  const semver: StoredRange = { type: 'SEMVER', events: [{ introduced: '1.2.0' }, { fixed: '1.10.0' }] };
  assert.ok(matchRange('dpkg', '1.9.0', semver), '1.9.0 < 1.10.0 in SemVer');
  assert.equal(matchRange('dpkg', '1:1.9.0-1', semver), undefined, 'not a SemVer version: outside the range');
});
