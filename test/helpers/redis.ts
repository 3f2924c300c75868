/**
 * A private redis-server for tests: started on a free loopback port with its own temporary
 * folder (`--dir`), never the machine's own service on 6379; stopped and removed when the
 * test file ends. Append-only persistence is on by default (`appendfsync always`, so a
 * restart loses nothing a client was told is written), `maxmemory-policy noeviction` as
 * BullMQ requires; both can be overridden per instance (the refusal test starts one with
 * an evicting policy).
 *
 * The binary comes from Debian's `redis-server` package (/usr/bin/redis-server) or from
 * $GUESTKIT_REDIS_SERVER.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisInstance {
  port: number;
  host: string;
  /** redis://127.0.0.1:<port> */
  url: string;
  dir: string;
  /** One command over a fresh connection (RESP), its reply as text ('PONG', '1', a bulk string). */
  command(...args: string[]): Promise<string>;
  /** SHUTDOWN (saving the append-only file as configured), optionally stays down `downMs`, then starts again on the same port and folder. */
  restart(opts?: { downMs?: number }): Promise<void>;
  /** SHUTDOWN: the server is down until startServer(). */
  stopServer(): Promise<void>;
  startServer(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
  /** The server log so far (for failure messages). */
  log(): string;
}

export class RedisMissingError extends Error {}

export function redisServerBin(): string {
  const bin = process.env.GUESTKIT_REDIS_SERVER ?? '/usr/bin/redis-server';
  if (!existsSync(bin)) {
    throw new RedisMissingError(`redis-server not found at ${bin}: install the Debian package \`redis-server\`, or set GUESTKIT_REDIS_SERVER`);
  }
  return bin;
}

export function haveRedis(): boolean {
  try {
    redisServerBin();
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
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

/** Sends one command in RESP and reads one reply (simple, error, integer or bulk). */
export function redisCommand(port: number, args: string[], timeoutMs = 2000, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ port, host });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis ${args[0]}: no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (err: Error | null, v?: string) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(v!);
    };
    sock.on('error', (e) => done(e));
    sock.on('close', () => done(new Error(`redis ${args[0]}: connection closed`)));
    sock.on('connect', () => {
      sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(''));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      const head = buf.subarray(0, eol).toString();
      const kind = head[0];
      if (kind === '+' || kind === ':') return done(null, head.slice(1));
      if (kind === '-') return done(new Error(head.slice(1)));
      if (kind === '$') {
        const n = Number(head.slice(1));
        if (n < 0) return done(null, '');
        if (buf.length < eol + 2 + n) return;
        return done(null, buf.subarray(eol + 2, eol + 2 + n).toString());
      }
      done(null, head);
    });
  });
}

const live = new Set<() => void>();
let exitHooked = false;

/** Starts a private redis-server; call stop() (e.g. in `after`). */
export async function startRedis(opts: { settings?: Record<string, string | number> } = {}): Promise<RedisInstance> {
  const bin = redisServerBin();
  const dir = mkdtempSync(join(tmpdir(), 'gk-redis-'));
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  const settings: Record<string, string | number> = {
    bind: '127.0.0.1',
    port,
    dir,
    logfile: logFile,
    daemonize: 'no',
    save: '',
    appendonly: 'yes',
    appendfsync: 'always',
    'maxmemory-policy': 'noeviction',
    'protected-mode': 'no',
    ...opts.settings,
  };
  const args = Object.entries(settings).flatMap(([k, v]) => [`--${k}`, String(v)]);
  let child: ChildProcess | undefined;
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n') : '');

  const startServer = async () => {
    const c = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    let exited: string | undefined;
    c.on('exit', (code, sig) => (exited = `exit ${code ?? sig}`));
    child = c;
    const t0 = Date.now();
    for (;;) {
      if (exited) throw new Error(`redis-server did not start (${exited}): ${err}\n${log()}`);
      try {
        if ((await redisCommand(port, ['PING'], 500)) === 'PONG') return;
      } catch {
        /* not listening yet, or loading the append-only file */
      }
      if (Date.now() - t0 > 20_000) throw new Error(`redis-server did not answer PING within 20 s\n${log()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const stopServer = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    try {
      await redisCommand(port, ['SHUTDOWN'], 5000);
    } catch {
      /* SHUTDOWN closes the connection without a reply */
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([gone, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    clearTimeout(timer);
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await gone;
    }
    child = undefined;
  };
  const kill = () => {
    // at process exit: synchronous and best effort
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await startServer();
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
  return {
    port,
    host: '127.0.0.1',
    url: `redis://127.0.0.1:${port}`,
    dir,
    command: (...a) => redisCommand(port, a),
    async restart({ downMs = 0 } = {}) {
      await stopServer();
      if (downMs) await new Promise((r) => setTimeout(r, downMs));
      await startServer();
    },
    stopServer,
    startServer,
    async stop() {
      live.delete(kill);
      await stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
    log,
  };
}

/** Whether redis-server can be started here (for a skip reason). */
export function redisSkipReason(): string | undefined {
  if (!haveRedis()) return 'redis-server not installed (Debian package redis-server)';
  const r = spawnSync(redisServerBin(), ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `redis-server --version failed: ${r.stderr}`;
}

/**
 * A TCP proxy in front of a server, for half-open connection tests: blackhole() makes
 * every connection open now silent for ever (nothing forwarded either way, no FIN, no
 * RST: what a NAT or firewall that forgot the flow does), while new connections pass.
 */
export interface BlackholeProxy {
  port: number;
  url: string;
  blackhole(): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startBlackholeProxy(target: { host: string; port: number }): Promise<BlackholeProxy> {
  const pairs = new Set<{ a: import('node:net').Socket; b: import('node:net').Socket; dead: boolean }>();
  let accepted = 0;
  const srv = createServer((a) => {
    accepted++;
    const b = createConnection({ host: target.host, port: target.port });
    const pair = { a, b, dead: false };
    pairs.add(pair);
    a.on('data', (d) => {
      if (!pair.dead) b.write(d);
    });
    b.on('data', (d) => {
      if (!pair.dead) a.write(d);
    });
    const end = () => {
      pairs.delete(pair);
      if (pair.dead) return; // a blackholed peer never learns anything
      a.destroy();
      b.destroy();
    };
    a.on('close', end);
    b.on('close', end);
    a.on('error', () => undefined);
    b.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    blackhole() {
      for (const p of pairs) p.dead = true;
    },
    get accepted() {
      return accepted;
    },
    async close() {
      for (const p of pairs) {
        p.a.destroy();
        p.b.destroy();
      }
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}
