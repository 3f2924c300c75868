import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { BudgetExceededError, budgetFromEnv, capBudget, INSPECT_BUDGET_DEFAULTS } from '../../src/inspect/budget.js';
import { inspect } from '../../src/inspect/index.js';
import { inspectHandler } from '../../src/jobs/handlers/inspect.js';
import type { HandlerContext, ProgressUpdate } from '../../src/jobs/types.js';
import type { JobDocument } from '../../src/protocol/envelope.js';
import { toProtocolError } from '../../src/protocol/errors.js';
import { InspectPayloadSchema } from '../../src/protocol/payloads/inspect.js';
import { fixture } from '../helpers/fixtures.js';
import { dropJob, job, makeSpool, startDaemon, waitForResult } from '../worker/helpers/daemon.js';

/*
 * The budgets counted below the collectors: bytes read from the image files (through the
 * image reader's own counters) and wall time (with an injected clock: each reading of it
 * advances 10 ms, so the test counts steps, never real time). Then the plumbing: the job
 * payload's options.budget, the worker's GUESTKIT_INSPECT_* ceilings, the handler.
 */

const debian = () => fixture('inspect', 'debian.qcow2');

test('defaults: a real guest is inspected whole, nothing marked partial', async () => {
  const r = await inspect({ disks: [debian()] });
  assert.equal(r.partial, undefined);
  assert.equal(r.budget_exceeded, undefined);
  assert.ok(r.stats.bytes_read < INSPECT_BUDGET_DEFAULTS.max_image_bytes);
  assert.ok(r.stats.files_opened! > 0 && r.stats.dir_entries! > 0 && r.stats.collected_bytes! > 0, JSON.stringify(r.stats));
});

test('max_image_bytes: spent before any OS is found → BUDGET_EXCEEDED; spent later → the OS so far, partial', async () => {
  await assert.rejects(
    inspect({ disks: [debian()], options: { budget: { max_image_bytes: 32 * 1024 } } }),
    (err: unknown) => err instanceof BudgetExceededError && err.code === 'BUDGET_EXCEEDED' && err.details?.budget === 'max_image_bytes',
  );
  const limit = 500 * 1024;
  const r = await inspect({ disks: [debian()], options: { budget: { max_image_bytes: limit } } });
  assert.equal(r.partial, true);
  assert.deepEqual(r.budget_exceeded?.map((t) => t.budget), ['max_image_bytes']);
  assert.equal(r.operating_systems.length, 1);
  assert.equal(r.operating_systems[0]!.distro, 'debian');
  // the read that crossed the limit is the last one: at most one read (a cluster or two) past it
  assert.ok(r.stats.bytes_read <= limit + 128 * 1024, `read ${r.stats.bytes_read} bytes`);
  const whole = await inspect({ disks: [debian()] });
  assert.ok(r.stats.reads < whole.stats.reads, `${r.stats.reads} reads, ${whole.stats.reads} for the whole inspection`);
});

test('max_wall_seconds with an injected clock: partial, and no step after the budget ran out', async () => {
  let calls = 0;
  const clock = { now: () => ++calls * 10 }; // 10 ms a step
  const r = await inspect({ disks: [debian()], options: { budget: { max_wall_seconds: 1 } }, clock });
  assert.equal(r.partial, true);
  assert.deepEqual(r.budget_exceeded?.map((t) => t.budget), ['max_wall_seconds']);
  assert.equal(r.operating_systems.length, 1);
  // 1 s is 100 steps: the clock is not read again once the budget is spent
  assert.ok(calls <= 102, `${calls} clock readings`);
  let failCalls = 0;
  await assert.rejects(
    inspect({ disks: [debian()], options: { budget: { max_wall_seconds: 1, on_exceeded: 'fail' } }, clock: { now: () => ++failCalls * 10 } }),
    (err: unknown) => err instanceof BudgetExceededError && err.details?.budget === 'max_wall_seconds',
  );
});

test('a budget that is not a positive number is a VALIDATION_ERROR', async () => {
  await assert.rejects(inspect({ disks: [debian()], options: { budget: { max_files_opened: 0 } } }), { code: 'VALIDATION_ERROR' });
});

test('job payload: options.budget is optional (old job files validate unchanged), checked when given', () => {
  const old = InspectPayloadSchema.parse({ image: { path: '/vms/a.qcow2', format: 'qcow2' }, options: { include_packages: true } });
  assert.equal(old.options.budget, undefined);
  const given = InspectPayloadSchema.parse({ image: { path: '/vms/a.qcow2', format: 'qcow2' }, options: { budget: { max_files_opened: 10, on_exceeded: 'fail' } } });
  assert.deepEqual(given.options.budget, { max_files_opened: 10, on_exceeded: 'fail' });
  for (const budget of [{ max_files_opened: -1 }, { max_files: 10 }, { on_exceeded: 'ignore' }, { max_wall_seconds: '60' }]) {
    assert.equal(InspectPayloadSchema.safeParse({ image: { path: '/vms/a.qcow2', format: 'qcow2' }, options: { budget } }).success, false, JSON.stringify(budget));
  }
});

test('worker ceilings: GUESTKIT_INSPECT_* set them; a job may ask for less, never more', () => {
  const ceiling = budgetFromEnv({ GUESTKIT_INSPECT_MAX_IMAGE_BYTES: '1000000', GUESTKIT_INSPECT_MAX_WALL_SECONDS: '30', GUESTKIT_INSPECT_ON_BUDGET_EXCEEDED: 'fail' });
  assert.deepEqual(ceiling, { max_image_bytes: 1_000_000, max_wall_seconds: 30, on_exceeded: 'fail' });
  assert.deepEqual(capBudget({ max_image_bytes: 5_000_000_000, max_wall_seconds: 10, max_files_opened: 10 ** 9 }, ceiling), {
    max_image_bytes: 1_000_000,
    max_wall_seconds: 10,
    max_files_opened: INSPECT_BUDGET_DEFAULTS.max_files_opened,
    on_exceeded: 'fail',
  });
  assert.deepEqual(capBudget(undefined, {}), {});
  assert.throws(() => budgetFromEnv({ GUESTKIT_INSPECT_MAX_DIR_ENTRIES: 'lots' }), { code: 'USAGE_ERROR' });
  assert.throws(() => budgetFromEnv({ GUESTKIT_INSPECT_ON_BUDGET_EXCEEDED: 'ignore' }), { code: 'USAGE_ERROR' });
});

/** Runs the guestkit.inspect handler in process, as a pool thread would. */
async function runHandler(data: unknown): Promise<{ result?: unknown; error?: unknown; events: ProgressUpdate[] }> {
  const prepared = inspectHandler().prepare(data);
  assert.ok(prepared.ok, JSON.stringify(!prepared.ok && prepared.issues));
  const events: ProgressUpdate[] = [];
  const ctx: HandlerContext = {
    job: {} as JobDocument,
    attempt: 1,
    workerId: 'w-test',
    signal: new AbortController().signal,
    progress: (u) => events.push(u),
    resolvedImages: [debian()],
    allowedRoots: [],
  };
  try {
    return { result: await prepared.job.run(ctx), events };
  } catch (error) {
    return { error, events };
  }
}

test('the inspect handler: the job asks for a budget under the worker ceiling from the environment', async () => {
  const saved = process.env.GUESTKIT_INSPECT_MAX_IMAGE_BYTES;
  process.env.GUESTKIT_INSPECT_MAX_IMAGE_BYTES = String(32 * 1024);
  try {
    // the job asks for more than the worker allows: the worker's ceiling wins
    const { error } = await runHandler({ image: { path: debian(), format: 'qcow2' }, options: { budget: { max_image_bytes: 10 ** 12 } } });
    const perr = toProtocolError(error);
    assert.equal(perr.code, 'BUDGET_EXCEEDED', JSON.stringify(perr));
    assert.equal(perr.details?.limit, 32 * 1024);
    assert.equal(perr.retry_recommended, false);
  } finally {
    if (saved === undefined) delete process.env.GUESTKIT_INSPECT_MAX_IMAGE_BYTES;
    else process.env.GUESTKIT_INSPECT_MAX_IMAGE_BYTES = saved;
  }
  // without a ceiling, the job's own small budget gives a partial result
  const { result, error } = await runHandler({ image: { path: debian(), format: 'qcow2' }, options: { budget: { max_image_bytes: 500 * 1024 } } });
  assert.equal(error, undefined, String(error));
  const data = (result as { data: { partial?: boolean; budget_exceeded?: { budget: string }[] } }).data;
  assert.equal(data.partial, true);
  assert.equal(data.budget_exceeded?.[0]?.budget, 'max_image_bytes');
});

test('a Windows guest: the hives read before max_image_bytes ran out give their facts, the rest is left out, partial', async () => {
  const image = fixture('windows', 'server2019.qcow2');
  const whole = await inspect({ disks: [image] });
  assert.equal(whole.partial, undefined);
  const limit = Math.round(whole.stats.bytes_read * 0.9);
  const r = await inspect({ disks: [image], options: { budget: { max_image_bytes: limit } } });
  assert.equal(r.partial, true);
  assert.deepEqual(r.budget_exceeded?.map((t) => t.budget), ['max_image_bytes']);
  const os = r.operating_systems[0]!;
  assert.equal(os.distro, 'windows');
  assert.equal(os.hostname, whole.operating_systems[0]!.hostname, 'facts read before the budget ran out are kept');
  assert.equal(os.services, undefined, 'facts after it are left out, not guessed');
  assert.ok(r.stats.reads < whole.stats.reads);
});

test('through the worker daemon: GUESTKIT_INSPECT_MAX_IMAGE_BYTES is a ceiling for every inspect job, in its pool threads', async () => {
  const image = debian();
  const spool = makeSpool();
  const d = startDaemon(spool, ['--worker-id', 'w-budget', '--allow-path', dirname(image)], { GUESTKIT_INSPECT_MAX_IMAGE_BYTES: String(500 * 1024) });
  try {
    await d.ready();
    // a job file of before budgets: valid, and inspected under the worker's ceiling
    dropJob(spool, job('budget-old-01', 'guestkit.inspect', { image: { path: image, format: 'qcow2' }, options: { include_packages: true } }));
    // one asking for more than the ceiling gets the ceiling; one asking for less gets its own
    dropJob(spool, job('budget-more-01', 'guestkit.inspect', { image: { path: image, format: 'qcow2' }, options: { budget: { max_image_bytes: 10 ** 12 } } }));
    dropJob(spool, job('budget-less-01', 'guestkit.inspect', { image: { path: image, format: 'qcow2' }, options: { budget: { max_image_bytes: 32 * 1024 } } }));
    for (const id of ['budget-old-01', 'budget-more-01']) {
      const r = await waitForResult(spool, id, 60_000);
      assert.equal(r.status, 'completed', JSON.stringify(r.error));
      const data = r.data as { partial?: boolean; budget_exceeded?: { budget: string; limit: number }[] };
      assert.equal(data.partial, true, id);
      assert.deepEqual(data.budget_exceeded?.map((t) => [t.budget, t.limit]), [['max_image_bytes', 500 * 1024]], id);
    }
    const less = await waitForResult(spool, 'budget-less-01', 60_000);
    assert.equal(less.status, 'failed');
    assert.equal(less.error?.code, 'BUDGET_EXCEEDED');
    assert.equal(less.error?.retry_recommended, false);
    assert.equal(less.error?.details?.limit, 32 * 1024);
  } finally {
    await d.stop();
  }
});

test('through the worker daemon: the config file\'s inspect_budget is the ceiling when no GUESTKIT_INSPECT_* is set', async () => {
  const image = debian();
  const spool = makeSpool();
  const cfg = join(spool.root, 'worker.yaml');
  writeFileSync(cfg, `inspect_budget:\n  max_image_bytes: ${64 * 1024}\n  on_exceeded: fail\n`);
  const d = startDaemon(spool, ['--worker-id', 'w-budget-yaml', '--allow-path', dirname(image), '--config', cfg]);
  try {
    await d.ready();
    dropJob(spool, job('budget-yaml-01', 'guestkit.inspect', { image: { path: image, format: 'qcow2' } }));
    const r = await waitForResult(spool, 'budget-yaml-01', 60_000);
    assert.equal(r.status, 'failed');
    assert.equal(r.error?.code, 'BUDGET_EXCEEDED');
    assert.equal(r.error?.details?.limit, 64 * 1024);
  } finally {
    await d.stop();
  }
});
