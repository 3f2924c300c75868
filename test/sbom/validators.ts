import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { REPO } from '../helpers/fixtures.js';

// ajv-formats is CommonJS: its function is the default export's default under NodeNext typing.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (a: Ajv) => Ajv;

const cdx = new Validation.JsonStrictValidator(Spec.Version.v1dot6);

/** null when the document is valid CycloneDX 1.6 (the official schema, bundled by @cyclonedx/cyclonedx-library), else its errors. */
export async function cycloneDxErrors(doc: unknown): Promise<unknown> {
  return (await cdx.validate(JSON.stringify(doc))) ?? null;
}

const spdxSchema = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'sbom', 'spdx-2.3-schema.json'), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const spdxValidate = ajv.compile(spdxSchema);

/** null when the document is valid against the official SPDX 2.3 JSON schema, else its errors. */
export function spdxErrors(doc: unknown): unknown {
  return spdxValidate(doc) ? null : spdxValidate.errors;
}
