import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { openControlStores } from '../../src/store/sqlite/control-db.js';
import { assertUsage, runCli } from '../helpers/cli.js';

/* guestkit token … and guestkit audit … against a data folder, as an operator runs them beside guestkit serve. */

const tmp = () => mkdtempSync(join(tmpdir(), 'gk-cli-token-'));

async function ok(args: string[], env?: Record<string, string>): Promise<string> {
  const r = await runCli(args, undefined, { env });
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stderr, '');
  return r.stdout;
}

test('CLI token: create prints the token once, list never shows secrets, revoke takes it away; each change is audited', async () => {
  const dir = join(tmp(), 'data');
  try {
    const human = await ok(['token', 'create', '--namespace', 'team-a', '--role', 'submitter', '--expires', '30d', '--description', 'ci runner', '--data-dir', dir]);
    const token = /^token\s+(gk_\S+)$/m.exec(human)?.[1];
    assert.ok(token, human);
    assert.match(human, /^role\s+submitter$/m);
    assert.match(human, /cannot be shown again/);
    const made = JSON.parse(await ok(['token', 'create', '--namespace', 'team-b', '--role', 'viewer', '--json'], { GUESTKIT_DATA_DIR: dir })) as Record<string, unknown>;
    assert.match(String(made.token), /^gk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual([made.namespace, made.role, made.state, made.expires_at], ['team-b', 'viewer', 'active', null]);

    // the printed tokens are what a server accepts
    const c = openControlStores(dir);
    try {
      const rec = await c.tokens.verify(token);
      assert.deepEqual([rec.namespace, rec.role, rec.description], ['team-a', 'submitter', 'ci runner']);
      assert.equal((await c.tokens.verify(String(made.token))).id, made.id);
    } finally {
      await c.close();
    }

    const table = await ok(['token', 'list', '--data-dir', dir]);
    assert.match(table, /^ID\s+NAMESPACE\s+ROLE\s+STATE/);
    assert.match(table, new RegExp(`^${String(made.id)}\\s+team-b\\s+viewer\\s+active\\s`, 'm'));
    const listed = JSON.parse(await ok(['token', 'list', '--namespace', 'team-a', '--json', '--data-dir', dir])) as { items: Record<string, unknown>[] };
    assert.deepEqual(listed.items.map((t) => t.namespace), ['team-a']);
    const everything = await ok(['token', 'list', '--json', '--data-dir', dir]);
    for (const t of [token, String(made.token)]) assert.ok(!everything.includes(t.slice(16)) && !table.includes(t.slice(16)), 'no secret listed');

    assert.equal(await ok(['token', 'revoke', String(made.id), '--data-dir', dir]), `revoked token ${String(made.id)}\n`);
    assert.match(await ok(['token', 'revoke', String(made.id), '--data-dir', dir]), /was already revoked/);
    const gone = await runCli(['token', 'revoke', 'nosuchtoken0', '--data-dir', dir]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^guestkit: NOT_FOUND: no token nosuchtoken0/);
    assert.match(await ok(['token', 'list', '--data-dir', dir]), new RegExp(`^${String(made.id)}\\s+team-b\\s+viewer\\s+revoked\\s`, 'm'));
    const after = openControlStores(dir);
    try {
      await assert.rejects(after.tokens.verify(String(made.token)), (e) => isGuestkitError(e, 'UNAUTHENTICATED') && e.details?.reason === 'revoked');
    } finally {
      await after.close();
    }

    const audit = JSON.parse(await ok(['audit', 'list', '--json', '--data-dir', dir])) as { items: Record<string, unknown>[] };
    assert.deepEqual(audit.items.map((e) => [e.seq, e.action, e.target, e.outcome]), [
      [3, 'token.revoke', made.id, 'ok'],
      [2, 'token.create', made.id, 'ok'],
      [1, 'token.create', /^gk_([a-z0-9]{12})_/.exec(token)![1], 'ok'],
    ]);
    assert.match(String(audit.items[0]!.actor), /^cli/);
    assert.match(await ok(['audit', 'list', '--limit', '1', '--data-dir', dir]), /^SEQ\s+AT\s+ACTOR[\s\S]*token\.revoke[\s\S]*--cursor 3\)\n$/);
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});

test('CLI audit verify: exit 0 on an intact chain; exit 1 naming the first edited or deleted entry', async () => {
  const dir = tmp();
  try {
    for (const ns of ['a', 'b', 'c', 'd']) await ok(['token', 'create', '--namespace', ns, '--role', 'viewer', '--data-dir', dir, '--json']);
    assert.equal(await ok(['audit', 'verify', '--data-dir', dir]), 'audit log intact: 4 entries, every hash checks\n');
    assert.deepEqual(JSON.parse(await ok(['audit', 'verify', '--json', '--data-dir', dir])), { ok: true, entries: 4 });

    const db = new Database(join(dir, 'control.db'));
    db.prepare("UPDATE audit_log SET namespace = 'z' WHERE seq = 3").run();
    db.close();
    const broken = await runCli(['audit', 'verify', '--data-dir', dir]);
    assert.equal(broken.code, 1, broken.stderr);
    assert.match(broken.stdout, /^audit log BROKEN at entry 3: entry 3 does not match its hash: edited after it was written \(entries 1 to 2 before it check\)\n$/);
    const json = await runCli(['audit', 'verify', '--json', '--data-dir', dir]);
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout), { ok: false, entries: 2, broken_at: 3, reason: 'entry 3 does not match its hash: edited after it was written' });

    const fix = new Database(join(dir, 'control.db'));
    fix.prepare("UPDATE audit_log SET namespace = 'c' WHERE seq = 3").run();
    fix.prepare('DELETE FROM audit_log WHERE seq = 2').run();
    fix.close();
    const gap = await runCli(['audit', 'verify', '--json', '--data-dir', dir]);
    assert.equal(gap.code, 1);
    assert.deepEqual(JSON.parse(gap.stdout), { ok: false, entries: 1, broken_at: 2, reason: 'entry 2 is missing (deleted?): the next stored entry is 3' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI token/audit: usage errors are one line, exit 2, and make no database', async () => {
  const dir = tmp();
  try {
    assertUsage(await runCli(['token', 'create', '--namespace', 'a', '--role', 'root', '--data-dir', dir]), /--role must be one of viewer, submitter, admin; got "root"/);
    assertUsage(await runCli(['token', 'create', '--namespace', 'a', '--role', 'viewer', '--expires', '3y', '--data-dir', dir]), /--expires must be a duration such as 30d/);
    assertUsage(await runCli(['token', 'create', '--role', 'viewer', '--data-dir', dir]), /required option '--namespace <ns>'/);
    assertUsage(await runCli(['token', 'list', '--data-dir', join(dir, 'nowhere')]), /no control\.db in .*nowhere/);
    assertUsage(await runCli(['audit', 'verify', '--data-dir', join(dir, 'nowhere')]), /no control\.db/);
    assertUsage(await runCli(['token', 'create', '--namespace', 'a', '--role', 'viewer', '--data-dir', join(dir, 'no', 'such')]), /its parent .* does not exist/);
    assertUsage(await runCli(['token', 'create', '--namespace', 'has space', '--role', 'viewer', '--data-dir', dir]), /--namespace must be 1 to 128 characters/);
    assertUsage(await runCli(['token', 'list', '--store', 'mysql://u:pw@db/x']), /--store must be sqlite or a postgres:\/\/ connection string, got "mysql:\/\/u:\*\*\*@db\/x"/);
    assertUsage(await runCli(['token', 'create', '--namespace', 'a', '--role', 'viewer', '--data-dir', dir], undefined, { env: { GUESTKIT_STORE: 'redis://x' } }), /--store must be sqlite/);
    assert.deepEqual(readdirSync(dir), [], 'no database made by a refused command');
    await ok(['token', 'create', '--namespace', 'a', '--role', 'viewer', '--data-dir', dir]);
    assertUsage(await runCli(['audit', 'list', '--limit', '0', '--data-dir', dir]), /--limit must be an integer from 1 to 1000/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI token/audit help: sentence-case descriptions and an Arguments section where there are arguments', async () => {
  for (const cmd of [['token'], ['token', 'generate'], ['token', 'create'], ['token', 'list'], ['token', 'revoke'], ['audit'], ['audit', 'verify'], ['audit', 'list']]) {
    const r = await runCli([...cmd, '--help']);
    assert.equal(r.code, 0, r.stderr);
    const [usageLine, , description] = r.stdout.split('\n');
    assert.match(description!, /^[A-Z]/, `${cmd.join(' ')}: ${description}`);
    if (/[<[]/.test(usageLine!.replace(/\[options\]|\[command\]/g, ''))) assert.match(r.stdout, /\nArguments:\n {2}id\s{2,}\S/);
  }
  assert.match((await runCli(['--help'])).stdout, /\n {2}token\s[^\n]*\n(?:[\s\S]*\n)? {2}audit\s/);
});
