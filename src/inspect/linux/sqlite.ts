/**
 * Reads an SQLite database the guest holds, from its bytes in memory (never from a path: the
 * guest's file is copied out by the filesystem reader, then deserialized read-only). Shared by
 * the rpm (rpmdb.sqlite) and Nix (db.sqlite) package readers.
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
    return db.prepare(sql).all() as T[];
  } finally {
    db?.close();
  }
}
