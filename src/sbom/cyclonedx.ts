import type { SbomDocumentInput } from './components.js';

/**
 * CycloneDX 1.6 JSON. Scanners read it this way: Trivy takes the OS from the one
 * `operating-system` component (name = os-release ID, version = VERSION_ID) and each package
 * from its purl; Grype does the same and also reads the purl's `distro` qualifier. The image is
 * the metadata component; `dependencies` say which OS holds which packages.
 */
export function cycloneDx(input: SbomDocumentInput): Record<string, unknown> {
  const refs = new Set<string>();
  // bom-refs must be unique in the document; a purl is, unless a database lists a package twice.
  const ref = (want: string): string => {
    let r = want;
    for (let n = 2; refs.has(r); n++) r = `${want}#${n}`;
    refs.add(r);
    return r;
  };
  const imageRef = ref(`image:${input.imageName}`);
  const components: Record<string, unknown>[] = [];
  const dependencies: { ref: string; dependsOn: string[] }[] = [];
  const osRefs: string[] = [];
  input.systems.forEach((os, i) => {
    const osRef = ref(`os:${i}:${os.name}@${os.version}`);
    osRefs.push(osRef);
    components.push({
      'bom-ref': osRef,
      type: 'operating-system',
      name: os.name,
      ...(os.version ? { version: os.version } : {}),
      ...(os.description ? { description: os.description } : {}),
    });
    const pkgRefs: string[] = [];
    for (const p of os.packages) {
      const r = ref(p.purl ?? `app:${i}:${p.name}@${p.version}`);
      pkgRefs.push(r);
      components.push({
        'bom-ref': r,
        type: p.kind,
        ...(p.supplier ? { supplier: { name: p.supplier }, publisher: p.supplier } : {}),
        name: p.name,
        ...(p.version ? { version: p.version } : {}),
        ...(p.summary ? { description: p.summary } : {}),
        ...(p.license ? { licenses: cdxLicenses(p.license, p.licenseExpression) } : {}),
        ...(p.purl ? { purl: p.purl } : {}),
        ...(p.homepage && isUri(p.homepage) ? { externalReferences: [{ type: 'website', url: p.homepage }] } : {}),
        ...(p.properties.length ? { properties: p.properties.map(([name, value]) => ({ name, value })) } : {}),
      });
    }
    dependencies.push({ ref: osRef, dependsOn: pkgRefs });
    for (const r of pkgRefs) dependencies.push({ ref: r, dependsOn: [] });
  });
  return {
    $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${input.uuid}`,
    version: 1,
    metadata: {
      timestamp: input.timestamp,
      tools: { components: [{ type: 'application', name: input.tool.name, version: input.tool.version }] },
      component: { 'bom-ref': imageRef, type: 'file', name: input.imageName },
    },
    components,
    dependencies: [{ ref: imageRef, dependsOn: osRefs }, ...dependencies],
  };
}

/** The schema types externalReferences.url as an iri-reference: a guest's free text may not be one. */
function isUri(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:[^\s<>"{}|\\^`]*$/i.test(s);
}

/** One SPDX identifier as `license.id`, a compound expression as `expression`, free text as `license.name`. */
function cdxLicenses(text: string, expression: string | undefined): unknown[] {
  if (expression && /^[A-Za-z0-9.-]+$/.test(expression)) return [{ license: { id: expression } }];
  if (expression) return [{ expression }];
  return [{ license: { name: text } }];
}
