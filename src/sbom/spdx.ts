import type { SbomDocumentInput, SbomPackage } from './components.js';

/** SPDXIDs allow letters, digits, `.` and `-` after `SPDXRef-`. */
function idPart(s: string): string {
  return s.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';
}

const NOASSERTION = 'NOASSERTION';

/**
 * SPDX 2.3 JSON: the document DESCRIBES each operating system (`SPDXRef-OperatingSystem-…`,
 * purpose OPERATING_SYSTEM), which CONTAINS its packages, each with its purl as a
 * PACKAGE-MANAGER external reference. A declared licence that is an SPDX expression is written
 * as such; free text (`GPLv2+`) is carried as a LicenseRef with the database's text.
 */
export function spdx(input: SbomDocumentInput): Record<string, unknown> {
  const ids = new Set<string>();
  const id = (want: string): string => {
    let r = want;
    for (let n = 2; ids.has(r); n++) r = `${want}-${n}`;
    ids.add(r);
    return r;
  };
  const licenseRefs = new Map<string, string>();
  const licenseRef = (text: string): string => {
    let ref = licenseRefs.get(text);
    if (!ref) {
      ref = `LicenseRef-${idPart(text)}`;
      for (let n = 2; [...licenseRefs.values()].includes(ref); n++) ref = `LicenseRef-${idPart(text)}-${n}`;
      licenseRefs.set(text, ref);
    }
    return ref;
  };
  const packages: Record<string, unknown>[] = [];
  const relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[] = [];
  for (const os of input.systems) {
    const osId = id(`SPDXRef-OperatingSystem-${idPart(os.name)}${os.version ? `-${idPart(os.version)}` : ''}`);
    packages.push({
      SPDXID: osId,
      name: os.name,
      ...(os.version ? { versionInfo: os.version } : {}),
      ...(os.description ? { description: os.description } : {}),
      primaryPackagePurpose: 'OPERATING_SYSTEM',
      ...unknowns(),
    });
    relationships.push({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: osId });
    for (const p of os.packages) {
      const pid = id(`SPDXRef-Package-${idPart(p.name)}${p.version ? `-${idPart(p.version)}` : ''}`);
      packages.push(spdxPackage(pid, p, p.licenseExpression ?? (p.license ? licenseRef(p.license) : undefined)));
      relationships.push({ spdxElementId: osId, relationshipType: 'CONTAINS', relatedSpdxElement: pid });
    }
  }
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: input.imageName,
    documentNamespace: `https://spdx.org/spdxdocs/guestkit/${encodeURIComponent(input.imageName)}-${input.uuid}`,
    creationInfo: { created: input.timestamp, creators: [`Tool: ${input.tool.name}-${input.tool.version}`] },
    packages,
    relationships,
    ...(licenseRefs.size
      ? { hasExtractedLicensingInfos: [...licenseRefs].map(([text, licenseId]) => ({ licenseId, name: text, extractedText: text })) }
      : {}),
  };
}

function unknowns(): Record<string, unknown> {
  return { downloadLocation: NOASSERTION, filesAnalyzed: false, licenseConcluded: NOASSERTION, licenseDeclared: NOASSERTION, copyrightText: NOASSERTION };
}

function spdxPackage(spdxId: string, p: SbomPackage, license: string | undefined): Record<string, unknown> {
  const prop = (k: string) => p.properties.find(([n]) => n === `aquasecurity:trivy:${k}`)?.[1];
  const src = prop('SrcName');
  const srcVersion = [prop('SrcEpoch'), prop('SrcVersion')].filter(Boolean).join(':') + (prop('SrcRelease') ? `-${prop('SrcRelease')}` : '');
  return {
    SPDXID: spdxId,
    name: p.name,
    ...(p.version ? { versionInfo: p.version } : {}),
    supplier: p.supplier ? `Organization: ${p.supplier}` : NOASSERTION,
    ...(p.summary ? { summary: p.summary } : {}),
    ...(p.homepage && /^https?:\/\/\S+$/.test(p.homepage) ? { homepage: p.homepage } : {}),
    ...(src ? { sourceInfo: `built from source package ${src}${srcVersion ? ` ${srcVersion}` : ''}` } : {}),
    primaryPackagePurpose: p.kind === 'application' ? 'APPLICATION' : 'LIBRARY',
    ...unknowns(),
    ...(license ? { licenseDeclared: license } : {}),
    ...(p.purl ? { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl }] } : {}),
  };
}
