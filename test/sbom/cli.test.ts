import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { assertUsage, runCli, type CliResult } from '../helpers/cli.js';
import { fixture } from '../helpers/fixtures.js';
import { cycloneDxErrors, spdxErrors } from './validators.js';

const dir = mkdtempSync(join(tmpdir(), 'gk-sbom-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function assertFailed(r: CliResult, code: string, message: RegExp): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^guestkit: ${code}: `));
  assert.match(lines[0]!, message);
}

test('guestkit sbom IMAGE: CycloneDX 1.6 JSON on stdout by default, nothing on stderr', async () => {
  const r = await runCli(['sbom', fixture('inspect', 'debian.qcow2')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const doc = JSON.parse(r.stdout) as { specVersion: string; serialNumber: string; components: { type: string; name: string; version?: string }[] };
  assert.equal(doc.specVersion, '1.6');
  assert.match(doc.serialNumber, /^urn:uuid:[0-9a-f-]{36}$/);
  assert.equal(await cycloneDxErrors(doc), null);
  assert.deepEqual(doc.components.filter((c) => c.type === 'operating-system').map((c) => [c.name, c.version]), [['debian', '12']]);
  assert.equal(doc.components.filter((c) => c.type === 'library').length, 157);
});

test('guestkit sbom --format spdx-json -o FILE: the SPDX document in FILE, stdout empty', async () => {
  const out = join(dir, 'alpine.spdx.json');
  const r = await runCli(['sbom', '--format', 'spdx-json', '-o', out, fixture('inspect-guests', 'alpine.qcow2')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  const doc = JSON.parse(readFileSync(out, 'utf8')) as { spdxVersion: string; packages: { SPDXID: string }[] };
  assert.equal(doc.spdxVersion, 'SPDX-2.3');
  assert.equal(spdxErrors(doc), null);
  assert.ok(doc.packages.some((p) => p.SPDXID === 'SPDXRef-OperatingSystem-alpine-3.19.1'));
});

test('guestkit sbom --image-format: a raw image stated as such; a wrong statement is UNSUPPORTED_FORMAT', async () => {
  const r = await runCli(['sbom', '--image-format', 'raw', fixture('inspect', 'arch-guest.img')]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(JSON.parse(r.stdout).components.some((c: { purl?: string }) => c.purl?.startsWith('pkg:alpm/arch/')));
  assertFailed(await runCli(['sbom', '--image-format', 'vmdk', fixture('inspect', 'debian.qcow2')]), 'UNSUPPORTED_FORMAT', /stated format vmdk/);
});

test('guestkit sbom: a bad --format and a missing IMAGE are usage errors (exit 2) before any image is read', async () => {
  assertUsage(await runCli(['sbom', '--format', 'xml', fixture('inspect', 'debian.qcow2')]), /argument 'xml' is invalid.*cyclonedx-json, spdx-json/, { stdoutEmpty: true });
  assertUsage(await runCli(['sbom']), /missing required argument 'image'/, { stdoutEmpty: true });
});

test('guestkit sbom: missing image, an image with no OS and an unwritable -o are reported errors (exit 1)', async () => {
  assertFailed(await runCli(['sbom', join(dir, 'none.qcow2')]), 'IMAGE_NOT_FOUND', /none\.qcow2/);
  assertFailed(await runCli(['sbom', fixture('inspect-layouts', 'multi-b.qcow2')]), 'NO_OS_FOUND', /no operating system found/);
  assertFailed(await runCli(['sbom', '-o', join(dir, 'no-such-dir', 'x.json'), fixture('inspect', 'rpm-guest.qcow2')]), 'EXECUTION_ERROR', /cannot write .*no-such-dir/);
});

test('guestkit sbom --help: the formats and options, and sbom in the top-level command list', async () => {
  const r = await runCli(['sbom', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: guestkit sbom \[options\] <image>/);
  // commander wraps to the terminal width: compared with runs of blanks made one
  assert.match(r.stdout.replace(/\s+/g, ' '), /--format <format> SBOM format \(choices: "cyclonedx-json", "spdx-json", default: "cyclonedx-json"\)/);
  assert.match(r.stdout, /-o, --output <file>/);
  assert.match((await runCli(['--help'])).stdout, /\n {2}sbom \[options\] <image>\s+Software bill of materials/);
});
