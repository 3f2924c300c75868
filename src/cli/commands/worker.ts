import type { Command } from 'commander';
import { checkWorkerDirs, resolveWorkerConfig } from '../../app/worker-config.js';
import { startWorker } from '../../app/worker-app.js';
import { VERSION } from '../program.js';
import { runUntilSignal } from '../daemon.js';
import { action } from '../output.js';

interface WorkerFlags {
  config?: string;
  workerId?: string;
  pool?: string;
  jobsDir?: string;
  resultsDir?: string;
  dataDir?: string;
  maxConcurrent?: string;
  allowPath?: string[];
  metricsPort?: string;
  metricsHost?: string;
  logLevel?: string;
  drainTimeout?: string;
  memoryLimitMb?: string;
  store?: string;
  queue?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerWorkerCommands(program: Command): void {
  program
    .command('worker')
    .description('Run a worker daemon: take jobs from a spool folder, run them, write results (SIGTERM/SIGINT drain it)')
    .option('--config <file>', 'YAML config file (keys: worker_id, pool, jobs_dir, results_dir, data_dir, max_concurrent, allow_paths, metrics_port, log_level, drain_timeout, …)')
    .option('--worker-id <id>', 'worker id [GUESTKIT_WORKER_ID] (default: hostname)')
    .option('--pool <name>', 'worker pool [GUESTKIT_WORKER_POOL] (default: default)')
    .option('--jobs-dir <dir>', 'spool folder jobs are dropped into [GUESTKIT_JOBS_DIR] (default: /var/lib/guestkit/jobs)')
    .option('--results-dir <dir>', 'where <job_id>-result.json is written [GUESTKIT_RESULTS_DIR] (default: <jobs-dir>/../results)')
    .option('--data-dir <dir>', 'state: the SQLite store [GUESTKIT_DATA_DIR] (default: <jobs-dir>/../state; share it between workers of one spool)')
    .option('--max-concurrent <n>', 'jobs run at once [GUESTKIT_MAX_CONCURRENT] (default: number of cores)')
    .option('--allow-path <dir>', 'root images must lie under; repeatable [GUESTKIT_ALLOW_PATHS, ":"-separated] (default: no restriction)', collect)
    .option('--metrics-port <port>', 'serve /metrics, /healthz, /readyz on this port; 0 = any free port [GUESTKIT_METRICS_PORT] (default: off)')
    .option('--metrics-host <addr>', 'address of the metrics endpoint [GUESTKIT_METRICS_HOST] (default: 0.0.0.0)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent [GUESTKIT_LOG_LEVEL] (default: info)')
    .option('--drain-timeout <seconds>', 'on SIGTERM, how long running jobs may finish before they are given back [GUESTKIT_DRAIN_TIMEOUT] (default: 30)')
    .option('--memory-limit-mb <mb>', 'V8 heap cap of each handler thread [GUESTKIT_MEMORY_LIMIT_MB] (default: 2048)')
    .option('--store <url>', 'job store: sqlite (in the data dir) or postgres://user@host/db, shared by many nodes [GUESTKIT_STORE] (default: sqlite)')
    .option('--queue <url>', 'job queue: embedded (this process), redis://host:port[/db] or postgres://… (BullMQ on Redis or on PostgreSQL alone), one queue per pool shared by many nodes (needs a postgres:// store) [GUESTKIT_QUEUE] (default: embedded)')
    .action(
      action(async (flags: WorkerFlags) => {
        const cfg = resolveWorkerConfig({
          config: flags.config,
          workerId: flags.workerId,
          pool: flags.pool,
          jobsDir: flags.jobsDir,
          resultsDir: flags.resultsDir,
          dataDir: flags.dataDir,
          maxConcurrent: flags.maxConcurrent,
          allowPaths: flags.allowPath,
          metricsPort: flags.metricsPort,
          metricsHost: flags.metricsHost,
          logLevel: flags.logLevel,
          drainTimeout: flags.drainTimeout,
          memoryLimitMb: flags.memoryLimitMb,
          store: flags.store,
          queue: flags.queue,
        });
        checkWorkerDirs(cfg);
        const worker = await startWorker(cfg, VERSION);
        await runUntilSignal(worker);
        return 0;
      }),
    );
}
