import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Vfs } from '../../src/fs/vfs.js';
import { GuestView } from '../../src/inspect/guest-view.js';
import { dpkgApplications, splitDebVersion } from '../../src/inspect/linux/packages/dpkg.js';
import { bdbHashValues } from '../../src/inspect/linux/packages/rpm-bdb.js';
import { applicationOfHeader, parseHeaderBlob } from '../../src/inspect/linux/packages/rpm-header.js';
import { sqliteBlobs } from '../../src/inspect/linux/packages/rpm.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { fixture } from '../helpers/fixtures.js';
import { HostDirFs } from '../helpers/host-fs.js';

/** `name\tepoch\tversion\trelease\tarch` lines, as the fixture builder had rpm print them. */
function rpmTruth(file: string): string[] {
  return readFileSync(fixture('inspect', file), 'utf8').trim().split('\n').sort();
}

function rpmLines(blobs: Buffer[]): string[] {
  return blobs
    .filter((b) => b.length >= 16)
    .map((b) => applicationOfHeader(b))
    .filter((a) => a !== undefined)
    .map((a) => `${a.name}\t${a.epoch}\t${a.version}\t${a.release}\t${a.arch}`)
    .sort();
}

test('rpm sqlite database: every package rpm -qa lists, with epoch/version/release/arch', async () => {
  const blobs = await sqliteBlobs(readFileSync(fixture('inspect', 'rpm-rpmdb.sqlite')));
  assert.deepEqual(rpmLines(blobs), rpmTruth('rpm-guest-rpm.txt'));
});

test('rpm Berkeley DB Packages (written by libdb): the same packages rpm reads with bdb_ro', () => {
  const values = bdbHashValues(readFileSync(fixture('inspect', 'rpm-Packages.bdb')));
  assert.deepEqual(rpmLines(values), rpmTruth('rpm-guest-bdb.txt'));
});

test('rpm header: summary, url and source package come through', async () => {
  const blobs = await sqliteBlobs(readFileSync(fixture('inspect', 'rpm-rpmdb.sqlite')));
  const dbus = blobs.map((b) => applicationOfHeader(b)).find((a) => a?.name === 'dbus');
  assert.equal(dbus?.summary, 'D-BUS message bus');
  assert.equal(dbus?.url, 'https://example.org/dbus');
  assert.equal(dbus?.source_package, 'dbus');
});

test('rpm header and bdb: hostile bytes give CORRUPT_IMAGE, not a crash', async () => {
  const blob = Buffer.from((await sqliteBlobs(readFileSync(fixture('inspect', 'rpm-rpmdb.sqlite'))))[0]!);
  const huge = Buffer.from(blob);
  huge.writeUInt32BE(0x7fffffff, 0);
  assert.throws(() => parseHeaderBlob(huge), (e) => isGuestkitError(e, 'CORRUPT_IMAGE'));
  const badOffset = Buffer.from(blob);
  for (let i = 0; i < badOffset.readUInt32BE(0); i++) badOffset.writeInt32BE(0x7ffffff0, 8 + i * 16 + 8);
  assert.throws(() => parseHeaderBlob(badOffset), (e) => isGuestkitError(e, 'CORRUPT_IMAGE'));
  const bdb = Buffer.from(readFileSync(fixture('inspect', 'rpm-Packages.bdb')));
  bdb.writeUInt32LE(0xdeadbeef, 12);
  assert.throws(() => bdbHashValues(bdb), (e) => isGuestkitError(e, 'CORRUPT_IMAGE'));
  const badPage = Buffer.from(readFileSync(fixture('inspect', 'rpm-Packages.bdb')));
  badPage.writeUInt32LE(3, 20);
  assert.throws(() => bdbHashValues(badPage), (e) => isGuestkitError(e, 'CORRUPT_IMAGE'));
});

test('dpkg status of a debootstrapped Debian: exactly what dpkg-query reports', async () => {
  const g = new GuestView(new Vfs(new HostDirFs(fixture('inspect', 'debian-root'))));
  const apps = (await dpkgApplications(g))!;
  const got = apps.map((a) => `${a.name}\t${a.epoch ? `${a.epoch}:` : ''}${a.version}${a.release ? `-${a.release}` : ''}\t${a.arch}`).sort();
  const want = readFileSync(fixture('inspect', 'debian-dpkg.txt'), 'utf8').trim().split('\n').sort();
  assert.ok(want.length > 100, `expected a real package list, got ${want.length}`);
  assert.deepEqual(got, want);
  assert.deepEqual(g.evidence, ['/var/lib/dpkg/status']);
});

test('Debian version split follows dpkg: epoch, upstream with dashes, revision', () => {
  assert.deepEqual(splitDebVersion('1:2.38.1-5+deb12u1'), { epoch: 1, version: '2.38.1', release: '5+deb12u1' });
  assert.deepEqual(splitDebVersion('0.5.11+git20210903+057cd650a4ed-9'), { epoch: 0, version: '0.5.11+git20210903+057cd650a4ed', release: '9' });
  assert.deepEqual(splitDebVersion('1.2-3-4'), { epoch: 0, version: '1.2-3', release: '4' });
  assert.deepEqual(splitDebVersion('20230311'), { epoch: 0, version: '20230311', release: '' });
});
