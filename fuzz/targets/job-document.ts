import { formatIssue } from '../../src/protocol/issues.js';
import { parseJsonText, validateDocument, validationError } from '../../src/protocol/validate.js';
import { specExamples } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

const target: FuzzTarget = {
  describe: 'job document: bytes → JSON (parseJsonText) → envelope and payload validation (validateDocument), issues formatted',
  async run(data) {
    await expectTyped(() => {
      const doc = parseJsonText(data.toString('utf8'));
      const v = validateDocument(doc);
      for (const i of [...v.errors, ...v.warnings]) formatIssue(i);
      if (!v.ok) throw validationError(v.errors);
      JSON.stringify(v.job);
    });
  },
  seeds: async () => specExamples(),
};
export default target;
