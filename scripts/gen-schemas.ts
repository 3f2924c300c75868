// Writes schemas/<name>-v1.json from the zod protocol schemas (npm run schemas).
// test/protocol/schemas.test.ts fails when the committed files drift from the code.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCHEMA_NAMES, jsonSchemaText, schemaFileName } from '../src/protocol/json-schema.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');
mkdirSync(out, { recursive: true });
for (const name of SCHEMA_NAMES) {
  const file = join(out, schemaFileName(name));
  writeFileSync(file, jsonSchemaText(name));
  process.stdout.write(`wrote ${file}\n`);
}
