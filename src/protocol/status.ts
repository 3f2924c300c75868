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
