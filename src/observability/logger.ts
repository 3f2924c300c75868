import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Structured JSON logs; every job's lines carry job_id and trace_id through child loggers. */
export function createLogger(opts: { level?: string; workerId: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { worker_id: opts.workerId, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
