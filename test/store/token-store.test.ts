import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { generateToken, hashSecret, parseToken, type TokenStore } from '../../src/ports/token-store.js';
import { ControlDb, openControlStores } from '../../src/store/sqlite/control-db.js';
import { SqliteTokenStore } from '../../src/store/sqlite/sqlite-token-store.js';

/** A clock the tests move by hand. */
class FakeClock {
  constructor(public t = Date.UTC(2026, 0, 30, 16)) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * The TokenStore contract: every adapter (SQLite now, PostgreSQL next) runs these tests.
 * `open` gives a fresh, empty store on `clock`; `reopen` a second handle on the same data.
 */
export interface TokenStoreFactory {
  name: string;
  open(clock: FakeClock): Promise<{ store: TokenStore; reopen: () => Promise<TokenStore>; cleanup?: () => Promise<void> }>;
}

const rejectsWith = (reason: string) => (e: unknown) =>
  isGuestkitError(e, 'UNAUTHENTICATED') && (e.details as { reason?: string }).reason === reason;

export function tokenStoreContract(f: TokenStoreFactory): void {
  const withStore = (title: string, fn: (s: TokenStore, clock: FakeClock, reopen: () => Promise<TokenStore>) => Promise<void>) =>
    test(`${f.name} TokenStore contract: ${title}`, async () => {
      const clock = new FakeClock();
      const { store, reopen, cleanup } = await f.open(clock);
      try {
        await fn(store, clock, reopen);
      } finally {
        await store.close();
        await cleanup?.();
      }
    });

  withStore('create returns gk_<id>_<secret> once; the record comes back from get and list, without any secret', async (s, clock) => {
    const { token, record } = await s.create({ namespace: 'team-a', role: 'submitter', description: 'ci' });
    assert.match(token, /^gk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(parseToken(token)!.id, record.id);
    assert.deepEqual(record, { id: record.id, namespace: 'team-a', role: 'submitter', description: 'ci', createdAt: clock.t, expiresAt: null, revokedAt: null, lastUsedAt: null });
    assert.deepEqual(await s.get(record.id), record);
    assert.equal(await s.get('nosuchtoken0'), undefined);
    clock.advance(1);
    const b = await s.create({ namespace: 'team-b', role: 'viewer' });
    clock.advance(1);
    const c = await s.create({ namespace: 'team-a', role: 'admin', expiresAt: clock.t + 1000 });
    assert.deepEqual((await s.list()).map((r) => r.id), [c.record.id, b.record.id, record.id], 'newest first');
    assert.deepEqual((await s.list({ namespace: 'team-a' })).map((r) => r.id), [c.record.id, record.id]);
    assert.deepEqual(await s.list({ namespace: 'nobody' }), []);
    const listed = JSON.stringify(await s.list());
    for (const t of [token, b.token, c.token]) assert.ok(!listed.includes(parseToken(t)!.secret), 'no secret in a listing');
    // two tokens never share an id or a secret
    assert.notEqual(parseToken(b.token)!.secret, parseToken(c.token)!.secret);
  });

  withStore('create refuses a bad namespace, role, expiry or description (VALIDATION_ERROR naming the field)', async (s, clock) => {
    const bad = async (input: Parameters<TokenStore['create']>[0], field: string) =>
      assert.rejects(s.create(input), (e) => isGuestkitError(e, 'VALIDATION_ERROR') && (e.details as { field: string }).field === field);
    await bad({ namespace: '', role: 'viewer' }, 'namespace');
    await bad({ namespace: 'has space', role: 'viewer' }, 'namespace');
    await bad({ namespace: 'a', role: 'root' as never }, 'role');
    await bad({ namespace: 'a', role: 'viewer', expiresAt: clock.t }, 'expiresAt');
    await bad({ namespace: 'a', role: 'viewer', expiresAt: 1.5 }, 'expiresAt');
    await bad({ namespace: 'a', role: 'viewer', description: 'x'.repeat(501) }, 'description');
    assert.deepEqual(await s.list(), [], 'nothing was stored');
  });

  withStore('verify: the live record; malformed and unknown tokens are told apart, a wrong secret is unknown', async (s) => {
    const { token, record } = await s.create({ namespace: 'team-a', role: 'viewer' });
    const got = await s.verify(token);
    assert.deepEqual({ ...got, lastUsedAt: null }, record);
    const { id, secret } = parseToken(token)!;
    for (const m of ['', 'Bearer ' + token, token + 'x', token.slice(0, -1), `gk_${id.toUpperCase()}_${secret}`, `gk_${id}-${secret}`, `xk_${id}_${secret}`, `gk_${id}_${secret.slice(0, 42)}!`]) {
      await assert.rejects(s.verify(m), rejectsWith('malformed'), `malformed: ${m}`);
    }
    await assert.rejects(s.verify(`gk_000000000000_${secret}`), rejectsWith('unknown'));
    const other = secret.startsWith('A') ? 'B' + secret.slice(1) : 'A' + secret.slice(1);
    await assert.rejects(s.verify(`gk_${id}_${other}`), rejectsWith('unknown'), 'right id, wrong secret');
    // the errors carry no secret
    await assert.rejects(s.verify(`gk_${id}_${other}`), (e) => !JSON.stringify((e as Error).message).includes(other));
  });

  withStore('revoke takes effect at once, even for a token verified a moment ago; a wrong secret still says unknown', async (s, clock) => {
    const a = await s.create({ namespace: 'team-a', role: 'submitter' });
    const b = await s.create({ namespace: 'team-a', role: 'submitter' });
    await s.verify(a.token);
    await s.verify(a.token);
    assert.equal(await s.revoke(a.record.id), true);
    await assert.rejects(s.verify(a.token), rejectsWith('revoked'));
    assert.equal((await s.get(a.record.id))!.revokedAt, clock.t);
    assert.equal(await s.revoke(a.record.id), false, 'already revoked');
    assert.equal(await s.revoke('nosuchtoken0'), false);
    const { id, secret } = parseToken(a.token)!;
    await assert.rejects(s.verify(`gk_${id}_${secret.replace(/^./, (ch) => (ch === 'x' ? 'y' : 'x'))}`), rejectsWith('unknown'), 'a revoked id does not reveal itself');
    assert.equal((await s.verify(b.token)).id, b.record.id, 'other tokens are untouched');
  });

  withStore('expiry: valid until expiresAt, then expired (checked on every call, cached or not)', async (s, clock) => {
    const { token, record } = await s.create({ namespace: 'team-a', role: 'viewer', expiresAt: clock.t + 60_000 });
    assert.equal(record.expiresAt, clock.t + 60_000);
    await s.verify(token);
    clock.advance(59_999);
    await s.verify(token);
    clock.advance(1);
    await assert.rejects(s.verify(token), rejectsWith('expired'));
    const never = await s.create({ namespace: 'team-a', role: 'viewer', expiresAt: null });
    clock.advance(10 * 365 * 86_400_000);
    assert.equal((await s.verify(never.token)).expiresAt, null);
  });

  withStore('adopt stores a token the operator chose: it verifies, and get and list show it without its secret', async (s, clock) => {
    const token = generateToken();
    const { id, secret } = parseToken(token)!;
    assert.equal(await s.get(id), undefined, 'generateToken stores nothing');
    const { record, created } = await s.adopt(token, { namespace: 'default', role: 'admin', description: 'from a Secret' });
    assert.equal(created, true);
    assert.deepEqual(record, { id, namespace: 'default', role: 'admin', description: 'from a Secret', createdAt: clock.t, expiresAt: null, revokedAt: null, lastUsedAt: null });
    assert.deepEqual(await s.get(id), record);
    assert.equal((await s.verify(token)).role, 'admin');
    assert.ok(!JSON.stringify(await s.list()).includes(secret));
  });

  withStore('adopt is idempotent: the same token again (also many at once) leaves one record as it was, revocation included', async (s, clock) => {
    const token = generateToken();
    const first = await s.adopt(token, { namespace: 'default', role: 'admin' });
    clock.advance(1000);
    const again = await s.adopt(token, { namespace: 'other', role: 'viewer', description: 'ignored' });
    assert.equal(again.created, false);
    assert.deepEqual(again.record, first.record, 'the stored record wins');
    const racers = await Promise.all(Array.from({ length: 8 }, () => s.adopt(token, { namespace: 'default', role: 'admin' })));
    assert.ok(racers.every((r) => !r.created && r.record.id === first.record.id));
    const fresh = generateToken();
    const together = await Promise.all(Array.from({ length: 8 }, () => s.adopt(fresh, { namespace: 'default', role: 'admin' })));
    assert.equal(together.filter((r) => r.created).length, 1, 'exactly one adopt of a new token created it');
    assert.deepEqual((await s.list()).map((r) => r.id).sort(), [first.record.id, parseToken(fresh)!.id].sort());
    assert.equal(await s.revoke(first.record.id), true);
    const afterRevoke = await s.adopt(token, { namespace: 'default', role: 'admin' });
    assert.notEqual(afterRevoke.record.revokedAt, null, 'adopting again does not bring a revoked token back');
    await assert.rejects(s.verify(token), rejectsWith('revoked'));
  });

  withStore('adopt refuses a malformed token (VALIDATION_ERROR, field token, text not echoed) and bad input like create', async (s, clock) => {
    const good = generateToken();
    for (const m of ['', 'gk_short_x', good + 'x', good.replace('gk_', 'GK_'), ` ${good}`, `${good}\n`]) {
      await assert.rejects(s.adopt(m, { namespace: 'default', role: 'admin' }), (e) =>
        isGuestkitError(e, 'VALIDATION_ERROR') && (e.details as { field: string }).field === 'token' && (m.length < 20 || !(e as Error).message.includes(m)),
      );
    }
    await assert.rejects(s.adopt(good, { namespace: 'has space', role: 'admin' }), (e) => isGuestkitError(e, 'VALIDATION_ERROR') && (e.details as { field: string }).field === 'namespace');
    await assert.rejects(s.adopt(good, { namespace: 'a', role: 'admin', expiresAt: clock.t }), (e) => isGuestkitError(e, 'VALIDATION_ERROR'));
    assert.deepEqual(await s.list(), [], 'nothing was stored');
  });

  withStore('adopt of an id held by another secret is a conflict (INVALID_STATE, reason conflict); the held token still works', async (s) => {
    const { token, record } = await s.create({ namespace: 'team-a', role: 'viewer' });
    const { id } = parseToken(token)!;
    const impostor = `gk_${id}_${parseToken(generateToken())!.secret}`;
    await assert.rejects(s.adopt(impostor, { namespace: 'default', role: 'admin' }), (e) =>
      isGuestkitError(e, 'INVALID_STATE') && (e.details as { reason: string }).reason === 'conflict' && !(e as Error).message.includes(parseToken(impostor)!.secret),
    );
    assert.deepEqual(await s.get(id), record, 'untouched');
    await assert.rejects(s.verify(impostor), rejectsWith('unknown'));
    assert.equal((await s.verify(token)).id, id);
  });

  withStore('lastUsedAt: set on first use, then at most once a minute; kept across a reopen', async (s, clock, reopen) => {
    const { token, record } = await s.create({ namespace: 'team-a', role: 'viewer' });
    const t0 = clock.t;
    assert.equal((await s.verify(token)).lastUsedAt, t0);
    clock.advance(30_000);
    assert.equal((await s.verify(token)).lastUsedAt, t0, 'not rewritten within the minute');
    clock.advance(30_000);
    assert.equal((await s.verify(token)).lastUsedAt, t0 + 60_000);
    await s.close();
    const again = await reopen();
    try {
      assert.equal((await again.get(record.id))!.lastUsedAt, t0 + 60_000);
      assert.equal((await again.verify(token)).id, record.id, 'a token works after a restart');
    } finally {
      await again.close();
    }
  });
}

// --- SQLite ---

const sqliteStores = new Set<string>();
function tmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gk-tokens-'));
  sqliteStores.add(dir);
  return dir;
}

const openTokens = (dir: string, clock: FakeClock, cacheTtlMs?: number) => new SqliteTokenStore(ControlDb.open(dir).acquire(), { now: clock.now, cacheTtlMs });

tokenStoreContract({
  name: 'sqlite',
  async open(clock) {
    const dir = tmpDir();
    return {
      store: openTokens(dir, clock),
      reopen: async () => openTokens(dir, clock),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});

test('sqlite tokens: control.db holds sha256(secret) only, never the secret; the jobs database is not touched', async () => {
  const clock = new FakeClock();
  const dir = tmpDir();
  const s = openTokens(dir, clock);
  const { token, record } = await s.create({ namespace: 'team-a', role: 'admin' });
  await s.close();
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.db')), ['control.db']);
  const { secret } = parseToken(token)!;
  const db = new Database(join(dir, 'control.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT * FROM tokens WHERE id = ?').get(record.id) as Record<string, unknown>;
    assert.deepEqual(row.secret_hash, hashSecret(secret));
    assert.ok(!JSON.stringify(row).includes(secret));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('user_version', { simple: true }), 1);
  } finally {
    db.close();
  }
  for (const f of readdirSync(dir)) assert.ok(!readFileSync(join(dir, f)).includes(Buffer.from(secret)), `${f} does not hold the secret`);
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite tokens: a revoke by another process (the CLI) reaches a running server once its cache entry is older than the TTL', async () => {
  const clock = new FakeClock();
  const dir = tmpDir();
  const server = openTokens(dir, clock, 5_000);
  const cli = openTokens(dir, clock);
  try {
    const { token, record } = await cli.create({ namespace: 'team-a', role: 'viewer' });
    assert.equal((await server.verify(token)).id, record.id, 'a token made by another process works at once (no negative cache)');
    assert.equal(await cli.revoke(record.id), true);
    clock.advance(4_999);
    assert.equal((await server.verify(token)).id, record.id, 'still cached');
    clock.advance(1);
    await assert.rejects(server.verify(token), rejectsWith('revoked'));
  } finally {
    await server.close();
    await cli.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite control stores: tokens and audit share one connection, which closes with the last of them', async () => {
  const dir = tmpDir();
  const c = openControlStores(dir);
  const { token } = await c.tokens.create({ namespace: 'team-a', role: 'viewer' });
  await c.tokens.close();
  const e = await c.audit.append({ actor: 'cli', role: 'admin', namespace: 'team-a', action: 'token.create', target: null, sourceIp: null, outcome: 'ok', status: 0 });
  assert.equal(e.seq, 1, 'the audit log still works after the token store closed');
  await c.close();
  await assert.rejects(c.audit.append({ ...e }), (err) => isGuestkitError(err));
  const again = openControlStores(dir);
  try {
    assert.equal((await again.tokens.verify(token)).namespace, 'team-a');
    assert.equal((await again.audit.verify()).entries, 1);
  } finally {
    await again.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
