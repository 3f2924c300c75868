import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { QuotaConfigSchema, UNLIMITED, type QuotaConfig } from '../api/quotas.js';
import type { Prices } from '../ports/usage.js';
import { parseToken } from '../ports/token-store.js';
import { GuestkitError } from '../protocol/errors.js';
import { resolveWorkerConfig, type WorkerConfig } from './worker-config.js';

/** `guestkit serve`: the embedded node (worker, SQLite, spool) plus the API. */
export interface ServeConfig {
  worker: WorkerConfig;
  /** Everything lives under it: guestkit.db, control.db, jobs/, results/. */
  dataDir: string;
  host: string;
  port: number;
  auth: 'token' | 'none';
  bodyLimit: number;
  quotas: QuotaConfig;
  prices: Prices;
  /**
   * The first admin token, chosen by the operator (a Kubernetes Secret): adopted at start in
   * namespace `default`, and then serve makes none itself. Never logged (only its id).
   */
  adminToken?: string;
}

export const DEFAULT_DATA_DIR = './.guestkit';
const SERVE_KEYS = ['host', 'port', 'auth', 'body_limit', 'quotas', 'admin_token_file'] as const;

export interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  auth?: string;
  bodyLimit?: string;
  adminTokenFile?: string;
  [workerFlag: string]: unknown;
}

function bad(message: string): GuestkitError {
  return new GuestkitError('USAGE_ERROR', message, { phase: 'validation' });
}

/** defaults < YAML --config < environment < flags, as for `guestkit worker`. */
export function resolveServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const { host: fHost, port: fPort, auth: fAuth, bodyLimit: fBody, adminTokenFile: fTokenFile, ...workerFlags } = flags;
  const worker = resolveWorkerConfig(workerFlags as Parameters<typeof resolveWorkerConfig>[0], env, {
    extraFileKeys: SERVE_KEYS,
    singleProcess: true,
    defaults: (given) => {
      const root = resolve(given ?? DEFAULT_DATA_DIR);
      return { dataDir: root, jobsDir: join(root, 'jobs'), resultsDir: join(root, 'results') };
    },
  });
  const file = flags.config ? readYaml(flags.config) : {};
  const pick = (flag: string | undefined, envName: string, key: string): unknown => flag ?? (env[envName] || undefined) ?? file[key];

  const host = String(pick(fHost, 'GUESTKIT_HOST', 'host') ?? '127.0.0.1');
  const port = Number(pick(fPort, 'GUESTKIT_PORT', 'port') ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw bad(`--port must be an integer from 0 to 65535, got ${String(pick(fPort, 'GUESTKIT_PORT', 'port'))}`);
  const auth = String(pick(fAuth, 'GUESTKIT_AUTH', 'auth') ?? 'token');
  if (auth !== 'token' && auth !== 'none') throw bad(`--auth must be token or none, got ${JSON.stringify(auth)}`);
  if (auth === 'none' && !isLoopback(host)) throw bad(`--auth none is only allowed on a loopback address (127.0.0.1, ::1, localhost), not ${host}: anyone who can reach the port could run jobs`);
  const bodyLimit = Number(pick(fBody, 'GUESTKIT_BODY_LIMIT', 'body_limit') ?? 1 << 20);
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1024 || bodyLimit > 1 << 30) throw bad(`--body-limit must be a byte count from 1024 to 1 GiB, got ${bodyLimit}`);

  const quotas = file.quotas === undefined ? { default: UNLIMITED, namespaces: {} } : parseWith(QuotaConfigSchema, file.quotas, `${flags.config}: quotas`);
  const adminToken = resolveAdminToken(fTokenFile, env, file.admin_token_file);
  return { worker, dataDir: worker.dataDir, host, port, auth, bodyLimit, quotas, prices: worker.prices, ...(adminToken === undefined ? {} : { adminToken }) };
}

/**
 * --admin-token-file, else GUESTKIT_ADMIN_TOKEN, else GUESTKIT_ADMIN_TOKEN_FILE, else the YAML
 * admin_token_file. Surrounding whitespace is dropped (a file's final newline). The text is
 * never put in a message: a malformed one is named by where it came from.
 */
function resolveAdminToken(flagFile: string | undefined, env: NodeJS.ProcessEnv, yamlFile: unknown): string | undefined {
  if (env.GUESTKIT_ADMIN_TOKEN && env.GUESTKIT_ADMIN_TOKEN_FILE && flagFile === undefined) {
    throw bad('GUESTKIT_ADMIN_TOKEN and GUESTKIT_ADMIN_TOKEN_FILE are both set: give the admin token one way');
  }
  let text: string;
  let from: string;
  const fileName = flagFile ?? (env.GUESTKIT_ADMIN_TOKEN ? undefined : env.GUESTKIT_ADMIN_TOKEN_FILE || (yamlFile === undefined ? undefined : String(yamlFile)));
  if (fileName !== undefined) {
    from = flagFile !== undefined ? `--admin-token-file ${fileName}` : env.GUESTKIT_ADMIN_TOKEN_FILE ? `GUESTKIT_ADMIN_TOKEN_FILE=${fileName}` : `admin_token_file ${fileName}`;
    try {
      text = readFileSync(fileName, 'utf8');
    } catch (err) {
      throw bad(`${from}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  } else if (env.GUESTKIT_ADMIN_TOKEN) {
    from = 'GUESTKIT_ADMIN_TOKEN';
    text = env.GUESTKIT_ADMIN_TOKEN;
  } else {
    return undefined;
  }
  const token = text.trim();
  if (!parseToken(token)) {
    throw bad(`${from}: the admin token is not of the form gk_<12 characters a-z0-9>_<43 characters A-Za-z0-9_-> (${token.length} characters given); make one with: guestkit token generate`);
  }
  return token;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function readYaml(path: string): Record<string, unknown> {
  try {
    const doc = parseYaml(readFileSync(path, 'utf8')) as unknown;
    return doc && typeof doc === 'object' ? (doc as Record<string, unknown>) : {};
  } catch (err) {
    throw bad(`--config ${path}: ${(err as Error).message}`);
  }
}

function parseWith<T extends z.ZodType>(schema: T, v: unknown, where: string): z.output<T> {
  const r = schema.safeParse(v);
  if (!r.success) throw bad(`${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  return r.data;
}
