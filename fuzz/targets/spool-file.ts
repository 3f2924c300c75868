import { jobIdFor, observabilityOf, operationOf } from '../../src/intake/spool/files.js';
import { EXECUTION_DEFAULTS } from '../../src/protocol/envelope.js';
import { GuestkitError } from '../../src/protocol/errors.js';
import { failedResult } from '../../src/protocol/result.js';
import { validateJob, validationError } from '../../src/protocol/validate.js';
import { specExamples } from '../lib/seeds.js';
import type { FuzzTarget } from '../lib/target.js';
import { expectTyped } from '../lib/typed.js';

const NAME = 'fuzz-job.json';

/**
 * One job file of the spool as SpoolIntake.consider / checkClaimed / refuse handle it (that code
 * is private to the intake; this is the same sequence over its exported helpers): UTF-8 text,
 * BOM stripped, JSON.parse (a SyntaxError is the intake's bad_json refusal), validateJob, and for
 * a refused file the failed result it writes (job id, operation, observability taken from the
 * document as it is) serialized.
 */
const target: FuzzTarget = {
  describe: 'spool job file: UTF-8, BOM, JSON.parse, validateJob, and the refusal result (jobIdFor, operationOf, observabilityOf, failedResult)',
  async run(data) {
    await expectTyped(() => {
      const text = data.toString('utf8');
      let doc: unknown;
      try {
        doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        refuse(undefined, new GuestkitError('VALIDATION_ERROR', `job file ${NAME} is not valid JSON: ${err.message}`, { phase: 'validation' }));
        return;
      }
      const v = validateJob(doc);
      if (!v.ok || !v.job) {
        refuse(doc, validationError(v.errors, `invalid job document ${NAME}`));
        return;
      }
      JSON.stringify(v.job);
    });
  },
  seeds: async () => specExamples(),
};

function refuse(doc: unknown, err: GuestkitError): void {
  const result = failedResult({
    job: { job_id: jobIdFor(doc, NAME), execution: { ...EXECUTION_DEFAULTS }, observability: observabilityOf(doc) },
    workerId: 'fuzz',
    startedAt: new Date(0),
    error: err,
  });
  operationOf(doc);
  JSON.stringify(result);
}
export default target;
