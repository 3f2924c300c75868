import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

/** The spec examples copied into the repo (test/protocol/examples). */
export function localExamplesDir(): string {
  return join(repoRoot(), 'test', 'protocol', 'examples');
}

/** The shared spec folder, a sibling of the repository, when it exists. */
export function siblingExamplesDir(): string | null {
  const dir = join(repoRoot(), '..', 'shared', 'spec', 'examples');
  return existsSync(dir) ? dir : null;
}

export function readExamples(dir: string): { name: string; doc: unknown }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((name) => ({ name, doc: JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown }));
}

/** A minimal valid inspect job, fresh each call. */
export function minimalJob(): Record<string, any> {
  return {
    version: '1.0',
    job_id: 'job-01JAB3Y7X5K4M8F9W2T6',
    created_at: '2026-01-30T10:00:00Z',
    kind: 'VMOperation',
    operation: 'guestkit.inspect',
    payload: {
      type: 'guestkit.inspect.v1',
      data: { image: { path: '/vms/a.qcow2', format: 'qcow2' } },
    },
  };
}
