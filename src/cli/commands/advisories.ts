import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { GuestkitError } from '../../protocol/errors.js';
import { AdvisoryDb, defaultAdvisoryDbPath, importAdvisories, type ImportSummary } from '../../vulns/index.js';
import { action, writeJson } from '../output.js';

interface DbOptions {
  db?: string;
  json?: boolean;
}

function importText(s: ImportSummary): string {
  const lines = [
    `imported ${s.source} into ${s.db}: ${s.records} records in ${s.files} files — ${s.inserted} new, ${s.replaced} replaced by a newer version, ${s.kept} unchanged (stored copy as new or newer)`,
    `ecosystems: ${s.ecosystems.length ? s.ecosystems.join(', ') : '(none)'}`,
  ];
  if (s.malformed) {
    lines.push(`WARNING: ${s.malformed} malformed entries skipped${s.malformed > s.malformed_entries.length ? ` (first ${s.malformed_entries.length} listed)` : ''}:`);
    for (const m of s.malformed_entries) lines.push(`  ${m.file}${m.id ? ` (${m.id})` : ''}: ${m.error}`);
  }
  return lines.join('\n') + '\n';
}

async function runImport(source: string, opts: DbOptions): Promise<number> {
  // before the database is created: a mistyped path must not leave an empty database behind
  if (!existsSync(source)) throw new GuestkitError('NOT_FOUND', `${source}: no such file or directory`, { details: { path: source } });
  const db = AdvisoryDb.open(opts.db ?? defaultAdvisoryDbPath(), { create: true });
  try {
    const s = await importAdvisories(db, source);
    if (opts.json) writeJson(s);
    else process.stdout.write(importText(s));
    // some malformed entries among good ones are reported, not fatal; nothing usable at all is a failure
    return s.malformed > 0 && s.inserted + s.replaced + s.kept === 0 ? 1 : 0;
  } finally {
    db.close();
  }
}

async function runStatus(opts: DbOptions): Promise<number> {
  const db = AdvisoryDb.open(opts.db ?? defaultAdvisoryDbPath());
  try {
    const ecosystems = db.ecosystems().map((e) => ({ ecosystem: e, ...db.status([e]) }));
    const doc = { db: db.path, advisories: db.advisoryCount(), ecosystems };
    if (opts.json) writeJson(doc);
    else {
      process.stdout.write(`${doc.db}: ${doc.advisories} advisories\n`);
      for (const e of ecosystems) process.stdout.write(`  ${e.ecosystem.padEnd(28)} ${String(e.advisories).padStart(7)} advisories, imported ${e.imported_at}\n`);
    }
    return 0;
  } finally {
    db.close();
  }
}

export function registerAdvisoriesCommands(program: Command): void {
  const cmd = program.command('advisories').description('The local OSV advisory database that `guestkit vulns` matches against (no network needed)');
  const dbHelp = 'advisory database file (default $GUESTKIT_ADVISORY_DB, else $GUESTKIT_DATA_DIR or ./.guestkit, /advisories.db)';
  cmd
    .command('import')
    .description("Load OSV advisories (a directory of *.json, an osv.dev ecosystem all.zip, or one JSON file); a record replaces the stored one with its id when its `modified` is newer")
    .argument('<path>', 'directory, .zip archive or .json file')
    .option('--db <file>', dbHelp)
    .option('--json', 'the import summary as JSON')
    .action(action(runImport));
  cmd
    .command('status')
    .description('What the advisory database holds: ecosystems, advisory counts, import times')
    .option('--db <file>', dbHelp)
    .option('--json', 'as JSON')
    .action(action(runStatus));
}
