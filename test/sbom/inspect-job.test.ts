import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Inspection } from '../../src/inspect/index.js';
import { inspectHandler } from '../../src/jobs/handlers/inspect.js';
import type { HandlerContext } from '../../src/jobs/types.js';
import { validateDocument } from '../../src/protocol/index.js';
import { fixture } from '../helpers/fixtures.js';
import { localExamplesDir, readExamples } from '../protocol/helpers.js';
import { cycloneDxErrors, spdxErrors } from './validators.js';

const dir = mkdtempSync(join(tmpdir(), 'gk-sbom-job-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function ctx(image: string): HandlerContext {
  return { job: {} as never, attempt: 1, workerId: 'w', signal: new AbortController().signal, progress: () => {}, resolvedImages: [image], allowedRoots: [] };
}

async function runInspect(image: string, format: string, dest: string): Promise<Inspection> {
  const prepared = inspectHandler().prepare({ image: { path: image, format: 'qcow2' }, output: { format, destination: dest } });
  assert.ok(prepared.ok, JSON.stringify(prepared));
  const out = await prepared.job.run(ctx(image));
  assert.deepEqual(out.outputs, { primary: dest });
  return out.data as Inspection;
}

test('guestkit.inspect with output.format cyclonedx / spdx: the destination holds the SBOM, the result stays the inspection', async () => {
  const image = fixture('inspect', 'rpm-guest.qcow2');
  const cdxPath = join(dir, 'rpm.cdx.json');
  const r = await runInspect(image, 'cyclonedx', cdxPath);
  assert.equal(r.operating_systems[0]!.distro, 'rocky');
  const cdx = JSON.parse(readFileSync(cdxPath, 'utf8')) as { bomFormat: string; components: { type: string; name: string; purl?: string }[] };
  assert.equal(cdx.bomFormat, 'CycloneDX');
  assert.equal(await cycloneDxErrors(cdx), null);
  assert.deepEqual(cdx.components.filter((c) => c.type === 'operating-system').map((c) => c.name), ['rocky']);
  assert.equal(cdx.components.filter((c) => c.purl?.startsWith('pkg:rpm/rocky/')).length, r.operating_systems[0]!.applications!.length);

  const spdxPath = join(dir, 'rpm.spdx.json');
  await runInspect(image, 'spdx', spdxPath);
  const spdx = JSON.parse(readFileSync(spdxPath, 'utf8')) as { spdxVersion: string };
  assert.equal(spdx.spdxVersion, 'SPDX-2.3');
  assert.equal(spdxErrors(spdx), null);

  const jsonPath = join(dir, 'rpm.json');
  await runInspect(image, 'json', jsonPath);
  assert.equal((JSON.parse(readFileSync(jsonPath, 'utf8')) as Inspection).operating_systems[0]!.distro, 'rocky', 'json still writes the inspection');
});

test('job protocol: output.format takes cyclonedx and spdx for guestkit.inspect; the earlier worker\'s job files still validate; other values do not', () => {
  const examples = readExamples(localExamplesDir()).filter((e) => e.name.includes('inspect'));
  assert.ok(examples.length >= 3);
  for (const { name, doc } of examples) assert.deepEqual(validateDocument(doc).errors, [], name);
  const full = examples.find((e) => e.name === 'inspect-full.json')!.doc as { payload: { data: { output: { format: string } } } };
  assert.equal(full.payload.data.output.format, 'json');
  for (const format of ['cyclonedx', 'spdx', 'yaml']) {
    const doc = structuredClone(full);
    doc.payload.data.output.format = format;
    assert.deepEqual(validateDocument(doc).errors, [], format);
  }
  const bad = structuredClone(full);
  bad.payload.data.output.format = 'cyclonedx-xml';
  const v = validateDocument(bad);
  assert.equal(v.ok, false);
  assert.equal(v.errors[0]!.path, 'payload.data.output.format');
});
