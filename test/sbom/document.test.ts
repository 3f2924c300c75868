import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Inspection } from '../../src/inspect/types.js';
import { isGuestkitError } from '../../src/protocol/errors.js';
import { sbomFormatOfOutput, toSbom } from '../../src/sbom/index.js';
import { REPO } from '../helpers/fixtures.js';
import { cycloneDxErrors, spdxErrors } from './validators.js';

/** An inspection of a guest whose package facts are given here: every corner the documents must keep valid. */
const inspection: Inspection = {
  image: [{ path: '/images/odd name #1.qcow2', format: 'qcow2', virtual_size: 1, backing_chain: [] }],
  partition_table: [],
  filesystems: [],
  warnings: [],
  stats: { bytes_read: 0, reads: 0, total_ms: 0, stages_ms: {} },
  operating_systems: [
    {
      root: '/dev/sda1', type: 'linux', name: 'linux', distro: 'rocky', os_release: { id: 'rocky', version_id: '9.3' }, major_version: 9, minor_version: 3,
      osinfo: 'rocky9', package_format: 'rpm', mountpoints: {}, filesystems: [], evidence: {}, warnings: [],
      applications: [
        // listed twice by a damaged database: bom-refs and SPDXIDs must still be unique
        { name: 'kernel', epoch: 0, version: '5.14.0', release: '362.el9', arch: 'x86_64', license: 'GPLv2 and Redistributable, no modification permitted' },
        { name: 'kernel', epoch: 0, version: '5.14.0', release: '362.el9', arch: 'x86_64', license: 'GPL-2.0-only' },
        // a homepage that is no URL, a name with characters SPDXIDs do not allow
        { name: 'perl(Foo::Bar)', epoch: 2, version: '1.0', release: '1', arch: 'noarch', url: 'not a url', summary: 'ünïcödé', license: 'GPL-1.0-or-later or artistic-1.0-perl' },
      ],
    },
  ],
};

const OPTS = { timestamp: '2026-01-02T03:04:05Z', uuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', toolVersion: '0.1.0' };

test('hostile package facts (duplicates, odd names, free-text licences and homepages) still give valid, unique documents', async () => {
  const cdx = toSbom(inspection, 'cyclonedx-json', OPTS) as { components: { 'bom-ref': string; purl?: string; externalReferences?: unknown }[] };
  assert.equal(await cycloneDxErrors(cdx), null);
  const refs = cdx.components.map((c) => c['bom-ref']);
  assert.equal(new Set(refs).size, refs.length);
  assert.equal(refs[2], `${refs[1]}#2`);
  assert.equal(cdx.components[3]!.purl, 'pkg:rpm/rocky/perl%28Foo::Bar%29@1.0-1?arch=noarch&distro=rocky-9.3&epoch=2');
  assert.equal(cdx.components[3]!.externalReferences, undefined, 'a homepage that is not a URL is left out');
  const spdx = toSbom(inspection, 'spdx-json', OPTS) as { name: string; documentNamespace: string; packages: { SPDXID: string; licenseDeclared: string }[]; hasExtractedLicensingInfos: { licenseId: string; extractedText: string }[] };
  assert.equal(spdxErrors(spdx), null);
  assert.deepEqual(spdx.packages.map((p) => p.SPDXID), [
    'SPDXRef-OperatingSystem-rocky-9.3',
    'SPDXRef-Package-kernel-5.14.0-362.el9',
    'SPDXRef-Package-kernel-5.14.0-362.el9-2',
    'SPDXRef-Package-perl-Foo-Bar-1.0-1',
  ]);
  assert.equal(spdx.name, 'odd name #1.qcow2');
  assert.equal(spdx.documentNamespace, 'https://spdx.org/spdxdocs/guestkit/odd%20name%20%231.qcow2-3f2504e0-4f89-41d3-9a0c-0305e82c3301');
  // free text as a LicenseRef with the text; an SPDX identifier as itself
  assert.deepEqual(spdx.hasExtractedLicensingInfos.map((l) => [l.licenseId, l.extractedText]), [
    ['LicenseRef-GPLv2-and-Redistributable-no-modification-permitted', 'GPLv2 and Redistributable, no modification permitted'],
  ]);
  assert.deepEqual(spdx.packages.map((p) => p.licenseDeclared), ['NOASSERTION', 'LicenseRef-GPLv2-and-Redistributable-no-modification-permitted', 'GPL-2.0-only', 'GPL-1.0-or-later OR Artistic-1.0-Perl']);
  const lic = (cdx.components as { licenses?: unknown }[]).map((c) => c.licenses);
  assert.deepEqual(lic.slice(1), [
    [{ license: { name: 'GPLv2 and Redistributable, no modification permitted' } }],
    [{ license: { id: 'GPL-2.0-only' } }],
    [{ expression: 'GPL-1.0-or-later OR Artistic-1.0-Perl' }],
  ]);
});

test('options: time and UUID checked; the tool version defaults to package.json; inspect output formats map to SBOM formats', () => {
  const bad = (f: () => unknown) => assert.throws(f, (e) => isGuestkitError(e, 'VALIDATION_ERROR'));
  bad(() => toSbom(inspection, 'cyclonedx-json', { ...OPTS, uuid: 'not-a-uuid' }));
  bad(() => toSbom(inspection, 'cyclonedx-json', { ...OPTS, timestamp: 'yesterday' }));
  bad(() => toSbom(inspection, 'xml' as never, OPTS));
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const doc = toSbom(inspection, 'cyclonedx-json', { timestamp: new Date('2026-05-06T07:08:09.999Z') }) as { serialNumber: string; metadata: { timestamp: string; tools: { components: { version: string }[] } } };
  assert.equal(doc.metadata.tools.components[0]!.version, pkg.version);
  assert.equal(doc.metadata.timestamp, '2026-05-06T07:08:09Z');
  assert.match(doc.serialNumber, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.deepEqual(['cyclonedx', 'spdx', 'json', 'yaml', null, undefined].map(sbomFormatOfOutput), ['cyclonedx-json', 'spdx-json', undefined, undefined, undefined, undefined]);
});
