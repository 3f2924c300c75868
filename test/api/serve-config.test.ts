import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { resolveServeConfig } from '../../src/app/serve-config.js';
import { isGuestkitError } from '../../src/protocol/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'gk-serve-cfg-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const yaml = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('defaults: loopback, port 8080, token auth, 1 MiB bodies, everything under ./.guestkit', () => {
  const c = resolveServeConfig({}, {});
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 8080);
  assert.equal(c.auth, 'token');
  assert.equal(c.bodyLimit, 1 << 20);
  assert.equal(c.dataDir, resolve('.guestkit'));
  assert.equal(c.worker.dataDir, c.dataDir);
  assert.equal(c.worker.jobsDir, join(c.dataDir, 'jobs'));
  assert.equal(c.worker.resultsDir, join(c.dataDir, 'results'));
  assert.deepEqual(c.quotas.default, { maxQueued: null, maxRunning: null, perHour: null });
});

test('YAML < environment < flags, for serve keys and worker keys alike', () => {
  const file = yaml('a.yaml', 'port: 9000\nhost: 127.0.0.2\ndata_dir: /srv/gk\nmax_concurrent: 3\nbody_limit: 4096\nprices: {cpu_second: 1, currency: EUR}\nquotas:\n  default: {max_queued: 5}\n  namespaces: {team-a: {max_running: 1}}\n');
  const fromFile = resolveServeConfig({ config: file }, {});
  assert.equal(fromFile.port, 9000);
  assert.equal(fromFile.host, '127.0.0.2');
  assert.equal(fromFile.dataDir, '/srv/gk');
  assert.equal(fromFile.worker.jobsDir, '/srv/gk/jobs', 'the folders follow the data dir');
  assert.equal(fromFile.worker.maxConcurrent, 3);
  assert.equal(fromFile.bodyLimit, 4096);
  assert.deepEqual(fromFile.prices, { cpuSecond: 1, gibRead: 0.001, currency: 'EUR' });
  assert.equal(fromFile.quotas.default.maxQueued, 5);
  assert.equal(fromFile.quotas.namespaces['team-a']?.maxRunning, 1);
  const env = resolveServeConfig({ config: file }, { GUESTKIT_PORT: '9100', GUESTKIT_DATA_DIR: '/srv/env', GUESTKIT_PRICE_GIB_READ: '0.5' });
  assert.equal(env.port, 9100);
  assert.equal(env.dataDir, '/srv/env');
  assert.equal(env.prices.gibRead, 0.5);
  const flags = resolveServeConfig({ config: file, port: '0', dataDir: '/srv/flag', maxConcurrent: '1' }, { GUESTKIT_PORT: '9100' });
  assert.equal(flags.port, 0);
  assert.equal(flags.dataDir, '/srv/flag');
  assert.equal(flags.worker.maxConcurrent, 1);
});

test('refusals are usage errors that say what to do', () => {
  const usage = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e) => isGuestkitError(e, 'USAGE_ERROR') && re.test(e.message));
  usage(() => resolveServeConfig({ auth: 'none', host: '0.0.0.0' }, {}), /only allowed on a loopback/);
  assert.equal(resolveServeConfig({ auth: 'none', host: '::1' }, {}).auth, 'none');
  usage(() => resolveServeConfig({ auth: 'basic' }, {}), /token or none/);
  usage(() => resolveServeConfig({ port: '70000' }, {}), /--port/);
  usage(() => resolveServeConfig({ bodyLimit: '10' }, {}), /--body-limit/);
  usage(() => resolveServeConfig({ config: yaml('b.yaml', 'quotas: {default: {max_queud: 5}}\n') }, {}), /quotas/);
  usage(() => resolveServeConfig({ config: yaml('c.yaml', 'prices: {cpu_second: -1}\n') }, {}), /prices/);
  usage(() => resolveServeConfig({ config: yaml('d.yaml', 'porte: 80\n') }, {}), /porte/);
  usage(() => resolveServeConfig({}, { GUESTKIT_PRICE_CPU_SECOND: 'cheap' }), /GUESTKIT_PRICE_CPU_SECOND/);
});

test('admin token: YAML admin_token_file < GUESTKIT_ADMIN_TOKEN(_FILE) < --admin-token-file; trimmed; absent by default', () => {
  const [a, b, c] = ['gk_aaaaaaaaaaaa_', 'gk_bbbbbbbbbbbb_', 'gk_cccccccccccc_'].map((p) => p + 'x'.repeat(43));
  const fileA = yaml('token-a', `${a}\n`);
  const fileC = yaml('token-c', `  ${c}\r\n`);
  const cfg = yaml('t.yaml', `admin_token_file: ${fileA}\n`);
  assert.equal(resolveServeConfig({}, {}).adminToken, undefined);
  assert.equal(resolveServeConfig({ config: cfg }, {}).adminToken, a);
  assert.equal(resolveServeConfig({ config: cfg }, { GUESTKIT_ADMIN_TOKEN: b }).adminToken, b);
  assert.equal(resolveServeConfig({ config: cfg }, { GUESTKIT_ADMIN_TOKEN_FILE: fileC }).adminToken, c);
  assert.equal(resolveServeConfig({ config: cfg, adminTokenFile: fileC }, { GUESTKIT_ADMIN_TOKEN: b }).adminToken, c);
  assert.throws(() => resolveServeConfig({}, { GUESTKIT_ADMIN_TOKEN: 'gk_short_secret' }), (e) => isGuestkitError(e, 'USAGE_ERROR') && /^GUESTKIT_ADMIN_TOKEN: /.test(e.message) && !e.message.includes('short_secret'));
});
