import type { Span } from '@opentelemetry/api';
import { verifySha256 } from '../disk/checksum.js';
import type { HandlerDefinition, HandlerOutput, PreparedJob, ProgressUpdate } from '../jobs/types.js';
import type { JobDocument } from '../protocol/envelope.js';
import { GuestkitError, toProtocolError, type ProtocolError } from '../protocol/errors.js';
import { SerializedData } from '../protocol/result-json.js';
import { endSpan, jobParentContext, spanContextOf, startSpan } from '../observability/tracing.js';
import type { PathPolicy } from './path-policy.js';
import type { ThreadPool } from './thread-pool.js';
import { cpuSecondsOf, imageBytes, usageFigures, type AttemptUsage, type ThreadUsage } from './usage.js';

/** Why an attempt was stopped from outside its handler. `store`: what it recorded was lost; it runs again. */
export type AbortKind = 'timeout' | 'cancel' | 'drain' | 'store';

/** The abort reason an attempt's signal carries. */
export class AttemptAborted extends GuestkitError {
  constructor(readonly kind: AbortKind, message: string) {
    super(kind === 'cancel' ? 'CANCELLED' : kind === 'timeout' ? 'TIMEOUT' : 'EXECUTION_ERROR', message, { phase: 'execution' });
  }
}

export interface Attempt {
  job: JobDocument;
  attempt: number;
  handler: HandlerDefinition;
  prepared: PreparedJob;
  /** Aborted with an AttemptAborted reason (cancel, drain, store loss). */
  signal: AbortSignal;
  /** The attempt's time budget (timeout_seconds, cut short by the deadline). */
  timeoutMs: number;
  /** Its result is also written pretty-printed (a result file): the thread serializes data both ways. */
  prettyData?: boolean;
  /** The job's span: validation and execution spans hang below it. */
  span: Span;
  progress(u: ProgressUpdate): void;
}

/**
 * `usage`: what the attempt consumed (also merged into a completed output's metrics).
 * Optional for runners that measure nothing (test fakes).
 */
export type AttemptOutcome =
  | { kind: 'completed'; output: HandlerOutput; bytesRead: number; usage?: AttemptUsage }
  | { kind: 'failed'; error: unknown; bytesRead: number; usage?: AttemptUsage }
  | { kind: 'aborted'; reason: AbortKind; bytesRead: number; usage?: AttemptUsage };

/** What an attempt measured so far (a stopped thread leaves its last report). */
interface Meter {
  read: { bytes: number };
  cpuSeconds: number;
  peakMb: number;
  imageBytes: number;
  /** When the attempt began (performance.now()). */
  t0: number;
}

export interface RunnerOptions {
  workerId: string;
  threads: ThreadPool;
  pathPolicy: PathPolicy;
  /** Default per-job memory cap of thread handlers (MiB); jobs may set constraints.max_memory_mb. */
  memoryLimitMb?: number;
}

/** What the worker needs of a runner (the JobRunner; tests give fakes). */
export interface AttemptRunner {
  run(a: Attempt): Promise<AttemptOutcome>;
}

/**
 * Runs one attempt of one job: path policy and checksums before any handler code, then
 * the handler inline or in a pool thread, stopped for real (thread terminated) by its
 * timeout, a cancel or a drain. Knows nothing of where the job came from or where its
 * result goes.
 */
export class JobRunner implements AttemptRunner {
  constructor(private readonly o: RunnerOptions) {}

  async run(a: Attempt): Promise<AttemptOutcome> {
    const m: Meter = { read: { bytes: 0 }, cpuSeconds: 0, peakMb: 0, imageBytes: 0, t0: performance.now() };
    // an inline handler with no image or output path to check ends within the event-loop turns
    // it runs in: no timer, controller or race of its own (they cost more than the handler); a
    // cancel or drain that came meanwhile still makes it an aborted attempt
    if (a.handler.isolation === 'inline' && a.prepared.images.length === 0 && a.prepared.outputs.length === 0) return this.outcome(this.attempt(a, a.signal, m), a.signal, m);
    const ctl = new AbortController();
    const stop = (reason: unknown) => {
      if (!ctl.signal.aborted) ctl.abort(reason);
    };
    const onOuter = () => stop(a.signal.reason);
    if (a.signal.aborted) onOuter();
    else a.signal.addEventListener('abort', onOuter, { once: true });
    const timer = setTimeout(() => stop(new AttemptAborted('timeout', 'timeout')), Math.max(0, a.timeoutMs));
    const aborted = new Promise<never>((_, reject) => ctl.signal.addEventListener('abort', () => reject(ctl.signal.reason as Error), { once: true }));
    aborted.catch(() => undefined);
    try {
      return await this.outcome(Promise.race([this.attempt(a, ctl.signal, m), aborted]), ctl.signal, m);
    } finally {
      clearTimeout(timer);
      a.signal.removeEventListener('abort', onOuter);
    }
  }

  /** What the attempt's work came to: completed, failed, or aborted when `signal` was. */
  private async outcome(work: Promise<HandlerOutput>, signal: AbortSignal, m: Meter): Promise<AttemptOutcome> {
    const usage = () => usageFigures({ wallMs: performance.now() - m.t0, cpuSeconds: m.cpuSeconds, peakMb: m.peakMb, imageBytes: m.imageBytes });
    try {
      const output = await work;
      if (signal.aborted) return { kind: 'aborted', reason: kindOf(signal.reason), bytesRead: m.read.bytes, usage: usage() };
      const u = usage();
      // measured figures win over a handler's; its own keys (disk_read_bytes) stay
      return { kind: 'completed', output: { ...output, metrics: { ...output.metrics, ...u } }, bytesRead: m.read.bytes, usage: u };
    } catch (error) {
      if (signal.aborted) return { kind: 'aborted', reason: kindOf(signal.reason), bytesRead: m.read.bytes, usage: usage() };
      return { kind: 'failed', error, bytesRead: m.read.bytes, usage: usage() };
    }
  }

  /** Path policy and checksum (before any parsing), then the handler. */
  private async attempt(a: Attempt, signal: AbortSignal, m: Meter): Promise<HandlerOutput> {
    const { job, prepared } = a;
    a.progress({ phase: 'validation', progress_percent: 0, message: `attempt ${a.attempt} of ${job.execution.max_attempts} started` });
    const parent = spanContextOf(a.span, jobParentContext(job.observability));
    const resolved: string[] = [];
    if (prepared.images.length > 0 || prepared.outputs.length > 0) {
      const span = startSpan('validation', parent);
      try {
        for (const ref of prepared.images) {
          const real = await this.o.pathPolicy.resolve(ref.path, `payload.data.${ref.field}`);
          if (ref.checksum) {
            a.progress({ phase: 'validation', message: `verifying sha256 of ${ref.path}` });
            m.read.bytes += await verifySha256(real, ref.checksum, `payload.data.${ref.field.replace(/\.path$/, '')}.checksum`, signal);
          }
          resolved.push(real);
        }
        for (const out of prepared.outputs) await this.o.pathPolicy.checkOutput(out.path, `payload.data.${out.field}`);
        m.imageBytes = await imageBytes(resolved);
      } catch (err) {
        endSpan(span, toProtocolError(err));
        throw err;
      }
      endSpan(span);
    }
    const span = startSpan('execute', parent, { 'guestkit.isolation': a.handler.isolation, 'guestkit.attempt': a.attempt });
    try {
      const out = await this.handler(a, signal, resolved, m);
      endSpan(span);
      return out;
    } catch (err) {
      endSpan(span, toProtocolError(err));
      throw err;
    }
  }

  private async handler(a: Attempt, signal: AbortSignal, resolved: string[], m: Meter): Promise<HandlerOutput> {
    const { job } = a;
    const allowedRoots = this.o.pathPolicy.allowedRoots();
    if (a.handler.isolation === 'inline') {
      // The main thread runs nothing else while the handler's synchronous part runs: that
      // time is the handler's. Continuations after an await share the thread and are not
      // told apart, nor is its heap (peak_memory_mb stays 0 for inline handlers).
      const t0 = performance.now();
      let running: Promise<HandlerOutput>;
      try {
        running = a.prepared.run({ job, attempt: a.attempt, workerId: this.o.workerId, signal, resolvedImages: resolved, allowedRoots, progress: a.progress });
      } finally {
        m.cpuSeconds = (performance.now() - t0) / 1000;
      }
      return running;
    }
    const cap = memoryCapOf(job) ?? this.o.memoryLimitMb;
    let clock: ThreadUsage['clock'];
    // runs before the pool's own abort listener terminates the thread: a thread stuck in
    // a loop sends nothing, but its clock can still be read from here
    const onAbort = () => {
      const now = clock && cpuSecondsOf(clock.tid);
      if (clock && now !== undefined) m.cpuSeconds = Math.max(m.cpuSeconds, now - clock.startSeconds);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let reply;
    try {
      reply = await this.o.threads.run(
        { operation: job.operation, job, attempt: a.attempt, workerId: this.o.workerId, resolvedImages: resolved, allowedRoots, prettyData: a.prettyData },
        {
          signal,
          onProgress: a.progress,
          onUsage: (u) => {
            clock ??= u.clock;
            m.cpuSeconds = Math.max(m.cpuSeconds, u.cpuSeconds);
            m.peakMb = Math.max(m.peakMb, u.peakMb);
          },
          memoryLimitMb: cap,
        },
      );
    } catch (err) {
      const exited = /^worker exited with code: (-?\d+)/.exec(String((err as Error)?.message));
      if (exited && !signal.aborted) {
        throw new GuestkitError('EXECUTION_ERROR', `the handler thread exited (code ${exited[1]}) before finishing the job`, {
          phase: 'execution',
          details: { exit_code: Number(exited[1]) },
        });
      }
      if ((err as NodeJS.ErrnoException)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        if (cap) m.peakMb = Math.max(m.peakMb, cap); // it reached its cap at least
        throw new GuestkitError('EXECUTION_ERROR', `handler exceeded its memory limit of ${cap ?? 'default'} MiB and was stopped`, {
          phase: 'execution',
          recoverable: false,
          retryRecommended: false,
          details: { memory_limit_mb: cap ?? null },
        });
      }
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    m.cpuSeconds = reply.cpuSeconds;
    m.peakMb = reply.heapMb;
    if (!reply.ok) throw fromProtocol(reply.error);
    return { ...reply.output, data: reply.dataJson === undefined ? undefined : new SerializedData(reply.dataJson, reply.dataPretty) };
  }
}

function kindOf(reason: unknown): AbortKind {
  return reason instanceof AttemptAborted ? reason.kind : 'cancel';
}

/** A job's own memory cap (constraints.max_memory_mb, a guestkit extension), bounded. */
function memoryCapOf(job: JobDocument): number | undefined {
  const v = job.constraints ? (job.constraints as { max_memory_mb?: unknown }).max_memory_mb : undefined;
  return typeof v === 'number' && Number.isFinite(v) && v >= 16 ? Math.min(Math.floor(v), 64 * 1024) : undefined;
}

export function fromProtocol(e: ProtocolError): GuestkitError {
  return new GuestkitError(e.code, e.message, { phase: e.phase, details: e.details, recoverable: e.recoverable, retryRecommended: e.retry_recommended });
}
