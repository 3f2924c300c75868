import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { AdvisoryDb, importAdvisories } from '../../src/vulns/index.js';

const OSV = join(repoRoot(), 'test', 'fixtures', 'osv');
const tmp = mkdtempSync(join(tmpdir(), 'gk-osv-import-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshDb = () => AdvisoryDb.open(join(tmp, `db${n++}`, 'advisories.db'), { create: true });
const record = (name: string) => JSON.parse(readFileSync(join(OSV, 'debian', `${name}.json`), 'utf8')) as Record<string, unknown> & { affected: { ranges: { events: Record<string, string>[] }[] }[] };

test('a directory tree of OSV records imports every record, keyed by ecosystem and package', async () => {
  const db = freshDb();
  const s = await importAdvisories(db, OSV);
  const files = ['alpine', 'debian', 'rocky', 'ubuntu'].reduce((k, d) => k + readdirSync(join(OSV, d)).length, 0);
  assert.equal(s.files, files);
  assert.equal(s.inserted, files);
  assert.equal(s.malformed, 0);
  assert.deepEqual(s.ecosystems, ['Alpine:v3.19', 'Alpine:v3.20', 'Debian:12', 'Debian:13', 'Rocky Linux:9', 'Ubuntu:Pro:14.04:LTS']);
  const rows = db.affected('Debian:12', ['openssh']);
  assert.deepEqual(rows.map((r) => [r.advisory_id, r.ranges[0]!.events]), [['DSA-5724-1', [{ introduced: '0' }, { fixed: '1:9.2p1-2+deb12u3' }]]]);
  assert.deepEqual(db.advisory('DSA-5724-1')!.cves, ['CVE-2024-6387']);
  assert.deepEqual(db.advisoryIdsFor('CVE-2024-6387'), ['ALPINE-CVE-2024-6387', 'DSA-5724-1', 'RLSA-2024:4312']);
  assert.deepEqual(db.affected('Rocky Linux:9', ['dbus-libs']).map((r) => [r.advisory_id, r.ranges[0]!.events]), [['RLSA-2023:0335', [{ introduced: '0' }, { fixed: '1:1.12.20-7.el9_1' }]]]);
  assert.equal(db.status(['Debian:12']).advisories, 18);
  db.close();
});

test('re-import replaces a record only when its modified is newer', async () => {
  const db = freshDb();
  const dir = join(tmp, 'reimport');
  mkdirSync(dir, { recursive: true });
  const rec = record('DSA-5724-1');
  writeFileSync(join(dir, 'a.json'), JSON.stringify(rec));
  assert.equal((await importAdvisories(db, dir)).inserted, 1);
  assert.equal((await importAdvisories(db, dir)).kept, 1, 'same modified: kept');

  const newer = { ...rec, modified: '2024-07-02T10:00:00.5Z', affected: [{ ...rec.affected[0], ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:9.2p1-2+deb12u4' }] }] }] };
  writeFileSync(join(dir, 'a.json'), JSON.stringify(newer));
  assert.equal((await importAdvisories(db, dir)).replaced, 1);
  assert.equal(db.affected('Debian:12', ['openssh']).length, 1, 'the old affected rows are gone');
  assert.equal(db.affected('Debian:12', ['openssh'])[0]!.ranges[0]!.events[1]!.fixed, '1:9.2p1-2+deb12u4');

  // an older copy (fractional seconds compared as times, not text) does not win
  writeFileSync(join(dir, 'a.json'), JSON.stringify({ ...rec, modified: '2024-07-02T10:00:00Z' }));
  assert.equal((await importAdvisories(db, dir)).kept, 1);
  assert.equal(db.advisory('DSA-5724-1')!.modified, '2024-07-02T10:00:00.5Z');
  db.close();
});

test('a withdrawn advisory is stored but never matched', async () => {
  const db = freshDb();
  const dir = join(tmp, 'withdrawn');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'w.json'), JSON.stringify({ ...record('DSA-5724-1'), modified: '2024-08-01T00:00:00Z', withdrawn: '2024-08-01T00:00:00Z' }));
  assert.equal((await importAdvisories(db, dir)).inserted, 1);
  assert.deepEqual(db.affected('Debian:12', ['openssh']), []);
  assert.deepEqual(db.advisoryIdsFor('CVE-2024-6387'), []);
  db.close();
});

test('malformed files and records are counted and named; the good ones still import', async () => {
  const db = freshDb();
  const dir = join(tmp, 'malformed');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'broken.json'), '{"id": "DSA-1", ');
  writeFileSync(join(dir, 'no-modified.json'), JSON.stringify({ id: 'DSA-2', affected: [] }));
  const badEvent = record('DSA-5514-1');
  badEvent.affected[0]!.ranges[0]!.events = [{ introduced: '0', fixed: '2.36-9+deb12u3' }];
  writeFileSync(join(dir, 'two-in-one-event.json'), JSON.stringify(badEvent));
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify([record('DSA-5611-1'), 42, record('DSA-5532-1')]));
  writeFileSync(join(dir, 'notes.txt'), 'not an advisory, not read');
  const s = await importAdvisories(db, dir);
  assert.equal(s.inserted, 2);
  assert.equal(s.malformed, 4);
  const byFile = new Map(s.malformed_entries.map((m) => [m.file.slice(dir.length + 1), m]));
  assert.match(byFile.get('broken.json')!.error, /^not JSON/);
  assert.match(byFile.get('no-modified.json')!.error, /modified/);
  assert.equal(byFile.get('no-modified.json')!.id, 'DSA-2');
  assert.match(byFile.get('two-in-one-event.json')!.error, /exactly one of introduced, fixed/);
  assert.match(byFile.get('bundle.json')!.error, /record/);
  db.close();
});

test('a zip archive as osv.dev publishes one, with a bad entry and a corrupt archive beside it', async () => {
  const db = freshDb();
  const src = join(tmp, 'zipsrc');
  mkdirSync(src, { recursive: true });
  for (const f of readdirSync(join(OSV, 'debian'))) copyFileSync(join(OSV, 'debian', f), join(src, f));
  writeFileSync(join(src, 'DSA-0000-0.json'), '[not json');
  const dir = join(tmp, 'zips');
  mkdirSync(dir, { recursive: true });
  execFileSync('zip', ['-q', '-j', join(dir, 'all.zip'), ...readdirSync(src).map((f) => join(src, f))]);
  writeFileSync(join(dir, 'corrupt.zip'), Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(200, 7)]));

  const one = await importAdvisories(db, join(dir, 'all.zip'));
  assert.equal(one.inserted, readdirSync(join(OSV, 'debian')).length);
  assert.deepEqual(one.malformed_entries.map((m) => m.file), ['all.zip:DSA-0000-0.json']);

  const both = await importAdvisories(freshDb(), dir);
  assert.equal(both.inserted, one.inserted, 'the corrupt archive does not stop the good one');
  assert.equal(both.malformed, 2);
  assert.ok(both.malformed_entries.some((m) => m.file.endsWith('corrupt.zip') && /zip/.test(m.error)));
  db.close();
});

test('a path that does not exist, and a database file that is not one, are typed errors', async () => {
  const db = freshDb();
  await assert.rejects(importAdvisories(db, join(tmp, 'nope')), { code: 'NOT_FOUND' });
  db.close();
  const notDb = join(tmp, 'not-a-db.db');
  writeFileSync(notDb, 'hello');
  assert.throws(() => AdvisoryDb.open(notDb), { code: 'VALIDATION_ERROR' });
  assert.throws(() => AdvisoryDb.open(join(tmp, 'missing.db')), { code: 'NOT_FOUND' });
});
