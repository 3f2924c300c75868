import type { Command } from 'commander';
import { resolveServeConfig } from '../../app/serve-config.js';
import { startServe } from '../../app/serve-app.js';
import { runUntilSignal } from '../daemon.js';
import { VERSION } from '../program.js';
import { action } from '../output.js';

interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  auth?: string;
  bodyLimit?: string;
  adminTokenFile?: string;
  dataDir?: string;
  workerId?: string;
  pool?: string;
  jobsDir?: string;
  resultsDir?: string;
  maxConcurrent?: string;
  allowPath?: string[];
  logLevel?: string;
  drainTimeout?: string;
  memoryLimitMb?: string;
  store?: string;
  queue?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('Run the embedded server: REST API with live events, a worker pool, SQLite and a file spool, all under one data folder (SIGTERM/SIGINT drain it)')
    .option('--config <file>', 'YAML config file (the worker keys, plus host, port, auth, body_limit, quotas, prices, admin_token_file)')
    .option('--data-dir <dir>', 'where everything is kept: guestkit.db, control.db, jobs/, results/ [GUESTKIT_DATA_DIR] (default: ./.guestkit)')
    .option('--host <addr>', 'address to listen on [GUESTKIT_HOST] (default: 127.0.0.1)')
    .option('--port <port>', 'port to listen on; 0 = any free port [GUESTKIT_PORT] (default: 8080)')
    .option('--auth <mode>', 'token: bearer tokens from `guestkit token create`; none: no auth, loopback only [GUESTKIT_AUTH] (default: token)')
    .option('--admin-token-file <file>', 'a file holding the admin token to use, from guestkit token generate [GUESTKIT_ADMIN_TOKEN_FILE; or the token itself in GUESTKIT_ADMIN_TOKEN]')
    .option('--body-limit <bytes>', 'largest request body [GUESTKIT_BODY_LIMIT] (default: 1048576)')
    .option('--allow-path <dir>', 'root images must lie under; repeatable [GUESTKIT_ALLOW_PATHS, ":"-separated] (default: no restriction)', collect)
    .option('--max-concurrent <n>', 'jobs run at once [GUESTKIT_MAX_CONCURRENT] (default: number of cores)')
    .option('--worker-id <id>', 'worker id [GUESTKIT_WORKER_ID] (default: hostname)')
    .option('--pool <name>', 'worker pool [GUESTKIT_WORKER_POOL] (default: default)')
    .option('--jobs-dir <dir>', 'spool folder for job files [GUESTKIT_JOBS_DIR] (default: <data-dir>/jobs)')
    .option('--results-dir <dir>', 'where spool results are written [GUESTKIT_RESULTS_DIR] (default: <data-dir>/results)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent [GUESTKIT_LOG_LEVEL] (default: info)')
    .option('--drain-timeout <seconds>', 'on SIGTERM, how long running jobs may finish before they are given back [GUESTKIT_DRAIN_TIMEOUT] (default: 30)')
    .option('--memory-limit-mb <mb>', 'V8 heap cap of each handler thread [GUESTKIT_MEMORY_LIMIT_MB] (default: 2048)')
    .option('--store <url>', 'job store: sqlite (in the data dir) or postgres://user@host/db, shared by many nodes [GUESTKIT_STORE] (default: sqlite)')
    .option('--queue <url>', 'job queue: embedded (this process), redis://host:port[/db] or postgres://… (BullMQ on Redis or on PostgreSQL alone), one queue per pool shared by many nodes (needs a postgres:// store) [GUESTKIT_QUEUE] (default: embedded)')
    .addHelpText(
      'after',
      `
Examples:
  guestkit serve                                  # http://127.0.0.1:8080, data in ./.guestkit
  guestkit serve --port 0 --auth none             # any free port, no tokens (loopback only)
  guestkit serve --host 0.0.0.0 --allow-path /data/images

With token auth and no tokens yet, serve makes an admin token and saves it in
<data-dir>/admin-token; the CLI client reads it from there when run beside it.
Given an admin token (GUESTKIT_ADMIN_TOKEN or --admin-token-file, e.g. from a
Kubernetes Secret), serve stores it as an admin of namespace default before it
listens, makes none itself and writes no file; every API process of a cluster
may be given the same one.`,
    )
    .action(
      action(async (flags: ServeFlags) => {
        const cfg = resolveServeConfig({
          config: flags.config,
          host: flags.host,
          port: flags.port,
          auth: flags.auth,
          bodyLimit: flags.bodyLimit,
          adminTokenFile: flags.adminTokenFile,
          dataDir: flags.dataDir,
          workerId: flags.workerId,
          pool: flags.pool,
          jobsDir: flags.jobsDir,
          resultsDir: flags.resultsDir,
          maxConcurrent: flags.maxConcurrent,
          allowPaths: flags.allowPath,
          logLevel: flags.logLevel,
          drainTimeout: flags.drainTimeout,
          memoryLimitMb: flags.memoryLimitMb,
          store: flags.store,
          queue: flags.queue,
        });
        const serve = await startServe(cfg, VERSION);
        await runUntilSignal({ logger: serve.node.logger, shutdown: (r) => serve.shutdown(r) });
        return 0;
      }),
    );
}
