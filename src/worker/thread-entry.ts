/**
 * Runs inside a pool thread: looks the operation up in the same registry the main
 * thread built, runs the handler, and reports progress over the task's MessagePort.
 * Errors come back as protocol errors (class identity does not survive the thread hop).
 */
import type { MessagePort } from 'node:worker_threads';
import { builtinRegistry, testHandlersEnabled } from '../jobs/registry.js';
import type { HandlerOutput, ProgressUpdate } from '../jobs/types.js';
import type { JobDocument } from '../protocol/envelope.js';
import { GuestkitError, toProtocolError, type ProtocolError } from '../protocol/errors.js';
import { prettyMember } from '../protocol/result-json.js';
import { validationError } from '../protocol/validate.js';
import { threadCpuSeconds, threadMemoryMb, threadTaskId, type ThreadUsage } from './usage.js';

export interface ThreadTask {
  operation: string;
  job: JobDocument;
  attempt: number;
  workerId: string;
  resolvedImages: string[];
  allowedRoots: readonly string[];
  /** Also serialize the output's data pretty-printed (result files want it). */
  prettyData?: boolean;
  port: MessagePort;
}

/** `heapMb`: the thread's peak memory during the task; `cpuSeconds`: its CPU time. */
/**
 * A completed output comes back with its data serialized here (`dataJson`, and `dataPretty`
 * when asked): strings cross to the main thread as one copy, an object graph would be
 * cloned there and stringified again by the store and the result file.
 */
export type ThreadReply =
  | { ok: true; output: Omit<HandlerOutput, 'data'>; dataJson?: string; dataPretty?: string; heapMb: number; cpuSeconds: number }
  | { ok: false; error: ProtocolError; heapMb: number; cpuSeconds: number };

/** A message on the task's port that is not progress: the usage so far. */
export interface UsageMessage {
  usage: ThreadUsage;
}

/** Progress updates of one turn of the thread's event loop, in order (a postMessage costs ~80 µs here). */
export interface ProgressMessage {
  progress: ProgressUpdate[];
}

/** How often a running task samples its memory and reports its usage (while its event loop turns). */
const SAMPLE_MS = 100;
/** Progress within this long of the last message sent is batched. */
const PROGRESS_BURST_MS = 25;

const registry = builtinRegistry({ testHandlers: testHandlersEnabled() });

export default async function runTask(task: ThreadTask): Promise<ThreadReply> {
  const cpu0 = threadCpuSeconds();
  let peak = threadMemoryMb();
  const usage = (): ThreadUsage => {
    peak = Math.max(peak, threadMemoryMb());
    return { cpuSeconds: threadCpuSeconds() - cpu0, peakMb: peak };
  };
  const tid = threadTaskId();
  if (tid !== undefined) task.port.postMessage({ usage: { cpuSeconds: 0, peakMb: peak, clock: { tid, startSeconds: cpu0 } } } satisfies UsageMessage);
  // a terminated thread sends no reply: the runner keeps the last of these
  const sampler = setInterval(() => task.port.postMessage({ usage: usage() } satisfies UsageMessage), SAMPLE_MS);
  // the first update after a quiet spell goes at once (a handler may never yield again: a
  // parser stuck in a loop still shows where it was); the rest of a burst waits for the turn's end
  let pending: ProgressUpdate[] = [];
  let lastPost = -Infinity;
  const flush = () => {
    if (pending.length === 0) return;
    task.port.postMessage({ progress: pending } satisfies ProgressMessage);
    pending = [];
    lastPost = performance.now();
  };
  try {
    const def = registry.get(task.operation);
    if (!def) throw new GuestkitError('UNSUPPORTED_OPERATION', `no handler for ${task.operation} in the worker thread`);
    const prepared = def.prepare(task.job.payload.data);
    if (!prepared.ok) throw validationError(prepared.issues, 'invalid payload');
    const output = await prepared.job.run({
        job: task.job,
        attempt: task.attempt,
        workerId: task.workerId,
        // never fires here: the pool terminates the whole thread on abort
        signal: new AbortController().signal,
        resolvedImages: task.resolvedImages,
        allowedRoots: task.allowedRoots,
        progress: (u: ProgressUpdate) => {
          peak = Math.max(peak, threadMemoryMb());
          const quiet = pending.length === 0 && performance.now() - lastPost >= PROGRESS_BURST_MS;
          if (pending.length === 0 && !quiet) setImmediate(flush);
          pending.push(u);
          if (quiet) flush();
        },
    });
    const { data, ...rest } = output;
    const dataJson = JSON.stringify(data) as string | undefined;
    const dataPretty = task.prettyData && dataJson !== undefined ? prettyMember(data) : undefined;
    const u = usage();
    return { ok: true, output: rest, dataJson, dataPretty, heapMb: u.peakMb, cpuSeconds: u.cpuSeconds };
  } catch (err) {
    const u = usage();
    return { ok: false, error: toProtocolError(err, 'execution'), heapMb: u.peakMb, cpuSeconds: u.cpuSeconds };
  } finally {
    clearInterval(sampler);
    flush();
    task.port.close();
  }
}
