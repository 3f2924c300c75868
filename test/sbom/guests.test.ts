import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect, type Inspection } from '../../src/inspect/index.js';
import { osIdentity } from '../../src/sbom/purl.js';
import { toSbom } from '../../src/sbom/index.js';
import { fixture } from '../helpers/fixtures.js';
import { cycloneDxErrors, spdxErrors } from './validators.js';

/** Every fixture guest with an operating system: each package format, each layout, Windows. */
const GUESTS: [string, string, 'raw'?][] = [
  ['inspect', 'debian.qcow2'],
  ['inspect', 'rpm-guest.qcow2'],
  ['inspect', 'arch-guest.img', 'raw'],
  ['inspect', 'multiboot.qcow2'],
  ['inspect-guests', 'alpine.qcow2'],
  ['inspect-guests', 'centos5-sysv.qcow2'],
  ['inspect-guests', 'networkd.qcow2'],
  ['inspect-guests', 'rocky8-bls.qcow2'],
  ['inspect-guests', 'ubuntu-like.qcow2'],
  ['inspect-layouts', 'btrfs-guest.qcow2'],
  ['inspect-layouts', 'cis-lvm.qcow2'],
  ['inspect-layouts', 'damaged.qcow2'],
  ['inspect-layouts', 'lvm-guest.qcow2'],
  ['inspect-layouts', 'multi-a.qcow2'],
  ['inspect-layouts', 'rhel-xfs.qcow2'],
  ['inspect-layouts', 'suse-btrfs.qcow2'],
  ['inspect-layouts', 'usr-split.qcow2'],
  ['inspect-layouts', 'virtio.qcow2'],
  ['windows', 'server2019.qcow2'],
  ['windows', 'win11.vmdk'],
];

const OPTS = { timestamp: '2026-01-02T03:04:05Z', uuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', toolVersion: '0.1.0' };
const PURL_TYPE: Record<string, string> = { deb: 'deb', rpm: 'rpm', apk: 'apk', pacman: 'alpm' };

interface CdxComponent {
  'bom-ref': string;
  type: string;
  name: string;
  version?: string;
  purl?: string;
  supplier?: { name: string };
  properties?: { name: string; value: string }[];
}

/** Grype's and Trivy's input rules for CycloneDX: the OS from the operating-system component, each package by purl, the purl's distro = <ID>-<VERSION_ID>. */
function checkCycloneDx(r: Inspection, doc: { components: CdxComponent[]; dependencies: { ref: string; dependsOn: string[] }[] }): void {
  const refs = new Set(doc.components.map((c) => c['bom-ref']));
  assert.equal(refs.size, doc.components.length, 'bom-refs unique');
  const systems = doc.components.filter((c) => c.type === 'operating-system');
  assert.equal(systems.length, r.operating_systems.length, 'one operating-system component per OS');
  r.operating_systems.forEach((os, i) => {
    const c = systems[i]!;
    const apps = os.applications ?? [];
    const deps = doc.dependencies.find((d) => d.ref === c['bom-ref'])!;
    assert.equal(deps.dependsOn.length, apps.length, 'the OS depends on each of its packages');
    const pkgs = deps.dependsOn.map((ref) => doc.components.find((x) => x['bom-ref'] === ref)!);
    if (os.type === 'windows') {
      assert.match(c.name, /^Windows/);
      assert.equal(c.version, `${os.major_version}.${os.minor_version}.${os.build_id}`);
      apps.forEach((a, k) => {
        const p = pkgs[k]!;
        assert.deepEqual([p.type, p.name, p.version ?? '', p.supplier?.name], ['application', a.display_name, a.version, a.publisher]);
      });
      return;
    }
    const id = osIdentity(os);
    if (os.os_release) assert.deepEqual([c.name, c.version ?? ''], [os.os_release.id, os.os_release.version_id ?? '']);
    else assert.deepEqual([c.name, c.version ?? ''], [id.id, id.version]);
    const distro = id.version ? `${id.id}-${id.version}` : id.id;
    apps.forEach((a, k) => {
      const p = pkgs[k]!;
      assert.equal(p.type, 'library');
      assert.equal(p.name, a.name);
      assert.ok(p.purl!.startsWith(`pkg:${PURL_TYPE[os.package_format!]}/`), p.purl);
      assert.ok(p.purl!.includes(`distro=${encodeURIComponent(distro)}`), `${p.purl} names ${distro}`);
      const props = new Map(p.properties!.map((x) => [x.name, x.value]));
      assert.equal(props.get('aquasecurity:trivy:SrcName'), a.source?.name ?? a.source_package ?? undefined);
    });
  });
  for (const d of doc.dependencies) for (const ref of [d.ref, ...d.dependsOn]) assert.ok(refs.has(ref) || ref.startsWith('image:'), ref);
}

interface SpdxDoc {
  packages: { SPDXID: string; name: string; licenseDeclared: string; externalRefs?: { referenceType: string; referenceLocator: string }[] }[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
  hasExtractedLicensingInfos?: { licenseId: string }[];
}

function checkSpdx(r: Inspection, doc: SpdxDoc, cdxPurls: string[]): void {
  const ids = new Set(doc.packages.map((p) => p.SPDXID));
  assert.equal(ids.size, doc.packages.length, 'SPDXIDs unique');
  for (const id of ids) assert.match(id, /^SPDXRef-[A-Za-z0-9.-]+$/);
  const oses = doc.packages.filter((p) => p.SPDXID.startsWith('SPDXRef-OperatingSystem-'));
  assert.equal(oses.length, r.operating_systems.length);
  const rel = (t: string) => doc.relationships.filter((x) => x.relationshipType === t);
  assert.deepEqual(rel('DESCRIBES').map((x) => [x.spdxElementId, x.relatedSpdxElement]), oses.map((o) => ['SPDXRef-DOCUMENT', o.SPDXID]));
  const apps = r.operating_systems.reduce((n, o) => n + (o.applications?.length ?? 0), 0);
  assert.equal(rel('CONTAINS').length, apps);
  for (const x of doc.relationships) assert.ok(x.spdxElementId === 'SPDXRef-DOCUMENT' || ids.has(x.spdxElementId), x.spdxElementId);
  for (const x of doc.relationships) assert.ok(ids.has(x.relatedSpdxElement), x.relatedSpdxElement);
  const purls = doc.packages.flatMap((p) => (p.externalRefs ?? []).filter((e) => e.referenceType === 'purl').map((e) => e.referenceLocator));
  assert.deepEqual(purls, cdxPurls, 'the same purls as the CycloneDX document');
  const refs = new Set((doc.hasExtractedLicensingInfos ?? []).map((l) => l.licenseId));
  for (const p of doc.packages) if (p.licenseDeclared.startsWith('LicenseRef-')) assert.ok(refs.has(p.licenseDeclared), p.licenseDeclared);
}

for (const [dir, file, format] of GUESTS) {
  test(`SBOM of ${dir}/${file}: valid CycloneDX 1.6 and SPDX 2.3, read the way Grype and Trivy read them`, async () => {
    const r = await inspect({ disks: [fixture(dir, file)], ...(format ? { format } : {}) });
    assert.ok(r.operating_systems.length > 0);
    const cdx = toSbom(r, 'cyclonedx-json', OPTS);
    assert.equal(await cycloneDxErrors(cdx), null);
    checkCycloneDx(r, cdx as never);
    const sp = toSbom(r, 'spdx-json', OPTS);
    assert.equal(spdxErrors(sp), null);
    const cdxPurls = (cdx.components as CdxComponent[]).flatMap((c) => (c.purl ? [c.purl] : []));
    checkSpdx(r, sp as never, cdxPurls);
    assert.deepEqual(toSbom(r, 'cyclonedx-json', OPTS), cdx, 'the same input gives the same document');
  });
}

test('Debian SBOM: a binary from a differently named source carries it in upstream and in the Trivy properties; dpkg records no licence', async () => {
  const r = await inspect({ disks: [fixture('inspect', 'debian.qcow2')] });
  const doc = toSbom(r, 'cyclonedx-json', OPTS) as { components: CdxComponent[] & { licenses?: unknown }[] };
  const bsd = doc.components.find((c) => c.name === 'bsdutils')!;
  assert.equal(bsd.version, '1:2.38.1-5+deb12u3');
  assert.equal(bsd.purl, 'pkg:deb/debian/bsdutils@1:2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=util-linux%402.38.1-5%2Bdeb12u3');
  assert.deepEqual(bsd.properties, [
    { name: 'aquasecurity:trivy:PkgType', value: 'debian' },
    { name: 'aquasecurity:trivy:SrcName', value: 'util-linux' },
    { name: 'aquasecurity:trivy:SrcVersion', value: '2.38.1' },
    { name: 'aquasecurity:trivy:SrcRelease', value: '5+deb12u3' },
  ]);
  assert.ok(doc.components.every((c) => !('licenses' in c)));
});
