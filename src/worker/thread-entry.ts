/**
 * Runs inside a pool thread: looks the operation up in the same registry the main
 * thread built, runs the handler, and reports progress over the task's MessagePort.
 * Errors come back as protocol errors (class identity does not survive the thread hop).
 */
import type { MessagePort } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { builtinRegistry, testHandlersEnabled } from '../jobs/registry.js';
import type { HandlerOutput, ProgressUpdate } from '../jobs/types.js';
import type { JobDocument } from '../protocol/envelope.js';
import { GuestkitError, toProtocolError, type ProtocolError } from '../protocol/errors.js';
import { validationError } from '../protocol/validate.js';

export interface ThreadTask {
  operation: string;
  job: JobDocument;
  attempt: number;
  workerId: string;
  resolvedImages: string[];
  allowedRoots: readonly string[];
  port: MessagePort;
}

export type ThreadReply =
  | { ok: true; output: HandlerOutput; heapMb: number }
  | { ok: false; error: ProtocolError; heapMb: number };

const registry = builtinRegistry({ testHandlers: testHandlersEnabled() });

export default async function runTask(task: ThreadTask): Promise<ThreadReply> {
  const heapMb = () => Math.round(getHeapStatistics().total_heap_size / 1048576);
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
        progress: (u: ProgressUpdate) => task.port.postMessage(u),
    });
    return { ok: true, output, heapMb: heapMb() };
  } catch (err) {
    return { ok: false, error: toProtocolError(err, 'execution'), heapMb: heapMb() };
  } finally {
    task.port.close();
  }
}
