import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { generateToken, parseToken } from '../../src/ports/token-store.js';
import { assertUsage, runCli } from '../helpers/cli.js';
import { startPostgres } from '../helpers/postgres.js';
import { call, removeDataDir, startServe, tempDataDir, type Served } from '../helpers/serve.js';

/*
 * `guestkit serve` given its admin token (GUESTKIT_ADMIN_TOKEN, --admin-token-file), as a
 * Kubernetes Secret gives it to every API pod, and `guestkit token … --store postgres://…`
 * run from elsewhere against the cluster's database.
 */

const pgi = await startPostgres();
after(() => pgi.stop());

/** Nothing a serve process printed holds the token's secret; its id may appear. */
function assertSecretNotLogged(s: Served, token: string): void {
  const all = JSON.stringify(s.daemon.logs) + s.daemon.stderr.join('');
  assert.ok(!all.includes(parseToken(token)!.secret), 'the token text is never logged');
  assert.ok(all.includes(parseToken(token)!.id), 'its id is');
}

test('serve with GUESTKIT_ADMIN_TOKEN: that token is an admin on /api/v1 at once, no other token is made, no admin-token file is written', { timeout: 120_000 }, async () => {
  const token = generateToken();
  const dataDir = tempDataDir('gk-admin-token-');
  let s = await startServe({ dataDir, env: { GUESTKIT_ADMIN_TOKEN: token } });
  try {
    assert.equal(s.adminToken, '', 'no admin-token file');
    assert.ok(!existsSync(join(dataDir, 'admin-token')));
    const audit = await call(s.url, 'GET', '/audit?limit=5', { token });
    assert.equal(audit.status, 200, JSON.stringify(audit.body));
    assert.equal((await call(s.url, 'GET', '/jobs', { token: generateToken() })).status, 401);
    assertSecretNotLogged(s, token);
    await s.stop();
    // a restart with the same token (now from a file, with the newline an editor leaves): still one token
    const file = join(dataDir, '..', 'token.txt');
    writeFileSync(file, token + '\n');
    s = await startServe({ dataDir, args: ['--admin-token-file', file] });
    assert.equal((await call(s.url, 'GET', '/audit?limit=1', { token })).status, 200);
    await s.stop();
    const listed = JSON.parse((await runCli(['token', 'list', '--json', '--data-dir', dataDir])).stdout) as { items: { id: string; role: string; namespace: string }[] };
    assert.deepEqual(listed.items.map((t) => [t.id, t.role, t.namespace]), [[parseToken(token)!.id, 'admin', 'default']]);
    assert.ok(!existsSync(join(dataDir, 'admin-token')));
  } finally {
    await s.stop();
    removeDataDir(dataDir);
  }
});

test('serve refuses a malformed admin token at start: exit 2, one line naming where it came from, never the text', { timeout: 60_000 }, async () => {
  const dataDir = tempDataDir('gk-admin-token-bad-');
  mkdirSync(dataDir);
  try {
    const bad = 'gk_notatoken_' + 'S'.repeat(20);
    const fromEnv = await runCli(['serve', '--data-dir', dataDir, '--port', '0'], undefined, { env: { GUESTKIT_ADMIN_TOKEN: bad } });
    assertUsage(fromEnv, /GUESTKIT_ADMIN_TOKEN: the admin token is not of the form gk_.*guestkit token generate/);
    assert.ok(!fromEnv.stderr.includes(bad));
    const file = join(dataDir, '..', 'bad-token');
    writeFileSync(file, 'hunter2\n');
    const fromFile = await runCli(['serve', '--data-dir', dataDir, '--port', '0', '--admin-token-file', file]);
    assertUsage(fromFile, /--admin-token-file .*bad-token: the admin token is not of the form/);
    assert.ok(!fromFile.stderr.includes('hunter2'));
    assertUsage(await runCli(['serve', '--data-dir', dataDir, '--port', '0', '--admin-token-file', join(dataDir, 'missing')]), /--admin-token-file .*missing: cannot read it \(ENOENT\)/);
    assertUsage(
      await runCli(['serve', '--data-dir', dataDir, '--port', '0'], undefined, { env: { GUESTKIT_ADMIN_TOKEN: generateToken(), GUESTKIT_ADMIN_TOKEN_FILE: file } }),
      /GUESTKIT_ADMIN_TOKEN and GUESTKIT_ADMIN_TOKEN_FILE are both set/,
    );
    // a well-formed token whose id another token holds already cannot be adopted
    const made = JSON.parse((await runCli(['token', 'create', '--namespace', 'a', '--role', 'viewer', '--json', '--data-dir', dataDir])).stdout) as { token: string; id: string };
    const clash = `gk_${made.id}_${parseToken(generateToken())!.secret}`;
    const taken = await runCli(['serve', '--data-dir', dataDir, '--port', '0'], undefined, { env: { GUESTKIT_ADMIN_TOKEN: clash } });
    assertUsage(taken, new RegExp(`token id ${made.id} is already held by another token`));
    assert.ok(!taken.stderr.includes(parseToken(clash)!.secret));
    assert.ok(!existsSync(join(dataDir, 'admin-token')), 'nothing was generated either');
  } finally {
    removeDataDir(dataDir);
  }
});

test('cluster: two serve processes on one PostgreSQL given the same token at once both accept it, the store holds one; token … --store manages the cluster’s tokens', { timeout: 180_000 }, async () => {
  const url = await pgi.createDatabase('admintoken');
  const gen = await runCli(['token', 'generate']);
  assert.equal(gen.code, 0, gen.stderr);
  const token = gen.stdout.trim();
  assert.match(gen.stdout, /^gk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}\n$/);
  assert.notEqual((await runCli(['token', 'generate'])).stdout.trim(), token, 'a fresh one each time');
  const dirs = [tempDataDir('gk-admin-pg-a-'), tempDataDir('gk-admin-pg-b-')];
  const serves = await Promise.all(dirs.map((dataDir) => startServe({ dataDir, args: ['--store', url], env: { GUESTKIT_ADMIN_TOKEN: token } })));
  const cli = async (args: string[], env?: Record<string, string>) => {
    const r = await runCli(['token', ...args], undefined, { env });
    assert.equal(r.code, 0, `token ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    for (const s of serves) {
      assert.equal(s.adminToken, '');
      assert.equal((await call(s.url, 'GET', '/audit?limit=1', { token })).status, 200);
      assertSecretNotLogged(s, token);
    }
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      assert.deepEqual((await db.query('SELECT id FROM tokens')).rows, [{ id: parseToken(token)!.id }], 'one record');
    } finally {
      await db.end();
    }
    const listed = JSON.parse(await cli(['list', '--json', '--store', url])) as { items: { id: string; role: string; namespace: string }[] };
    assert.deepEqual(listed.items.map((t) => [t.id, t.role, t.namespace]), [[parseToken(token)!.id, 'admin', 'default']]);
    const created = serves.map((s) => s.daemon.logs.find((l) => l.token_id === parseToken(token)!.id)?.created);
    assert.deepEqual(created.sort(), [false, true], 'one process stored it, the other found it stored');

    // an admin elsewhere makes a token in the cluster (GUESTKIT_STORE works as --store)
    const made = JSON.parse(await cli(['create', '--namespace', 'team-a', '--role', 'viewer', '--json'], { GUESTKIT_STORE: url })) as { token: string; id: string };
    for (const s of serves) assert.equal((await call(s.url, 'GET', '/jobs', { token: made.token })).status, 200);
    assert.match(await cli(['list', '--namespace', 'team-a', '--store', url]), new RegExp(`^${made.id}\\s+team-a\\s+viewer\\s+active\\s`, 'm'));
    assert.equal(await cli(['revoke', made.id, '--store', url]), `revoked token ${made.id}\n`);
    // the API processes' caches hold a verified token a few seconds at most
    const end = Date.now() + 30_000;
    for (const s of serves) {
      for (;;) {
        const r = await call(s.url, 'GET', '/jobs', { token: made.token });
        if (r.status === 401) break;
        assert.ok(Date.now() < end, 'the revoke reached every API process');
        await new Promise((res) => setTimeout(res, 200));
      }
    }
    const audit = await call(serves[0]!.url, 'GET', '/audit?limit=20', { token });
    assert.deepEqual(
      (audit.body.items as { action: string; target: string }[]).filter((e) => e.target === made.id).map((e) => e.action).sort(),
      ['token.create', 'token.revoke'],
      'the CLI’s changes are in the cluster’s audit log',
    );
    // the same log read and its hash chain checked from the CLI, through --store
    const listedAudit = JSON.parse((await runCli(['audit', 'list', '--json', '--limit', '50', '--store', url])).stdout) as { items: { action: string; target: string }[] };
    assert.deepEqual(listedAudit.items.filter((e) => e.target === made.id).map((e) => e.action).sort(), ['token.create', 'token.revoke']);
    const verified = await runCli(['audit', 'verify', '--json', '--store', url]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.equal((JSON.parse(verified.stdout) as { ok: boolean }).ok, true);
    // --data-dir names another store: refused rather than guessed
    assertUsage(await runCli(['token', 'list', '--store', url, '--data-dir', dirs[0]!]), /--data-dir names a SQLite control\.db/);
    assertUsage(await runCli(['audit', 'list', '--store', url, '--data-dir', dirs[0]!]), /--data-dir names a SQLite control\.db/);
  } finally {
    await Promise.all(serves.map((s) => s.stop()));
    dirs.forEach(removeDataDir);
  }
});
