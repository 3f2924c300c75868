import type { Command } from 'commander';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { DEFAULT_DATA_DIR } from '../../app/serve-config.js';
import { GuestkitError } from '../../protocol/errors.js';
import { checkCreateInput, generateToken, ROLES, type Role, type TokenRecord } from '../../ports/token-store.js';
import { controlDbFile, openControlStores, type ControlStores } from '../../store/sqlite/control-db.js';
import { table } from '../format.js';
import { action, EXIT_OK, usage, writeJson } from '../output.js';

export const DATA_DIR_HELP = `the server's data folder, holding control.db [GUESTKIT_DATA_DIR] (default: ${DEFAULT_DATA_DIR})`;

/** --data-dir, else GUESTKIT_DATA_DIR, else the default `guestkit serve` uses. */
export function dataDirOf(flag: string | undefined): string {
  return resolve(flag ?? (process.env.GUESTKIT_DATA_DIR || DEFAULT_DATA_DIR));
}

/**
 * The control stores of a data folder. Only `create` may make the folder (its parent must
 * exist, as for serve); reading commands need a control.db that is already there.
 */
export function openControl(dataDir: string, opts: { create?: boolean } = {}): ControlStores {
  if (!existsSync(controlDbFile(dataDir))) {
    if (!opts.create) throw usage(`no control.db in ${dataDir} (wrong --data-dir? guestkit serve or guestkit token create make it)`);
    if (!existsSync(dataDir)) {
      if (!existsSync(dirname(dataDir))) throw usage(`--data-dir ${dataDir}: its parent ${dirname(dataDir)} does not exist (only the data folder itself is created)`);
      mkdirSync(dataDir);
    }
  }
  if (!statSync(dataDir).isDirectory()) throw usage(`--data-dir ${dataDir} is not a folder`);
  return openControlStores(dataDir);
}

export const STORE_HELP = 'the control store: sqlite (control.db in --data-dir) or postgres://user@host/db, the one guestkit serve --store uses [GUESTKIT_STORE] (default: sqlite)';

export interface StoreFlags {
  dataDir?: string;
  store?: string;
}

/**
 * The token and audit stores of --store (else GUESTKIT_STORE): a cluster's PostgreSQL,
 * reachable from any machine, or the SQLite control.db of --data-dir.
 */
export async function openStores(flags: StoreFlags, opts: { create?: boolean } = {}): Promise<ControlStores> {
  const store = flags.store ?? (process.env.GUESTKIT_STORE || 'sqlite');
  if (store === 'sqlite') return openControl(dataDirOf(flags.dataDir), opts);
  if (!/^postgres(ql)?:\/\//.test(store)) throw usage(`--store must be sqlite or a postgres:// connection string, got ${JSON.stringify(redact(store))}`);
  if (flags.dataDir !== undefined) throw usage(`--data-dir names a SQLite control.db, --store ${redact(store)} a PostgreSQL one: give one of them`);
  const { openPgControlStores } = await import('../../store/postgres/pg-control-db.js');
  return openPgControlStores(store);
}

const redact = (url: string) => url.replace(/:[^:@/]*@/, ':***@');

/** Who acts when the CLI changes tokens (recorded in the audit log). */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `30d`, `12h`, `90m`, `2w` from now, or `never` (null). */
export function parseExpires(text: string, now: number): number | null {
  if (text === 'never') return null;
  const m = /^(\d{1,6})([mhdw])$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw usage(`--expires must be a duration such as 30d, 12h, 90m, 2w, or never; got "${text}"`);
  return now + Number(m[1]) * UNITS[m[2]!]!;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function stateOf(r: TokenRecord, now: number): 'active' | 'revoked' | 'expired' {
  if (r.revokedAt !== null) return 'revoked';
  return r.expiresAt !== null && r.expiresAt <= now ? 'expired' : 'active';
}

function recordJson(r: TokenRecord, now: number): Record<string, unknown> {
  return {
    id: r.id,
    namespace: r.namespace,
    role: r.role,
    state: stateOf(r, now),
    description: r.description,
    created_at: iso(r.createdAt),
    expires_at: iso(r.expiresAt),
    revoked_at: iso(r.revokedAt),
    last_used_at: iso(r.lastUsedAt),
  };
}

interface CreateFlags {
  namespace: string;
  role: string;
  expires?: string;
  description?: string;
  dataDir?: string;
  store?: string;
  json?: boolean;
}

async function createCmd(flags: CreateFlags): Promise<number> {
  const input = { namespace: flags.namespace, role: flags.role as Role, expiresAt: parseExpires(flags.expires ?? 'never', Date.now()), description: flags.description };
  try {
    checkCreateInput(input, Date.now()); // before any database is made
  } catch (err) {
    // a wrong namespace or description is the caller's mistake: exit 2 like the other usage errors
    if (err instanceof GuestkitError && err.code === 'VALIDATION_ERROR') throw usage(err.message.replace(/^(\w+)/, '--$1'));
    throw err;
  }
  const c = await openStores(flags, { create: true });
  try {
    const { token, record } = await c.tokens.create(input);
    await c.audit.append({
      actor: cliActor(),
      role: 'admin',
      namespace: record.namespace,
      action: 'token.create',
      target: record.id,
      sourceIp: null,
      outcome: 'ok',
      status: 0,
      details: { role: record.role, expires_at: iso(record.expiresAt) },
    });
    if (flags.json) {
      writeJson({ token, ...recordJson(record, Date.now()) });
      return EXIT_OK;
    }
    const rows = [
      ['token', token],
      ['id', record.id],
      ['namespace', record.namespace],
      ['role', record.role],
      ['expires', iso(record.expiresAt) ?? 'never'],
      ...(record.description === null ? [] : [['description', record.description]]),
    ];
    process.stdout.write(`${table(rows)}\n\nStore the token now: it cannot be shown again (only its hash is kept).\n`);
    return EXIT_OK;
  } finally {
    await c.close();
  }
}

async function listCmd(flags: StoreFlags & { namespace?: string; json?: boolean }): Promise<number> {
  const c = await openStores(flags);
  try {
    const items = await c.tokens.list({ namespace: flags.namespace });
    const now = Date.now();
    if (flags.json) {
      writeJson({ items: items.map((r) => recordJson(r, now)) });
      return EXIT_OK;
    }
    if (items.length === 0) {
      process.stdout.write(`no tokens${flags.namespace === undefined ? '' : ` in namespace ${flags.namespace}`}\n`);
      return EXIT_OK;
    }
    const day = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));
    const rows = [['ID', 'NAMESPACE', 'ROLE', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED', 'DESCRIPTION']];
    for (const r of items) {
      rows.push([r.id, r.namespace, r.role, stateOf(r, now), day(r.createdAt), r.expiresAt === null ? 'never' : day(r.expiresAt), day(r.lastUsedAt), r.description ?? '']);
    }
    process.stdout.write(table(rows) + '\n');
    return EXIT_OK;
  } finally {
    await c.close();
  }
}

async function revokeCmd(id: string, flags: StoreFlags & { json?: boolean }): Promise<number> {
  const c = await openStores(flags);
  try {
    const revoked = await c.tokens.revoke(id);
    const rec = await c.tokens.get(id);
    if (!rec) throw new GuestkitError('NOT_FOUND', `no token ${id} (see guestkit token list)`);
    if (revoked) {
      await c.audit.append({ actor: cliActor(), role: 'admin', namespace: rec.namespace, action: 'token.revoke', target: id, sourceIp: null, outcome: 'ok', status: 0 });
    }
    if (flags.json) writeJson({ id, revoked: true, already_revoked: !revoked, revoked_at: iso(rec.revokedAt) });
    else process.stdout.write(revoked ? `revoked token ${id}\n` : `token ${id} was already revoked (${iso(rec.revokedAt)})\n`);
    return EXIT_OK;
  } finally {
    await c.close();
  }
}

async function generateCmd(flags: { json?: boolean }): Promise<number> {
  const token = generateToken();
  if (flags.json) writeJson({ token });
  else process.stdout.write(token + '\n');
  return EXIT_OK;
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('Make, list and revoke the API tokens of guestkit serve (kept in <data-dir>/control.db, or in the PostgreSQL of --store)');

  token
    .command('generate')
    .description('Print a new random token without storing it, for a Secret that guestkit serve adopts (GUESTKIT_ADMIN_TOKEN)')
    .option('--json', 'print {token} as JSON')
    .addHelpText(
      'after',
      `
Examples:
  kubectl -n guestkit create secret generic guestkit-admin-token --from-literal=token=$(guestkit token generate)
  GUESTKIT_ADMIN_TOKEN=$(guestkit token generate) guestkit serve`,
    )
    .action(action(generateCmd));

  token
    .command('create')
    .description('Make a token and print it once: only a hash of its secret is kept')
    .requiredOption('--namespace <ns>', 'the namespace it may see (an admin sees all, this is its own)')
    .requiredOption('--role <role>', `${ROLES.join(' | ')}: read; read and submit, cancel, retry, delete; everything`)
    .option('--expires <when>', 'lifetime: 30d, 12h, 90m, 2w, or never (default: never)')
    .option('--description <text>', 'what it is for (shown by token list)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--store <url>', STORE_HELP)
    .option('--json', 'print {token, id, …} as JSON')
    .addHelpText(
      'after',
      `
Examples:
  guestkit token create --namespace team-a --role submitter --expires 30d --description ci
  guestkit token create --namespace ops --role admin --json
  guestkit token create --namespace team-a --role viewer --store postgres://guestkit@db/guestkit`,
    )
    .action(
      action(async (flags: CreateFlags) => {
        if (!(ROLES as readonly string[]).includes(flags.role)) throw usage(`--role must be one of ${ROLES.join(', ')}; got "${flags.role}"`);
        return createCmd(flags);
      }),
    );

  token
    .command('list')
    .description('List tokens (never their secrets), newest first')
    .option('--namespace <ns>', 'only this namespace')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--store <url>', STORE_HELP)
    .option('--json', 'print {items: […]} as JSON')
    .action(action(listCmd));

  token
    .command('revoke')
    .description('Revoke a token: a running server refuses it within seconds')
    .argument('<id>', 'the token id (the part after gk_, as token list shows it)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--store <url>', STORE_HELP)
    .option('--json', 'print the outcome as JSON')
    .action(action(revokeCmd));
}
