import { z } from 'zod';

export const JOB_STATUSES = ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled', 'timeout'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const JobStatusSchema = z.enum(JOB_STATUSES);

export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled', 'timeout'];
export type TerminalStatus = 'completed' | 'failed' | 'cancelled' | 'timeout';

export function isTerminal(status: JobStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** `failed` and `timeout` may run again while attempts remain. */
export function isRetryableStatus(status: JobStatus): boolean {
  return status === 'failed' || status === 'timeout';
}

/**
 * The legal edges of the job state machine (every store adapter refuses the others).
 * `failed`/`timeout` may go back to pending while attempts remain.
 */
export const JOB_STATUS_EDGES: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  pending: ['assigned', 'cancelled', 'failed', 'timeout'],
  assigned: ['running', 'pending', 'completed', 'failed', 'cancelled', 'timeout'],
  running: ['completed', 'failed', 'cancelled', 'timeout', 'pending'],
  failed: ['pending'],
  timeout: ['pending'],
  completed: [],
  cancelled: [],
};

export function isLegalTransition(from: JobStatus, to: JobStatus): boolean {
  return JOB_STATUS_EDGES[from].includes(to);
}
