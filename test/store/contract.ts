import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGuestkitError } from '../../src/protocol/errors.js';
import type { JobDocument, JobResult, WorkerRegistration } from '../../src/protocol/index.js';
import { isStoreUnavailable, parseLabelSelector, type JobStore } from '../../src/ports/job-store.js';

/**
 * The JobStore contract: every adapter (SQLite now, PostgreSQL next) runs these tests.
 * `open` gives a fresh, empty store; `reopen` (when the adapter is durable) a second
 * handle on the same data.
 */
export interface StoreFactory {
  name: string;
  open(): Promise<{ store: JobStore; reopen?: () => Promise<JobStore>; cleanup?: () => Promise<void> }>;
}

export function jobDoc(id: string, over: Partial<JobDocument> = {}): JobDocument {
  return {
    version: '1.0',
    job_id: id,
    created_at: '2026-01-30T16:00:00Z',
    kind: 'VMOperation',
    operation: 'system.echo',
    execution: { priority: 5, timeout_seconds: 60, max_attempts: 2, attempt: 1, cancellable: true },
    payload: { type: 'system.echo.v1', data: { id } },
    ...over,
  } as JobDocument;
}

const result = (id: string, status: JobResult['status'] = 'completed', data: unknown = { ok: true }): JobResult =>
  ({ job_id: id, status, worker_id: 'w1', execution_summary: { started_at: '2026-01-30T16:00:00Z', duration_seconds: 0, attempt: 1 }, data }) as JobResult;

function registration(id: string): WorkerRegistration {
  return {
    worker_id: id,
    version: '0.1.0',
    hostname: 'h',
    registered_at: '2026-01-30T16:00:00Z',
    capabilities: { operations: ['system.echo'], features: [], disk_formats: [], filesystems: [], tags: [] },
    resources: { max_concurrent_jobs: 2, max_disk_size_gb: 1, cpu_cores: 2, memory_gb: 1 },
    configuration: { privileged: false, worker_pool: 'default', data_locality: [] },
    status: { state: 'ready', current_jobs: 0, last_heartbeat: '2026-01-30T16:00:00Z' },
  } as WorkerRegistration;
}

export function jobStoreContract(f: StoreFactory): void {
  const withStore = (title: string, fn: (s: JobStore, reopen?: () => Promise<JobStore>) => Promise<void>) =>
    test(`${f.name} JobStore contract: ${title}`, async () => {
      const { store, reopen, cleanup } = await f.open();
      try {
        await fn(store, reopen);
      } finally {
        await store.close();
        await cleanup?.();
      }
    });

  withStore('submit is pending; claim → start → finish walks the state machine; illegal edges are refused', async (s) => {
    const sub = await s.submit({ job: jobDoc('c-walk-01'), source: 'c-walk-01.json', owner: 'w1' });
    assert.equal(sub.kind, 'accepted');
    assert.equal(sub.state.status, 'pending');
    assert.equal(sub.state.workerId, 'w1');
    assert.deepEqual((await s.get('c-walk-01'))!.job, jobDoc('c-walk-01'), 'the document comes back as submitted');
    const claim = await s.claim('c-walk-01', 'w1');
    assert.ok(claim.kind === 'claimed' && !claim.resumed && claim.nextSequence === 0);
    assert.deepEqual(await s.start('c-walk-01', 'w1'), { kind: 'started', attempt: 1 });
    await assert.rejects(s.start('c-walk-01', 'w1'), (e) => isGuestkitError(e) && /illegal state change running → running/.test(e.message) && !isStoreUnavailable(e));
    await s.finish('c-walk-01', 'completed', result('c-walk-01'));
    await assert.rejects(s.transition('c-walk-01', 'running'), /illegal state change completed → running/);
    assert.deepEqual(await s.result('c-walk-01'), result('c-walk-01'));
    assert.deepEqual((await s.transitions('c-walk-01')).map((t) => `${t.from ?? ''}>${t.to}`), ['>pending', 'pending>assigned', 'assigned>running', 'running>completed']);
    const rec = (await s.get('c-walk-01'))!;
    assert.equal(rec.status, 'completed');
    assert.equal(rec.workerId, null);
    assert.ok(rec.finishedAt !== null);
    assert.deepEqual((await s.attempts('c-walk-01')).map((a) => [a.attempt, a.workerId, a.status]), [[1, 'w1', 'completed']]);
    // a finished job id submitted again is a duplicate; so is a claim of it
    assert.equal((await s.submit({ job: jobDoc('c-walk-01') })).kind, 'duplicate');
    assert.equal((await s.claim('c-walk-01', 'w2')).kind, 'duplicate');
    await assert.rejects(s.claim('c-missing-01', 'w1'), (e) => isGuestkitError(e, 'NOT_FOUND'));
  });

  withStore('a job held by another worker is not taken over; a pending one is, and resumes its attempt count', async (s) => {
    await s.submit({ job: jobDoc('c-take-01') });
    await s.claim('c-take-01', 'w1');
    await s.start('c-take-01', 'w1');
    assert.equal((await s.claim('c-take-01', 'w2')).kind, 'duplicate');
    assert.equal((await s.submit({ job: jobDoc('c-take-01'), owner: 'w2' })).kind, 'duplicate');
    await s.transition('c-take-01', 'pending', { workerId: null, attemptOutcome: 'lost', errorCode: 'WORKER_LOST' });
    const again = await s.submit({ job: jobDoc('c-take-01'), owner: 'w2', source: 'again.json' });
    assert.ok(again.kind === 'accepted' && again.resumed);
    assert.equal(again.state.source, 'again.json');
    const claim = await s.claim('c-take-01', 'w2');
    assert.ok(claim.kind === 'claimed' && claim.resumed);
    assert.deepEqual(await s.start('c-take-01', 'w2'), { kind: 'started', attempt: 2 });
    // a drained attempt is refunded
    await s.transition('c-take-01', 'pending', { workerId: null, refundAttempt: true, attemptOutcome: 'interrupted' });
    assert.equal((await s.get('c-take-01'))!.attempt, 1);
    assert.deepEqual((await s.attempts('c-take-01')).map((a) => [a.attempt, a.workerId, a.status]), [[1, 'w1', 'lost'], [2, 'w2', 'interrupted']]);
    // minAttempt (the document's execution.attempt) wins when higher
    await s.claim('c-take-01', 'w3');
    assert.deepEqual(await s.start('c-take-01', 'w3', { minAttempt: 5 }), { kind: 'started', attempt: 5 });
  });

  withStore('begin claims and starts in one step; duplicates and idempotency answer as claim and start do', async (s) => {
    await s.submit({ job: jobDoc('c-begin-01') });
    const b = await s.begin('c-begin-01', 'w1', { source: 'b.json' });
    assert.ok(b.kind === 'claimed' && b.start.kind === 'started' && b.start.attempt === 1 && b.nextSequence === 0);
    assert.equal(b.state.source, 'b.json');
    assert.deepEqual((await s.transitions('c-begin-01')).map((t) => t.to), ['pending', 'assigned', 'running']);
    assert.equal((await s.begin('c-begin-01', 'w2')).kind, 'duplicate');
    const idem = (id: string) => jobDoc(id, { execution: { ...jobDoc(id).execution, idempotency_key: 'bk' } });
    await s.submit({ job: idem('c-begin-02') });
    await s.submit({ job: idem('c-begin-03') });
    assert.equal(((await s.begin('c-begin-02', 'w1', { idempotency: { scope: '', key: 'bk' } })) as { start: { kind: string } }).start.kind, 'started');
    const held = await s.begin('c-begin-03', 'w1', { idempotency: { scope: '', key: 'bk' } });
    assert.ok(held.kind === 'claimed' && held.start.kind === 'held' && held.start.holderJobId === 'c-begin-02');
    assert.equal((await s.get('c-begin-03'))!.status, 'assigned', 'a refused start leaves the job claimed, to be finished');
  });

  withStore('releaseInterrupted refunds the open attempt of this worker only; unassign frees a pending job', async (s) => {
    await s.submit({ job: jobDoc('c-int-01'), owner: 'w1' });
    await s.claim('c-int-01', 'w1');
    await s.start('c-int-01', 'w1');
    await s.releaseInterrupted('c-int-01', 'w2');
    assert.equal((await s.get('c-int-01'))!.status, 'running', 'another worker cannot release it');
    await s.releaseInterrupted('c-int-01', 'w1');
    const rec = (await s.get('c-int-01'))!;
    assert.equal(rec.status, 'pending');
    assert.equal(rec.attempt, 0);
    assert.equal(rec.workerId, null);
    await s.submit({ job: jobDoc('c-int-02'), owner: 'w1' });
    assert.deepEqual((await s.activeJobsOf('w1')).map((r) => r.job.job_id), ['c-int-02']);
    await s.unassign('c-int-02');
    assert.deepEqual(await s.activeJobsOf('w1'), []);
  });

  withStore('idempotency keys: taken, replayed once completed, refused while held, freed on failure, scoped by namespace', async (s) => {
    const key = (id: string, ns = 'ns') => jobDoc(id, { metadata: { namespace: ns }, execution: { ...jobDoc(id).execution, idempotency_key: 'k' } } as Partial<JobDocument>);
    const begin = async (id: string, ns = 'ns') => {
      await s.submit({ job: key(id, ns) });
      await s.claim(id, 'w1');
      return s.start(id, 'w1', { idempotency: { scope: ns, key: 'k' } });
    };
    assert.equal((await begin('c-idem-01')).kind, 'started');
    assert.deepEqual(await begin('c-idem-02'), { kind: 'held', holderJobId: 'c-idem-01' });
    assert.equal((await begin('c-idem-03', 'other')).kind, 'started', 'another namespace has its own keys');
    await s.finish('c-idem-01', 'completed', result('c-idem-01', 'completed', { answer: 42 }));
    const replay = await s.start('c-idem-02', 'w1', { idempotency: { scope: 'ns', key: 'k' } });
    assert.ok(replay.kind === 'replay' && replay.originalJobId === 'c-idem-01');
    assert.deepEqual(replay.result.data, { answer: 42 });
    // a failed holder frees its key
    await s.finish('c-idem-03', 'failed', result('c-idem-03', 'failed'));
    assert.equal((await begin('c-idem-04', 'other')).kind, 'started');
  });

  withStore('events keep their order, continue their numbering, and can be read after a sequence', async (s) => {
    await s.submit({ job: jobDoc('c-ev-01') });
    await s.claim('c-ev-01', 'w1');
    for (let i = 0; i < 5; i++) await s.appendEvent({ job_id: 'c-ev-01', sequence: i, timestamp: '2026-01-30T16:00:00Z', phase: 'validation', message: `m${i}` });
    assert.deepEqual((await s.events('c-ev-01')).map((e) => e.message), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.deepEqual((await s.events('c-ev-01', 2)).map((e) => e.sequence), [3, 4]);
    assert.equal(await s.nextEventSequence('c-ev-01'), 5);
    assert.equal(await s.nextEventSequence('c-ev-none'), 0);
    await s.transition('c-ev-01', 'pending', { workerId: null });
    const claim = await s.claim('c-ev-01', 'w2');
    assert.ok(claim.kind === 'claimed' && claim.nextSequence === 5, 'a resumed job continues its numbering');
  });

  withStore('list: filters by status, operation, namespace, labels and time; cursor pages are stable and complete', async (s) => {
    const labels = [{ env: 'prod', tier: 'web' }, { env: 'prod', tier: 'db' }, { env: 'dev' }, {}];
    for (let i = 0; i < 24; i++) {
      const doc = jobDoc(`c-list-${String(i).padStart(2, '0')}`, {
        operation: i % 3 === 0 ? 'guestkit.inspect' : 'system.echo',
        metadata: { namespace: i % 2 === 0 ? 'team-a' : 'team-b', labels: labels[i % 4] },
      } as Partial<JobDocument>);
      await s.submit({ job: doc });
    }
    await s.claim('c-list-00', 'w1');
    const all = await s.list({ limit: 1000 });
    assert.equal(all.items.length, 24);
    assert.equal(all.next, undefined);
    // pages of 5 cover everything once, in the same order
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await s.list({ limit: 5, cursor });
      seen.push(...page.items.map((r) => r.job.job_id));
      cursor = page.next;
      assert.ok(++pages <= 5, 'bounded number of pages');
    } while (cursor);
    assert.deepEqual(seen, all.items.map((r) => r.job.job_id));
    assert.equal(new Set(seen).size, 24);
    assert.deepEqual((await s.list({ status: 'assigned' })).items.map((r) => r.job.job_id), ['c-list-00']);
    assert.equal((await s.list({ status: ['pending', 'assigned'] })).items.length, 24);
    assert.equal((await s.list({ operation: 'guestkit.inspect' })).items.length, 8);
    assert.equal((await s.list({ namespace: 'team-a' })).items.length, 12);
    assert.equal((await s.list({ labels: parseLabelSelector('env=prod') })).items.length, 12);
    assert.equal((await s.list({ labels: parseLabelSelector('env=prod,tier!=db') })).items.length, 6);
    assert.equal((await s.list({ labels: parseLabelSelector('tier') })).items.length, 12);
    assert.equal((await s.list({ labels: parseLabelSelector('tier!=db') })).items.length, 18, '!= matches jobs without the label');
    assert.equal((await s.list({ queuedFrom: Date.now() + 60_000 })).items.length, 0);
    assert.equal((await s.list({ queuedTo: Date.now() + 60_000 })).items.length, 24);
    await assert.rejects(s.list({ cursor: 'not-a-cursor' }), (e) => isGuestkitError(e, 'VALIDATION_ERROR'));
    assert.throws(() => parseLabelSelector('env=prod,=x'), (e) => isGuestkitError(e, 'VALIDATION_ERROR'));
  });

  withStore('workers: registration, heartbeats and the live set', async (s) => {
    await s.registerWorker(registration('w-live'));
    await s.registerWorker(registration('w-gone'));
    await s.heartbeat('w-gone', 'offline', 0);
    const rec = (await s.worker('w-live'))!;
    assert.equal(rec.registration.worker_id, 'w-live');
    assert.equal(rec.state, 'ready');
    assert.deepEqual(await s.liveWorkers(Date.now() - 60_000), ['w-live']);
    assert.deepEqual(await s.liveWorkers(Date.now() + 60_000), []);
    assert.equal(await s.worker('w-none'), undefined);
    await s.probe('w-live', 'busy', 2);
    assert.equal((await s.worker('w-live'))!.state, 'busy');
    assert.equal(s.unavailable, undefined);
  });

  withStore('many writes at once are all durable and each refusal stays its own', async (s, reopen) => {
    const ids = Array.from({ length: 200 }, (_, i) => `c-many-${String(i).padStart(3, '0')}`);
    const outs = await Promise.allSettled([...ids.map((id) => s.submit({ job: jobDoc(id) })), s.start('c-many-000', 'w1')]);
    assert.equal(outs.filter((o) => o.status === 'fulfilled').length, 200);
    assert.equal(outs.at(-1)!.status, 'rejected', 'an illegal start fails alone');
    if (!reopen) return;
    const again = await reopen();
    try {
      assert.equal((await again.list({ limit: 1000 })).items.length, 200);
    } finally {
      await again.close();
    }
  });

  withStore('list: image path prefix, text search, and the default namespace', async (s) => {
    const img = (id: string, path: string, over: Partial<JobDocument> = {}) =>
      jobDoc(id, { operation: 'guestkit.inspect', payload: { type: 'guestkit.inspect.v1', data: { image: { path, format: 'qcow2' } } }, ...over } as Partial<JobDocument>);
    await s.submit({ job: img('c-img-01', '/data/vm/web-01.qcow2', { metadata: { name: 'Web One', labels: { app: 'Shop' } } } as Partial<JobDocument>) });
    await s.submit({ job: img('c-img-02', '/data/vm/db_01.qcow2', { metadata: { namespace: 'default' } } as Partial<JobDocument>) });
    await s.submit({ job: img('c-img-03', '/data/vmx/other%.qcow2', { metadata: { namespace: 'team-a' } } as Partial<JobDocument>) });
    const ids = async (q: Parameters<JobStore['list']>[0]) => (await s.list(q)).items.map((r) => r.job.job_id).sort();
    assert.deepEqual(await ids({ imagePrefix: '/data/vm/' }), ['c-img-01', 'c-img-02']);
    assert.deepEqual(await ids({ imagePrefix: '/data/vm' }), ['c-img-01', 'c-img-02', 'c-img-03']);
    assert.deepEqual(await ids({ imagePrefix: '/data/vmx/other%' }), ['c-img-03'], '% is literal in a prefix');
    assert.deepEqual(await ids({ search: 'web one' }), ['c-img-01'], 'the name, case-insensitively');
    assert.deepEqual(await ids({ search: 'shop' }), ['c-img-01'], 'labels');
    assert.deepEqual(await ids({ search: 'DB_01' }), ['c-img-02'], 'image path; _ is literal');
    assert.deepEqual(await ids({ search: 'img-03' }), ['c-img-03'], 'job id');
    assert.deepEqual(await ids({ namespace: 'default' }), ['c-img-01', 'c-img-02'], 'no namespace is the default one');
  });

  withStore('an exclusive submit accepts new ids only, even while the known one waits', async (s) => {
    assert.equal((await s.submit({ job: jobDoc('c-excl-01'), exclusive: true })).kind, 'accepted');
    const again = await s.submit({ job: jobDoc('c-excl-01', { payload: { type: 'system.echo.v1', data: { other: 1 } } } as Partial<JobDocument>), exclusive: true });
    assert.equal(again.kind, 'duplicate');
    assert.equal(again.state.status, 'pending');
    assert.deepEqual((await s.get('c-excl-01'))!.job.payload.data, { id: 'c-excl-01' }, 'the stored document is untouched');
    assert.equal((await s.submit({ job: jobDoc('c-excl-01') })).kind, 'accepted', 'a resume (restart recovery) still takes it');
  });

  withStore('remove: finished jobs only, with everything kept about them', async (s) => {
    await s.submit({ job: jobDoc('c-rm-01') });
    assert.equal(await s.remove('c-rm-01'), 'active');
    await s.claim('c-rm-01', 'w1');
    await s.start('c-rm-01', 'w1');
    assert.equal(await s.remove('c-rm-01'), 'active');
    await s.appendEvent({ job_id: 'c-rm-01', sequence: 0, timestamp: '2026-01-30T16:00:00Z', phase: 'validation', message: 'x' });
    await s.finish('c-rm-01', 'failed', result('c-rm-01', 'failed'));
    assert.equal(await s.remove('c-rm-01'), 'removed');
    assert.equal(await s.get('c-rm-01'), undefined);
    assert.equal(await s.result('c-rm-01'), undefined);
    assert.deepEqual(await s.events('c-rm-01'), []);
    assert.deepEqual(await s.attempts('c-rm-01'), []);
    assert.deepEqual(await s.transitions('c-rm-01'), []);
    assert.equal(await s.remove('c-rm-01'), 'unknown');
    // the id is free again
    assert.equal((await s.submit({ job: jobDoc('c-rm-01') })).kind, 'accepted');
  });

  withStore('namespaceLoad counts waiting, running and recent submissions per namespace', async (s) => {
    const before = Date.now();
    for (let i = 0; i < 5; i++) await s.submit({ job: jobDoc(`c-load-a${i}`, { metadata: { namespace: 'team-a' } } as Partial<JobDocument>) });
    for (let i = 0; i < 3; i++) await s.submit({ job: jobDoc(`c-load-d${i}`) });
    await s.begin('c-load-a0', 'w1');
    await s.claim('c-load-a1', 'w1');
    await s.begin('c-load-a2', 'w1');
    await s.finish('c-load-a2', 'completed', result('c-load-a2'));
    assert.deepEqual(await s.namespaceLoad('team-a', before), { queued: 2, running: 2, submittedSince: 5 });
    assert.deepEqual(await s.namespaceLoad('default', before), { queued: 3, running: 0, submittedSince: 3 });
    assert.deepEqual(await s.namespaceLoad('team-a', Date.now() + 60_000), { queued: 2, running: 2, submittedSince: 0 });
    assert.deepEqual(await s.namespaceLoad('nobody', 0), { queued: 0, running: 0, submittedSince: 0 });
  });

  withStore('findByIdempotencyKey: the newest job of that namespace with the key', async (s) => {
    const keyed = (id: string, key: string, ns?: string) =>
      jobDoc(id, { execution: { priority: 5, timeout_seconds: 60, max_attempts: 1, attempt: 1, cancellable: true, idempotency_key: key }, ...(ns ? { metadata: { namespace: ns } } : {}) } as Partial<JobDocument>);
    await s.submit({ job: keyed('c-idk-01', 'k1', 'team-a') });
    await s.submit({ job: keyed('c-idk-02', 'k1', 'team-b') });
    await s.submit({ job: keyed('c-idk-03', 'k2') });
    assert.equal((await s.findByIdempotencyKey('team-a', 'k1'))?.job.job_id, 'c-idk-01');
    assert.equal((await s.findByIdempotencyKey('team-b', 'k1'))?.job.job_id, 'c-idk-02');
    assert.equal((await s.findByIdempotencyKey('default', 'k2'))?.job.job_id, 'c-idk-03');
    assert.equal(await s.findByIdempotencyKey('team-a', 'k2'), undefined);
  });

  withStore('keyed submits: one idempotency key makes one job, however many submit it at once and through how many handles', async (s, reopen) => {
    const keyed = (id: string, key: string, ns?: string) =>
      jobDoc(id, { execution: { priority: 5, timeout_seconds: 60, max_attempts: 1, attempt: 1, cancellable: true, idempotency_key: key }, ...(ns ? { metadata: { namespace: ns } } : {}) } as Partial<JobDocument>);
    const other = reopen ? await reopen() : s;
    try {
      const outs = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? other : s).submit({ job: keyed(`c-key-${i}`, 'race', 'team-a'), source: 'http', exclusive: true, keyed: true })));
      const accepted = outs.flatMap((o, i) => (o.kind === 'accepted' ? [`c-key-${i}`] : []));
      assert.equal(accepted.length, 1, `one job for the key, got ${JSON.stringify(outs.map((o) => o.kind))}`);
      for (const o of outs) if (o.kind !== 'accepted') assert.deepEqual([o.kind, o.kind === 'keyed' ? o.prior.job.job_id : ''], ['keyed', accepted[0]]);
      const page = await s.list({ namespace: 'team-a', limit: 100 });
      assert.deepEqual(page.items.map((r) => r.job.job_id), accepted, 'nothing else was recorded');
      // the key counts per namespace, and in the default namespace with or without metadata
      assert.equal((await s.submit({ job: keyed('c-key-b', 'race', 'team-b'), keyed: true })).kind, 'accepted');
      assert.equal((await s.submit({ job: keyed('c-key-d1', 'dflt'), keyed: true })).kind, 'accepted');
      const d2 = await other.submit({ job: keyed('c-key-d2', 'dflt', 'default'), keyed: true });
      assert.deepEqual([d2.kind, d2.kind === 'keyed' ? d2.prior.job.job_id : ''], ['keyed', 'c-key-d1']);
      // a failed holder frees the key; a completed one keeps it; unkeyed submits never look
      await s.begin(accepted[0]!, 'w1');
      await s.finish(accepted[0]!, 'failed', result(accepted[0]!, 'failed'));
      assert.equal((await other.submit({ job: keyed('c-key-again', 'race', 'team-a'), keyed: true })).kind, 'accepted');
      await s.begin('c-key-again', 'w1');
      await s.finish('c-key-again', 'completed', result('c-key-again'));
      const after = await s.submit({ job: keyed('c-key-late', 'race', 'team-a'), keyed: true });
      assert.deepEqual([after.kind, after.kind === 'keyed' ? after.prior.status : ''], ['keyed', 'completed']);
      assert.equal((await s.submit({ job: keyed('c-key-plain', 'race', 'team-a') })).kind, 'accepted');
      // the holder itself posted again is no key conflict (the job id decides)
      assert.equal((await s.submit({ job: keyed('c-key-d1', 'dflt'), keyed: true, exclusive: true })).kind, 'duplicate');
    } finally {
      if (other !== s) await other.close();
    }
  });

  withStore('workers() lists every registration', async (s) => {
    await s.registerWorker(registration('w-b'));
    await s.registerWorker(registration('w-a'));
    await s.heartbeat('w-b', 'offline', 0);
    assert.deepEqual((await s.workers()).map((w) => [w.workerId, w.state]), [['w-a', 'ready'], ['w-b', 'offline']]);
  });

  withStore('holds: a held job is recorded with its hold and dependency edges; resubmits report the hold; swapHold is a compare-and-set', async (s) => {
    const child = jobDoc('c-hold-child', { execution: { priority: 5, timeout_seconds: 60, max_attempts: 1, attempt: 1, cancellable: true, depends_on: ['c-hold-p1', 'c-hold-p2'] } } as Partial<JobDocument>);
    await s.submit({ job: jobDoc('c-hold-p1') });
    await s.submit({ job: jobDoc('c-hold-p2') });
    const sub = await s.submit({ job: child, source: 'http', hold: { kind: 'dependencies', reason: 'waiting for 2 parent job(s)' } });
    assert.equal(sub.kind, 'accepted');
    assert.deepEqual(sub.kind === 'accepted' && sub.hold, { kind: 'dependencies', reason: 'waiting for 2 parent job(s)' });
    assert.deepEqual((await s.get('c-hold-child'))?.hold, { kind: 'dependencies', reason: 'waiting for 2 parent job(s)' });
    assert.equal((await s.get('c-hold-p1'))?.hold, null);
    assert.deepEqual(await s.dependants('c-hold-p1'), ['c-hold-child']);
    assert.deepEqual(await s.dependants('c-hold-child'), []);
    assert.deepEqual((await s.heldJobs(10)).map((r) => r.job.job_id), ['c-hold-child']);
    // a resubmit (restart recovery) is told it is held: it must not be queued
    const again = await s.submit({ job: child, source: 'http' });
    assert.deepEqual(again.kind === 'accepted' && again.hold, { kind: 'dependencies', reason: 'waiting for 2 parent job(s)' });

    assert.equal(await s.swapHold('c-hold-child', 'capacity', null, 't0'), false, 'wrong hold kind');
    assert.equal(await s.swapHold('c-hold-child', 'dependencies', { kind: 'capacity', reason: 'no worker' }, 't1'), true);
    assert.equal(await s.swapHold('c-hold-child', 'dependencies', null, 't2'), false, 'another process moved it first');
    assert.equal(await s.swapHold('c-hold-child', 'capacity', null, 't3'), true);
    // the same call repeated after a lost answer sees its own change
    assert.equal(await s.swapHold('c-hold-child', 'capacity', null, 't3'), true);
    assert.equal(await s.swapHold('c-hold-child', 'capacity', null, 't4'), false);
    assert.equal((await s.get('c-hold-child'))?.hold, null);
    assert.deepEqual(await s.heldJobs(10), []);
    const plain = await s.submit({ job: child, source: 'http' });
    assert.equal(plain.kind === 'accepted' && plain.hold, undefined);
  });

  withStore('heldJobs pages oldest first and goes on after a cursor (the sweep walks every held job in turn)', async (s) => {
    for (let i = 0; i < 5; i++) await s.submit({ job: jobDoc(`c-hp-${i}`), hold: { kind: 'capacity', reason: 'no worker' } });
    await s.submit({ job: jobDoc('c-hp-free') });
    const ids = (rs: { job: JobDocument }[]) => rs.map((r) => r.job.job_id);
    const first = await s.heldJobs(2);
    assert.deepEqual(ids(first), ['c-hp-0', 'c-hp-1']);
    const at = (r: { queuedAt: number; job: JobDocument }) => ({ queuedAt: r.queuedAt, jobId: r.job.job_id });
    const second = await s.heldJobs(2, at(first[1]!));
    assert.deepEqual(ids(second), ['c-hp-2', 'c-hp-3']);
    const third = await s.heldJobs(2, at(second[1]!));
    assert.deepEqual(ids(third), ['c-hp-4']);
    assert.deepEqual(await s.heldJobs(2, at(third[0]!)), []);
  });

  withStore('holds: a held job that ends is held no more; removing it forgets its edges', async (s) => {
    await s.submit({ job: jobDoc('c-hend-p') });
    const child = jobDoc('c-hend-c', { execution: { priority: 5, timeout_seconds: 60, max_attempts: 1, attempt: 1, cancellable: true, depends_on: ['c-hend-p'] } } as Partial<JobDocument>);
    await s.submit({ job: child, hold: { kind: 'dependencies', reason: 'waiting' } });
    await s.claim('c-hend-c', 'w1');
    await s.finish('c-hend-c', 'cancelled', result('c-hend-c', 'cancelled'));
    const rec = await s.get('c-hend-c');
    assert.equal(rec?.status, 'cancelled');
    assert.equal(rec?.hold, null);
    assert.deepEqual(await s.heldJobs(10), []);
    assert.equal(await s.swapHold('c-hend-c', 'dependencies', null, 'tx'), false);
    assert.equal(await s.remove('c-hend-c'), 'removed');
    assert.deepEqual(await s.dependants('c-hend-p'), []);
  });
}
