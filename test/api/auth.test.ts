import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { allows, noAuth, ROLES, seesNamespace, tokenAuthenticator, type Principal, type Role } from '../../src/api/auth.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { openControlStores } from '../../src/store/sqlite/control-db.js';

const reason = (r: string) => (e: unknown) => isGuestkitError(e, 'UNAUTHENTICATED') && (e.details as { reason?: string }).reason === r && e.toProtocol().details?.reason === r;

test('tokenAuthenticator: Bearer <token> gives the token\'s principal; every refusal is UNAUTHENTICATED with its reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gk-auth-'));
  const c = openControlStores(dir);
  try {
    const auth = tokenAuthenticator(c.tokens);
    const { token, record } = await c.tokens.create({ namespace: 'team-a', role: 'submitter' });
    const me: Principal = { actor: `token:${record.id}`, role: 'submitter', namespace: 'team-a' };
    assert.deepEqual(await auth.authenticate(`Bearer ${token}`), me);
    assert.deepEqual(await auth.authenticate(`bearer  ${token} `), me, 'the scheme is case-insensitive');
    await assert.rejects(auth.authenticate(undefined), reason('missing'));
    await assert.rejects(auth.authenticate(''), reason('missing'));
    await assert.rejects(auth.authenticate('   '), reason('missing'));
    await assert.rejects(auth.authenticate(token), reason('malformed'), 'no scheme');
    await assert.rejects(auth.authenticate(`Basic ${token}`), reason('malformed'));
    await assert.rejects(auth.authenticate(`Bearer ${token} extra`), reason('malformed'));
    await assert.rejects(auth.authenticate('Bearer gk_nope'), reason('malformed'));
    await assert.rejects(auth.authenticate(`Bearer ${token.replace(/^gk_[a-z0-9]{12}/, 'gk_000000000000')}`), reason('unknown'));
    const e = await auth.authenticate(`Bearer ${token}x`).catch((err: unknown) => err);
    assert.ok(isGuestkitError(e, 'UNAUTHENTICATED'));
    assert.equal(e.toProtocol().recoverable, false, 'retrying the same token cannot help');
    const short = await c.tokens.create({ namespace: 'team-a', role: 'viewer', expiresAt: Date.now() + 3_600_000 });
    assert.equal((await auth.authenticate(`Bearer ${short.token}`)).role, 'viewer');
    await c.tokens.revoke(record.id);
    await assert.rejects(auth.authenticate(`Bearer ${token}`), reason('revoked'));
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tokenAuthenticator: an expired token is refused as expired', async () => {
  let now = Date.UTC(2026, 0, 30);
  const dir = mkdtempSync(join(tmpdir(), 'gk-auth-'));
  const c = openControlStores(dir, { now: () => now });
  try {
    const { token } = await c.tokens.create({ namespace: 'team-a', role: 'admin', expiresAt: now + 1_000 });
    await tokenAuthenticator(c.tokens).authenticate(`Bearer ${token}`);
    now += 1_000;
    await assert.rejects(tokenAuthenticator(c.tokens).authenticate(`Bearer ${token}`), reason('expired'));
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('noAuth: every caller, with or without a header, is the admin "anonymous" in namespace default', async () => {
  for (const h of [undefined, '', 'Bearer junk']) {
    assert.deepEqual(await noAuth.authenticate(h), { actor: 'anonymous', role: 'admin', namespace: 'default' });
  }
});

test('allows: viewer < submitter < admin', () => {
  const p = (role: Role): Principal => ({ actor: 'a', role, namespace: 'n' });
  const table = ROLES.map((have) => ROLES.map((need) => allows(p(have), need)));
  assert.deepEqual(table, [
    [true, false, false],
    [true, true, false],
    [true, true, true],
  ]);
});

test('seesNamespace: admins see every namespace, viewers and submitters their own only', () => {
  assert.equal(seesNamespace({ actor: 'a', role: 'admin', namespace: 'ops' }, 'team-a'), true);
  assert.equal(seesNamespace({ actor: 'a', role: 'admin', namespace: 'ops' }, 'default'), true);
  for (const role of ['viewer', 'submitter'] as const) {
    const p: Principal = { actor: 'a', role, namespace: 'team-a' };
    assert.equal(seesNamespace(p, 'team-a'), true);
    assert.equal(seesNamespace(p, 'team-b'), false);
    assert.equal(seesNamespace(p, 'default'), false);
    assert.equal(seesNamespace(p, 'Team-A'), false, 'namespaces are compared exactly');
  }
});
