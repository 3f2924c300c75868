import type { JobDocument } from '../protocol/envelope.js';
import type { ProgressEvent } from '../protocol/progress.js';
import type { JobResult } from '../protocol/result.js';
import type { TerminalStatus } from '../protocol/status.js';

/**
 * What happens to jobs, as typed events any number of listeners follow (result files,
 * metrics, logs, the API's server-sent events). Each is emitted once the store recorded
 * it, so a listener never publishes what a store failure could still undo.
 */
export interface JobEventMap {
  /** Accepted: durable `pending` in the store. */
  submitted: { job: JobDocument; source?: string; resumed: boolean };
  /** An attempt began (assigned → running). */
  started: { job: JobDocument; attempt: number; workerId: string };
  progress: { job: JobDocument; event: ProgressEvent };
  /** An attempt failed and the job runs again after a back-off. */
  retrying: { job: JobDocument; attempt: number; delayMs: number; code: string; message: string };
  /**
   * The job ended: completed, failed, cancelled or timeout (also emitted under that status's
   * name). `partial`: heard from another process, with the result's `data` and `outputs` left
   * out (the whole result is in the shared store; store.result() has it).
   */
  finished: { job: JobDocument; status: TerminalStatus; result: JobResult; partial?: true };
  completed: { job: JobDocument; result: JobResult };
  failed: { job: JobDocument; result: JobResult };
  cancelled: { job: JobDocument; result: JobResult };
  timeout: { job: JobDocument; result: JobResult };
  /** Given back unfinished (drain, start-up recovery): its intake hands it to the next taker. */
  released: { job: JobDocument; reason: string };
  /** A copy of a job id that already ran or runs elsewhere: archived, its result untouched. */
  duplicate: { job: JobDocument; source?: string; reason: string };
}

export type JobEventName = keyof JobEventMap;
export type JobEventListener<K extends JobEventName> = (payload: JobEventMap[K]) => void;

/** A small typed emitter: listeners run synchronously in order; one that throws is reported, never fatal. */
export class JobEvents {
  private readonly listeners: { [K in JobEventName]?: JobEventListener<K>[] } = {};

  constructor(private readonly onListenerError: (event: JobEventName, err: unknown) => void = () => undefined) {}

  on<K extends JobEventName>(event: K, listener: JobEventListener<K>): () => void {
    const list = (this.listeners[event] ??= []) as JobEventListener<K>[];
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  emit<K extends JobEventName>(event: K, payload: JobEventMap[K]): void {
    const list = this.listeners[event] as JobEventListener<K>[] | undefined;
    if (!list) return;
    for (const l of list) {
      try {
        l(payload);
      } catch (err) {
        this.onListenerError(event, err);
      }
    }
  }

  listenerCount(event: JobEventName): number {
    return this.listeners[event]?.length ?? 0;
  }
}

/**
 * A finished event as it goes to the other processes: the result without `data` and `outputs`
 * (an inspection's can be megabytes, and every process would get it). What they follow needs
 * the status and error; a spool that holds the job's file reads the whole result from the store.
 */
export function partialFinished(p: JobEventMap['finished']): JobEventMap['finished'] {
  const { data: _data, outputs: _outputs, ...rest } = p.result;
  if (_data === undefined && _outputs === undefined) return p;
  return { ...p, result: rest as JobResult, partial: true };
}
