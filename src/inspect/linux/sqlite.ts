import { corrupt } from '../../protocol/errors.js';

/**
 * Reads an SQLite database the guest holds, from its bytes in memory (never from a path: the
 * guest's file is copied out by the filesystem reader, then deserialized read-only). Shared by
 * the rpm (rpmdb.sqlite) and Nix (db.sqlite) package readers.
 *
 * The guest's schema is SQL the guest wrote: a view, a virtual table or a generated column
 * runs it on every read (a recursive view never ends; `zeroblob(n)` columns allocate GiBs out
 * of a few KiB), and the query is synchronous, so nothing could stop it. Neither database has
 * any of these: one that does is refused before the query runs.
 */
export async function queryDatabase<T>(file: Buffer, sql: string): Promise<T[]> {
  // Loaded on demand: the native addon costs start-up time that other guests need not pay.
  const { default: Database } = await import('better-sqlite3');
  const copy = Buffer.from(file);
  // A WAL-mode database cannot be deserialized as such; rollback mode reads the same pages.
  if (copy.length > 19 && copy[18] === 2) copy[18] = copy[19] = 1;
  let db: InstanceType<typeof Database> | undefined;
  try {
    db = new Database(copy, { readonly: true });
    const active = db
      .prepare(
        `SELECT type, name FROM sqlite_master WHERE type = 'view' OR (type = 'table' AND sql LIKE 'CREATE VIRTUAL%')
         UNION ALL
         SELECT 'generated column', m.name || '.' || x.name FROM sqlite_master m JOIN pragma_table_xinfo(m.name) x WHERE m.type = 'table' AND x.hidden IN (2, 3)
         LIMIT 1`,
      )
      .get() as { type: string; name: string } | undefined;
    if (active) {
      throw corrupt(`SQLite database holds a ${active.type === 'table' ? 'virtual table' : active.type} (${String(active.name).slice(0, 100)}): its SQL would run on read; not queried`, {
        sqlite_object: active.type,
      });
    }
    return db.prepare(sql).all() as T[];
  } finally {
    db?.close();
  }
}
