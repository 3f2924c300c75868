import { readFileSync, statSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BUDGET_NAMES, BUDGET_ON_EXCEEDED, type InspectBudgetOptions } from '../protocol/payloads/inspect-budget.js';
import { z } from 'zod';
import { GuestkitError } from '../protocol/errors.js';
import type { Prices } from '../ports/usage.js';

/** Everything `guestkit worker` can be told, after defaults, config file, environment and flags. */
export interface WorkerConfig {
  workerId: string;
  pool: string;
  jobsDir: string;
  resultsDir: string;
  dataDir: string;
  maxConcurrent: number;
  allowPaths: string[];
  /** undefined = no HTTP endpoint; 0 = any free port (reported in the "worker ready" log line). */
  metricsPort?: number;
  metricsHost: string;
  logLevel: string;
  /** Seconds running jobs get to finish on SIGTERM/SIGINT before they are given back. */
  drainTimeout: number;
  /** Default memory cap of a thread handler (MiB). */
  memoryLimitMb: number;
  /** The config file's `inspect_budget` (each GUESTKIT_INSPECT_* variable set wins over its key). */
  inspectBudget?: InspectBudgetOptions;
  maxDiskSizeGb: number;
  pollIntervalMs: number;
  settleMs: number;
  retryBaseMs: number;
  heartbeatSeconds: number;
  /** How long a store write waits for another process's lock before the store counts as failing. */
  storeBusyTimeoutMs: number;
  /** `sqlite` (the data dir's guestkit.db) or a `postgres://` connection string shared by many nodes. */
  store: string;
  /**
   * `embedded` (this process's own priority queue), `redis://host:port[/db]` (`rediss://`
   * for TLS) or `postgres://…` (BullMQ's PostgreSQL backend: no Redis): one BullMQ queue per
   * worker pool, shared by every process of the pool.
   */
  queue: string;
  /** Shared queue: jobs of the pool running at once across every process (BullMQ global concurrency); undefined = no cap. */
  queueGlobalConcurrency?: number;
  /** Shared queue: at most queueRateMax jobs started per queueRateDurationMs across the pool; undefined = no limit. */
  queueRateMax?: number;
  queueRateDurationMs: number;
  /** Shared queue: a held job's lock (renewed every half of it); a worker silent this long loses its jobs to the others. */
  queueLockMs: number;
  testHandlers: boolean;
  /** What a CPU-second and a GiB read cost (GET /usage and the guestkit_job_cost_total counter). */
  prices: Prices;
}

export interface WorkerConfigOptions {
  /** Config-file keys another command (serve) reads itself: allowed here, not checked. */
  extraFileKeys?: readonly string[];
  /**
   * The single process of its deployment (`guestkit serve`): it may pair a shared queue with
   * its own SQLite store. A `guestkit worker` on a shared queue needs a shared store.
   */
  singleProcess?: boolean;
  /** Folder defaults from the data dir as given (undefined: not given), for commands that keep all under one. */
  defaults?: (dataDir: string | undefined) => { jobsDir: string; resultsDir: string; dataDir: string };
}

/** The flags / config-file keys / environment variables, one row each. */
const FIELDS = {
  workerId: { env: 'GUESTKIT_WORKER_ID', key: 'worker_id', kind: 'string' },
  pool: { env: 'GUESTKIT_WORKER_POOL', key: 'pool', kind: 'string' },
  jobsDir: { env: 'GUESTKIT_JOBS_DIR', key: 'jobs_dir', kind: 'string' },
  resultsDir: { env: 'GUESTKIT_RESULTS_DIR', key: 'results_dir', kind: 'string' },
  dataDir: { env: 'GUESTKIT_DATA_DIR', key: 'data_dir', kind: 'string' },
  maxConcurrent: { env: 'GUESTKIT_MAX_CONCURRENT', key: 'max_concurrent', kind: 'int' },
  allowPaths: { env: 'GUESTKIT_ALLOW_PATHS', key: 'allow_paths', kind: 'list' },
  metricsPort: { env: 'GUESTKIT_METRICS_PORT', key: 'metrics_port', kind: 'int' },
  metricsHost: { env: 'GUESTKIT_METRICS_HOST', key: 'metrics_host', kind: 'string' },
  logLevel: { env: 'GUESTKIT_LOG_LEVEL', key: 'log_level', kind: 'string' },
  drainTimeout: { env: 'GUESTKIT_DRAIN_TIMEOUT', key: 'drain_timeout', kind: 'number' },
  memoryLimitMb: { env: 'GUESTKIT_MEMORY_LIMIT_MB', key: 'memory_limit_mb', kind: 'int' },
  maxDiskSizeGb: { env: 'GUESTKIT_MAX_DISK_SIZE_GB', key: 'max_disk_size_gb', kind: 'int' },
  pollIntervalMs: { env: 'GUESTKIT_SPOOL_POLL_MS', key: 'poll_interval_ms', kind: 'int' },
  settleMs: { env: 'GUESTKIT_SPOOL_SETTLE_MS', key: 'settle_ms', kind: 'int' },
  retryBaseMs: { env: 'GUESTKIT_RETRY_BASE_MS', key: 'retry_base_ms', kind: 'int' },
  heartbeatSeconds: { env: 'GUESTKIT_HEARTBEAT_SECONDS', key: 'heartbeat_seconds', kind: 'number' },
  storeBusyTimeoutMs: { env: 'GUESTKIT_STORE_BUSY_TIMEOUT_MS', key: 'store_busy_timeout_ms', kind: 'int' },
  store: { env: 'GUESTKIT_STORE', key: 'store', kind: 'string' },
  queue: { env: 'GUESTKIT_QUEUE', key: 'queue', kind: 'string' },
  queueGlobalConcurrency: { env: 'GUESTKIT_QUEUE_GLOBAL_CONCURRENCY', key: 'queue_global_concurrency', kind: 'int' },
  queueRateMax: { env: 'GUESTKIT_QUEUE_RATE_MAX', key: 'queue_rate_max', kind: 'int' },
  queueRateDurationMs: { env: 'GUESTKIT_QUEUE_RATE_DURATION_MS', key: 'queue_rate_duration_ms', kind: 'int' },
  queueLockMs: { env: 'GUESTKIT_QUEUE_LOCK_MS', key: 'queue_lock_ms', kind: 'int' },
  testHandlers: { env: 'GUESTKIT_TEST_HANDLERS', key: 'test_handlers', kind: 'bool' },
} as const;
type Field = keyof typeof FIELDS;
export const WORKER_ENV_VARS: readonly string[] = Object.values(FIELDS).map((f) => f.env);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** `inspect_budget:` in the config file: the worker's inspection ceilings (GUESTKIT_INSPECT_* override them). */
const BudgetSchema = z.strictObject({
  ...Object.fromEntries(BUDGET_NAMES.map((n) => [n, z.number().positive().optional()])),
  on_exceeded: z.enum(BUDGET_ON_EXCEEDED).optional(),
});

/** `prices:` in the config file (GUESTKIT_PRICE_CPU_SECOND, GUESTKIT_PRICE_GIB_READ, GUESTKIT_PRICE_CURRENCY override them). */
const PricesSchema = z.strictObject({ cpu_second: z.number().min(0).optional(), gib_read: z.number().min(0).optional(), currency: z.string().min(1).optional() });
type FilePrices = z.infer<typeof PricesSchema>;

const FileSchema = z.strictObject({
  ...Object.fromEntries(
    Object.values(FIELDS).map((f) => [
      f.key,
      (f.kind === 'string' ? z.string() : f.kind === 'list' ? z.array(z.string()) : f.kind === 'bool' ? z.boolean() : z.number()).optional(),
    ]),
  ),
  inspect_budget: BudgetSchema.optional(),
  prices: PricesSchema.optional(),
});

function bad(message: string): GuestkitError {
  return new GuestkitError('USAGE_ERROR', message, { phase: 'validation' });
}

/** The flag as the user typed it: maxConcurrent → --max-concurrent. */
function flagName(field: Field): string {
  return `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function fromText(field: Field, text: string, where: string): unknown {
  const kind = FIELDS[field].kind;
  if (kind === 'string') return text;
  if (kind === 'list') return text.split(/[,:]/).map((s) => s.trim()).filter(Boolean);
  if (kind === 'bool') return text === '1' || text === 'true' || text === 'yes';
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw bad(`${where}: expected a number, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * Resolves the worker configuration: defaults < YAML --config file < environment < flags.
 * `flags` holds only what was given on the command line (camelCase keys).
 */
export function resolveWorkerConfig(
  flags: Partial<Record<Field, unknown>> & { config?: string },
  env: NodeJS.ProcessEnv = process.env,
  opts: WorkerConfigOptions = {},
): WorkerConfig {
  const merged: Partial<Record<Field, unknown>> = {};
  let fileBudget: InspectBudgetOptions | undefined;
  let filePrices: FilePrices = {};
  if (flags.config) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(flags.config, 'utf8')) ?? {};
    } catch (err) {
      throw bad(`--config ${flags.config}: ${(err as Error).message}`);
    }
    const schema = opts.extraFileKeys ? FileSchema.extend(Object.fromEntries(opts.extraFileKeys.map((k) => [k, z.unknown().optional()]))) : FileSchema;
    const parsed = schema.safeParse(doc);
    if (!parsed.success) {
      throw bad(`--config ${flags.config}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
    }
    for (const [field, f] of Object.entries(FIELDS) as [Field, (typeof FIELDS)[Field]][]) {
      const v = (parsed.data as Record<string, unknown>)[f.key];
      if (v !== undefined) merged[field] = v;
    }
    fileBudget = (parsed.data as { inspect_budget?: InspectBudgetOptions }).inspect_budget;
    filePrices = (parsed.data as { prices?: FilePrices }).prices ?? {};
  }
  for (const [field, f] of Object.entries(FIELDS) as [Field, (typeof FIELDS)[Field]][]) {
    const v = env[f.env];
    if (v !== undefined && v !== '') merged[field] = fromText(field, v, f.env);
  }
  for (const [field, v] of Object.entries(flags) as [Field, unknown][]) {
    if (field in FIELDS && v !== undefined) {
      merged[field] = typeof v === 'string' && FIELDS[field].kind !== 'string' && FIELDS[field].kind !== 'list' ? fromText(field, v, flagName(field)) : v;
    }
  }

  const d = opts.defaults?.(merged.dataDir === undefined ? undefined : String(merged.dataDir));
  const jobsDir = resolve(String(merged.jobsDir ?? d?.jobsDir ?? '/var/lib/guestkit/jobs'));
  const cfg: WorkerConfig = {
    workerId: String(merged.workerId ?? hostname()),
    pool: String(merged.pool ?? 'default'),
    jobsDir,
    resultsDir: resolve(String(merged.resultsDir ?? d?.resultsDir ?? join(dirname(jobsDir), 'results'))),
    dataDir: resolve(String(merged.dataDir ?? d?.dataDir ?? join(dirname(jobsDir), 'state'))),
    maxConcurrent: Number(merged.maxConcurrent ?? cpus().length),
    allowPaths: ((merged.allowPaths as string[] | undefined) ?? []).map((p) => resolve(p)),
    metricsPort: merged.metricsPort === undefined ? undefined : Number(merged.metricsPort),
    metricsHost: String(merged.metricsHost ?? '0.0.0.0'),
    logLevel: String(merged.logLevel ?? 'info'),
    drainTimeout: Number(merged.drainTimeout ?? 30),
    memoryLimitMb: Number(merged.memoryLimitMb ?? 2048),
    ...(fileBudget ? { inspectBudget: fileBudget } : {}),
    maxDiskSizeGb: Number(merged.maxDiskSizeGb ?? 16384),
    pollIntervalMs: Number(merged.pollIntervalMs ?? 500),
    settleMs: Number(merged.settleMs ?? 1000),
    retryBaseMs: Number(merged.retryBaseMs ?? 1000),
    heartbeatSeconds: Number(merged.heartbeatSeconds ?? 10),
    storeBusyTimeoutMs: Number(merged.storeBusyTimeoutMs ?? 5000),
    store: String(merged.store ?? 'sqlite'),
    queue: String(merged.queue ?? 'embedded'),
    queueGlobalConcurrency: merged.queueGlobalConcurrency === undefined ? undefined : Number(merged.queueGlobalConcurrency),
    queueRateMax: merged.queueRateMax === undefined ? undefined : Number(merged.queueRateMax),
    queueRateDurationMs: Number(merged.queueRateDurationMs ?? 1000),
    queueLockMs: Number(merged.queueLockMs ?? 30_000),
    testHandlers: Boolean(merged.testHandlers ?? false),
    prices: resolvePrices(filePrices, env),
  };
  const intIn = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw bad(`${name} must be an integer between ${min} and ${max}, got ${v}`);
  };
  // 0: runs no jobs itself (an API front of a shared queue; the other processes run them)
  intIn('max-concurrent', cfg.maxConcurrent, cfg.queue === 'embedded' ? 1 : 0, 1024);
  if (cfg.metricsPort !== undefined) intIn('metrics-port', cfg.metricsPort, 0, 65535);
  intIn('memory-limit-mb', cfg.memoryLimitMb, 0, 1 << 20);
  intIn('poll interval (ms)', cfg.pollIntervalMs, 10, 3_600_000);
  intIn('settle time (ms)', cfg.settleMs, 0, 3_600_000);
  intIn('retry base (ms)', cfg.retryBaseMs, 0, 3_600_000);
  intIn('store busy timeout (ms)', cfg.storeBusyTimeoutMs, 0, 600_000);
  if (!(cfg.drainTimeout >= 0)) throw bad(`drain-timeout must be ≥ 0 seconds, got ${cfg.drainTimeout}`);
  if (!(cfg.heartbeatSeconds > 0)) throw bad(`heartbeat seconds must be > 0, got ${cfg.heartbeatSeconds}`);
  if (!LOG_LEVELS.includes(cfg.logLevel)) throw bad(`log-level must be one of ${LOG_LEVELS.join(', ')}, got ${cfg.logLevel}`);
  if (cfg.workerId.trim() === '') throw bad('worker-id must not be empty');
  if (cfg.store !== 'sqlite' && !/^postgres(ql)?:\/\//.test(cfg.store)) throw bad(`--store must be sqlite or a postgres:// connection string, got ${JSON.stringify(cfg.store.replace(/:[^:@/]*@/, ':***@'))}`);
  checkQueue(cfg, opts);
  return cfg;
}

/** Prices: defaults < the config file's `prices:` < GUESTKIT_PRICE_* variables. */
function resolvePrices(file: FilePrices, env: NodeJS.ProcessEnv): Prices {
  const num = (envName: string, v: number | undefined, dflt: number) => {
    const e = env[envName];
    if (e === undefined || e === '') return v ?? dflt;
    const n = Number(e);
    if (!Number.isFinite(n) || n < 0) throw bad(`${envName} must be a number ≥ 0, got ${JSON.stringify(e)}`);
    return n;
  };
  return {
    cpuSecond: num('GUESTKIT_PRICE_CPU_SECOND', file.cpu_second, 0.00002),
    gibRead: num('GUESTKIT_PRICE_GIB_READ', file.gib_read, 0.001),
    currency: env.GUESTKIT_PRICE_CURRENCY || file.currency || 'USD',
  };
}

/** The URL with its password hidden, for messages. */
function redact(url: string): string {
  return url.replace(/:[^:@/]*@/, ':***@');
}

/** --queue and its settings; a shared queue needs a shared store unless this is the single `guestkit serve`. */
function checkQueue(cfg: WorkerConfig, opts: WorkerConfigOptions): void {
  if (cfg.queue === 'embedded') return;
  const usage = `--queue must be embedded or a redis://host:port[/db] or postgres://user@host/database URL, got ${JSON.stringify(redact(cfg.queue))}`;
  let u: URL;
  try {
    u = new URL(cfg.queue);
  } catch {
    throw bad(usage);
  }
  if (u.protocol === 'redis:' || u.protocol === 'rediss:') {
    const db = u.pathname.replace(/^\//, '');
    if (db !== '' && !/^\d+$/.test(db)) throw bad(`--queue ${redact(cfg.queue)}: the Redis database must be a number (redis://host:port/0), got ${JSON.stringify(db)}`);
  } else if (u.protocol === 'postgres:' || u.protocol === 'postgresql:') {
    if (!u.hostname && !u.searchParams.has('host')) throw bad(`--queue ${redact(cfg.queue)}: name the PostgreSQL server (postgres://user@host:5432/database)`);
  } else {
    throw bad(usage);
  }
  if (cfg.store === 'sqlite' && !opts.singleProcess) {
    throw bad(
      `--queue ${redact(cfg.queue)} shares jobs between processes, but --store sqlite is this machine's own file: workers elsewhere could not record what they run. ` +
        'Give every process of the pool the same --store postgres://… (only a single `guestkit serve` may pair a shared queue with SQLite)',
    );
  }
  const intIn = (name: string, v: number | undefined, min: number, max: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) throw bad(`${name} must be an integer between ${min} and ${max}, got ${v}`);
  };
  intIn('queue global concurrency', cfg.queueGlobalConcurrency, 1, 1_000_000);
  intIn('queue rate max', cfg.queueRateMax, 1, 1_000_000_000);
  intIn('queue rate duration (ms)', cfg.queueRateDurationMs, 1, 86_400_000);
  intIn('queue lock (ms)', cfg.queueLockMs, 1000, 3_600_000);
}

/**
 * The worker creates the jobs folder and its subfolders (and the default results/state folders
 * beside it), never a whole tree: the jobs folder's parent must exist, so a mistyped
 * --jobs-dir is a usage error instead of a spool nobody drops jobs into. Checked before
 * anything is created; kept apart from resolveWorkerConfig, which reads no folders.
 */
export function checkWorkerDirs(cfg: Pick<WorkerConfig, 'jobsDir'>): void {
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return undefined;
    }
  };
  const jobs = isDir(cfg.jobsDir);
  if (jobs === false) throw bad(`jobs folder ${cfg.jobsDir} is not a folder`);
  if (jobs) return;
  const parent = dirname(cfg.jobsDir);
  const up = isDir(parent);
  if (up === undefined) throw bad(`jobs folder ${cfg.jobsDir}: its parent ${parent} does not exist (only the jobs folder itself is created)`);
  if (up === false) throw bad(`jobs folder ${cfg.jobsDir}: its parent ${parent} is not a folder`);
}
