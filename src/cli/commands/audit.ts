import type { Command } from 'commander';
import { MAX_AUDIT_PAGE, toJson } from '../../ports/audit-log.js';
import { table } from '../format.js';
import { action, EXIT_FAILED, EXIT_OK, usage, writeJson } from '../output.js';
import { DATA_DIR_HELP, openStores, STORE_HELP, type StoreFlags } from './token.js';

async function verifyCmd(flags: StoreFlags & { json?: boolean }): Promise<number> {
  const c = await openStores(flags);
  try {
    const v = await c.audit.verify();
    if (flags.json) {
      writeJson(v.ok ? { ok: true, entries: v.entries } : { ok: false, entries: v.entries, broken_at: v.brokenAt, reason: v.reason });
    } else if (v.ok) {
      process.stdout.write(`audit log intact: ${v.entries} entr${v.entries === 1 ? 'y' : 'ies'}, every hash checks\n`);
    } else {
      const before = v.entries === 0 ? 'no entry before it checks' : v.entries === 1 ? 'entry 1 before it checks' : `entries 1 to ${v.entries} before it check`;
      process.stdout.write(`audit log BROKEN at entry ${v.brokenAt}: ${v.reason} (${before})\n`);
    }
    return v.ok ? EXIT_OK : EXIT_FAILED;
  } finally {
    await c.close();
  }
}

async function listCmd(flags: StoreFlags & { limit?: string; cursor?: string; json?: boolean }): Promise<number> {
  const limit = Number(flags.limit ?? 20);
  if (!/^\d+$/.test(flags.limit ?? '20') || limit < 1 || limit > MAX_AUDIT_PAGE) throw usage(`--limit must be an integer from 1 to ${MAX_AUDIT_PAGE}, got "${flags.limit}"`);
  const c = await openStores(flags);
  try {
    const page = await c.audit.list({ limit, cursor: flags.cursor });
    if (flags.json) {
      writeJson({ items: page.items.map(toJson), ...(page.next ? { next: page.next } : {}) });
      return EXIT_OK;
    }
    if (page.items.length === 0) {
      process.stdout.write('no audit entries\n');
      return EXIT_OK;
    }
    const rows = [['SEQ', 'AT', 'ACTOR', 'ROLE', 'NAMESPACE', 'ACTION', 'TARGET', 'OUTCOME', 'STATUS', 'SOURCE']];
    for (const e of page.items) {
      rows.push([String(e.seq), new Date(e.at).toISOString(), e.actor, e.role, e.namespace ?? '-', e.action, e.target ?? '-', e.outcome, String(e.status), e.sourceIp ?? '-']);
    }
    process.stdout.write(table(rows) + '\n');
    if (page.next) process.stdout.write(`(older entries: --cursor ${page.next})\n`);
    return EXIT_OK;
  } finally {
    await c.close();
  }
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('Check and read the hash-chained audit log of guestkit serve (<data-dir>/control.db, or in the PostgreSQL of --store)');

  audit
    .command('verify')
    .description('Recompute the hash chain; exit 1 naming the first entry edited, deleted or out of place')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--store <url>', STORE_HELP)
    .option('--json', 'print {ok, entries, broken_at?, reason?} as JSON')
    .action(action(verifyCmd));

  audit
    .command('list')
    .description('Show audit entries, newest first')
    .option('--limit <n>', `entries to show, 1..${MAX_AUDIT_PAGE} (default: 20)`)
    .option('--cursor <seq>', 'continue below this entry (the cursor the previous page printed)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--store <url>', STORE_HELP)
    .option('--json', 'print {items: [AuditEntry…], next?} as the API does')
    .action(action(listCmd));
}
