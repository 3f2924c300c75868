/**
 * A private PostgreSQL for tests: `initdb` into a temporary folder, started on a free
 * loopback port with its socket in that folder (never the machine's own service on 5432),
 * stopped and removed when the test file ends. fsync is off: tests need speed, not crash
 * safety of the test cluster itself (commits still wait for the server as usual).
 *
 * The binaries come from Debian's `postgresql` package (/usr/lib/postgresql/<major>/bin),
 * or from $GUESTKIT_PG_BIN. initdb refuses to run as root: as root the cluster is made
 * and run by the `postgres` user (which the Debian package creates).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PgInstance {
  port: number;
  /** The superuser's connection string for a database (default `postgres`). */
  url(database?: string): string;
  /** Creates a fresh database and returns its connection string. */
  createDatabase(prefix?: string): Promise<string>;
  /** One statement as the superuser, on the `postgres` database. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** pg_ctl restart (fast shutdown: every connection is cut). */
  restart(opts?: { downMs?: number }): Promise<void>;
  stopServer(): void;
  startServer(): void;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
  /** The server log so far (for failure messages). */
  log(): string;
}

export class PostgresMissingError extends Error {}

/** The folder holding initdb/pg_ctl, newest major version first; throws PostgresMissingError naming the package. */
export function postgresBinDir(): string {
  const env = process.env.GUESTKIT_PG_BIN;
  if (env) {
    if (!existsSync(join(env, 'initdb'))) throw new PostgresMissingError(`GUESTKIT_PG_BIN=${env} has no initdb`);
    return env;
  }
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!majors.length) {
    throw new PostgresMissingError(
      'PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb): install the Debian package `postgresql` (scripts/ensure-system.sh test does), or set GUESTKIT_PG_BIN',
    );
  }
  return join(root, majors[0]!, 'bin');
}

export function havePostgres(): boolean {
  try {
    postgresBinDir();
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const live = new Set<() => void>();
let exitHooked = false;

/** Starts a private PostgreSQL; call stop() (e.g. in `after`). */
export async function startPostgres(opts: { settings?: Record<string, string | number> } = {}): Promise<PgInstance> {
  const bin = postgresBinDir();
  const root = mkdtempSync(join(tmpdir(), 'gk-pg-'));
  const data = join(root, 'data');
  const logFile = join(root, 'server.log');
  const asRoot = userInfo().uid === 0;
  let runAs: { uid: number; gid: number } | undefined;
  if (asRoot) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    try {
      runAs = { uid: id('-u'), gid: id('-g') };
    } catch {
      rmSync(root, { recursive: true, force: true });
      throw new PostgresMissingError('running as root, and there is no `postgres` user to run initdb as (the Debian package `postgresql` creates it)');
    }
    chownSync(root, runAs.uid, runAs.gid);
    chmodSync(root, 0o700);
  }
  const run = (cmd: string, args: string[], timeoutMs = 60_000) => {
    const r = spawnSync(join(bin, cmd), args, { encoding: 'utf8', timeout: timeoutMs, uid: runAs?.uid, gid: runAs?.gid, env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    if (r.status !== 0) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal ?? r.error?.message}): ${r.stderr || r.stdout}\n${tail}`);
    }
    return r.stdout;
  };

  const port = await freePort();
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: 200,
    shared_buffers: '128MB',
    unix_socket_permissions: '0777',
    ...opts.settings,
  };
  const serverOpts = [`-p ${port}`, `-k ${root}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  let running = false;
  /** The same, without blocking the event loop (restarts while the store under test works). */
  const runAsync = (cmd: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(join(bin, cmd), args, { uid: runAs?.uid, gid: runAs?.gid, env: { ...process.env, LC_ALL: 'C', LANG: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      c.on('error', reject);
      c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${err}`))));
    });
  const startServer = () => {
    run('pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '60', '-o', serverOpts], 90_000);
    running = true;
  };
  const stopServer = (mode = 'fast') => {
    if (!running) return;
    run('pg_ctl', ['stop', '-D', data, '-m', mode, '-w', '-t', '60'], 90_000);
    running = false;
  };
  const kill = () => {
    try {
      stopServer('immediate');
    } catch {
      /* best effort at exit */
    }
    rmSync(root, { recursive: true, force: true });
  };

  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], 120_000);
    startServer();
  } catch (err) {
    kill();
    throw err;
  }
  live.add(kill);
  if (!exitHooked) {
    exitHooked = true;
    // a test file that dies without its after() still leaves no server behind
    process.on('exit', () => {
      for (const k of live) k();
    });
  }

  const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  let admin: pg.Pool | undefined;
  const adminPool = () => {
    if (!admin) {
      admin = new pg.Pool({ connectionString: url(), max: 2 });
      admin.on('error', () => {
        /* restarts cut idle admin connections */
      });
    }
    return admin;
  };
  let dbs = 0;
  return {
    port,
    url,
    async createDatabase(prefix = 'gk') {
      const name = `${prefix}_${process.pid}_${++dbs}`;
      await adminPool().query(`CREATE DATABASE ${name} TEMPLATE template0`);
      return url(name);
    },
    query: (sql, params) => adminPool().query(sql, params),
    async restart({ downMs = 0 } = {}) {
      await runAsync('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60']);
      running = false;
      if (downMs) await new Promise((r) => setTimeout(r, downMs));
      await runAsync('pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '60', '-o', serverOpts]);
      running = true;
    },
    stopServer: () => stopServer('fast'),
    startServer,
    async stop() {
      live.delete(kill);
      await admin?.end().catch(() => undefined);
      kill();
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
}
