import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateDocument, validateJob } from '../../src/protocol/index.js';
import { localExamplesDir, readExamples, siblingExamplesDir } from './helpers.js';

const EXPECTED = [
  'fix-offline.json',
  'inspect-full.json',
  'inspect-minimal.json',
  'profile-security.json',
  'worker-echo-test.json',
  'worker-guestkit-inspect-basic.json',
  'worker-guestkit-inspect-full.json',
  'worker-guestkit-profile-security.json',
];

function checkAll(dir: string): void {
  const examples = readExamples(dir);
  assert.deepEqual(examples.map((e) => e.name), EXPECTED);
  for (const { name, doc } of examples) {
    const env = validateJob(doc);
    assert.deepEqual(env.errors, [], `${name} envelope`);
    assert.equal(env.ok, true, name);
    const full = validateDocument(doc);
    assert.deepEqual(full.errors, [], `${name} payload`);
    assert.equal(full.ok, true, name);
    assert.equal(full.payload?.ok, true, `${name} payload parsed`);
  }
}

test('all 8 example jobs in the repository copy validate with zero errors', () => {
  checkAll(localExamplesDir());
});

test('the shared spec examples (sibling folder) validate and match the repository copy', () => {
  const sibling = siblingExamplesDir();
  // The sibling folder exists on the development machines; the repository copy is the fallback.
  if (sibling === null) {
    assert.equal(readExamples(localExamplesDir()).length, 8);
    return;
  }
  checkAll(sibling);
  for (const name of EXPECTED) {
    assert.equal(readFileSync(join(sibling, name), 'utf8'), readFileSync(join(localExamplesDir(), name), 'utf8'), name);
  }
});

test('placeholder checksums in the examples are warnings, not errors', () => {
  const byName = new Map(readExamples(localExamplesDir()).map((e) => [e.name, e.doc]));
  for (const name of ['profile-security.json', 'fix-offline.json']) {
    const res = validateDocument(byName.get(name));
    assert.equal(res.ok, true);
    assert.deepEqual(res.warnings.map((w) => w.path), ['payload.data.image.checksum'], name);
  }
  const full = validateDocument(byName.get('inspect-full.json'));
  assert.deepEqual(full.warnings, []);
});

test('examples get the documented defaults', () => {
  const byName = new Map(readExamples(localExamplesDir()).map((e) => [e.name, e.doc]));
  const minimal = validateDocument(byName.get('inspect-minimal.json'));
  assert.deepEqual(minimal.job?.execution, { attempt: 1, max_attempts: 1, timeout_seconds: 3600, priority: 5, cancellable: true });
  assert.deepEqual((minimal.payload?.data as any).options, {
    deep_scan: false,
    include_packages: true,
    include_services: true,
    include_users: true,
    include_network: true,
    include_security: true,
    include_storage: true,
    include_databases: false,
  });
  const basic = validateDocument(byName.get('worker-guestkit-inspect-basic.json'));
  // given options are kept; the missing ones take their own defaults
  assert.equal((basic.payload?.data as any).options.include_users, true);
  assert.equal((basic.payload?.data as any).options.include_databases, false);
  assert.equal((basic.payload?.data as any).options.deep_scan, false);
  const profile = validateDocument(byName.get('profile-security.json'));
  assert.equal(profile.job?.execution.cancellable, true);
  assert.equal(profile.job?.execution.attempt, 1);
  assert.equal((profile.payload?.data as any).image.read_only, true);
});
