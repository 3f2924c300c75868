import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import type { Inspection } from '../inspect/types.js';
import { GuestkitError } from '../protocol/errors.js';
import { sbomOperatingSystems } from './components.js';
import { cycloneDx } from './cyclonedx.js';
import { spdx } from './spdx.js';

export { formatPurl, packagePurl, type Purl } from './purl.js';

/** The SBOM formats: the CLI's `--format` names. */
export const SBOM_FORMATS = ['cyclonedx-json', 'spdx-json'] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];

/** inspect's `output.format` values that ask for an SBOM, and the document each one means. */
const OUTPUT_FORMAT_SBOM: Record<string, SbomFormat> = { cyclonedx: 'cyclonedx-json', spdx: 'spdx-json' };

export function sbomFormatOfOutput(format: string | null | undefined): SbomFormat | undefined {
  return format ? OUTPUT_FORMAT_SBOM[format] : undefined;
}

export interface SbomOptions {
  /** Creation time (ISO 8601); now when not given. */
  timestamp?: string | Date;
  /** The document's UUID (CycloneDX serialNumber, SPDX namespace); random when not given. */
  uuid?: string;
  /** The producing tool's version; guestkit's own when not given. */
  toolVersion?: string;
}

/** CycloneDX's serialNumber pattern, without its `urn:uuid:` prefix. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An SBOM document of one inspected image, as a JSON-ready object. */
export function toSbom(r: Inspection, format: SbomFormat, opts: SbomOptions = {}): Record<string, unknown> {
  const t = opts.timestamp === undefined ? new Date() : new Date(opts.timestamp);
  if (Number.isNaN(t.getTime())) throw new GuestkitError('VALIDATION_ERROR', `SBOM timestamp ${String(opts.timestamp)} is not a date`);
  if (opts.uuid !== undefined && !UUID.test(opts.uuid)) throw new GuestkitError('VALIDATION_ERROR', `SBOM uuid ${opts.uuid} is not a UUID (8-4-4-4-12 lower-case hex)`);
  const input = {
    imageName: basename(r.image[0]?.path ?? 'image'),
    // Whole seconds: SPDX's `created` has no fraction.
    timestamp: t.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    uuid: opts.uuid ?? randomUUID(),
    tool: { name: 'guestkit', version: opts.toolVersion ?? guestkitVersion() },
    systems: sbomOperatingSystems(r),
  };
  switch (format) {
    case 'cyclonedx-json':
      return cycloneDx(input);
    case 'spdx-json':
      return spdx(input);
    default:
      throw new GuestkitError('VALIDATION_ERROR', `unknown SBOM format ${String(format)}: one of ${SBOM_FORMATS.join(', ')}`);
  }
}

let version: string | undefined;

/** guestkit's package.json version, from src/sbom (tsx) or dist/src/sbom (compiled). */
function guestkitVersion(): string {
  if (version !== undefined) return version;
  const require = createRequire(import.meta.url);
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = require(rel) as { name?: string; version?: string };
      if (pkg.name === 'guestkit' && pkg.version) return (version = pkg.version);
    } catch {
      // not at this level
    }
  }
  return (version = '0.0.0');
}
