import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { call, echo, removeDataDir, startServe, waitFinal, type Served } from '../helpers/serve.js';

/** `guestkit serve --auth none`: loopback only, said loudly, every caller an admin, still audited. */
let s: Served;
before(async () => {
  s = await startServe({ args: ['--auth', 'none'] });
});
after(async () => {
  await s?.stop();
  if (s) removeDataDir(s.dataDir);
});

test('--auth none: a warning at start, no admin token made, every call answered without a token and audited', async () => {
  const warning = await s.daemon.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('--auth none'), 5_000);
  assert.equal(warning.level, 'warn');
  assert.equal(existsSync(join(s.dataDir, 'admin-token')), false, 'no token is made when none is asked for');
  const me = await call(s.url, 'GET', '/whoami');
  assert.equal(me.status, 200);
  assert.equal(me.body.auth, 'none');
  assert.equal(me.body.role, 'admin');
  const posted = await call(s.url, 'POST', '/jobs', { body: echo('no token') });
  assert.equal(posted.status, 202);
  const id = (posted.body.job as { job_id: string }).job_id;
  assert.equal((await waitFinal(s.url, '', id)).status, 'completed');
  const bearer = await call(s.url, 'GET', '/jobs?limit=5', { token: 'gk_anything_at_all' });
  assert.equal(bearer.status, 200, 'a token, even a made-up one, changes nothing');
  const audit = await call(s.url, 'GET', '/audit?limit=100');
  const entries = audit.body.items as { action: string; target: string | null; outcome: string }[];
  assert.ok(entries.some((e) => e.action === 'job.submit' && e.target === id && e.outcome === 'ok'), 'submits are audited without tokens too');
});
