import Database from 'better-sqlite3';
import { join } from 'node:path';

export interface TransitionRow {
  id: number;
  job_id: string;
  from_status: string | null;
  to_status: string;
  attempt: number;
  worker_id: string | null;
  at: number;
  reason: string | null;
}

export interface JobRowView {
  job_id: string;
  status: string;
  attempt: number;
  worker_id: string | null;
  [k: string]: unknown;
}

/**
 * Reads a worker's SQLite store from outside, as an operator would with sqlite3: the
 * end-to-end tests check what the running binary recorded without going through its code.
 */
export class StoreReader {
  private constructor(private readonly db: Database.Database) {}

  static open(dataDir: string): StoreReader {
    const db = new Database(join(dataDir, 'guestkit.db'), { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    return new StoreReader(db);
  }

  transitions(jobId?: string): TransitionRow[] {
    return (jobId === undefined
      ? this.db.prepare('SELECT * FROM transitions ORDER BY id').all()
      : this.db.prepare('SELECT * FROM transitions WHERE job_id = ? ORDER BY id').all(jobId)) as TransitionRow[];
  }

  getJob(jobId: string): JobRowView | undefined {
    return this.db.prepare('SELECT * FROM jobs WHERE job_id = ?').get(jobId) as JobRowView | undefined;
  }

  attempts(jobId: string): { attempt: number; worker_id: string; status: string; error_code: string | null; started_at: number; finished_at: number | null }[] {
    return this.db.prepare('SELECT * FROM attempts WHERE job_id = ? ORDER BY attempt').all(jobId) as never;
  }

  events(jobId: string): unknown[] {
    return (this.db.prepare('SELECT doc FROM events WHERE job_id = ? ORDER BY sequence').all(jobId) as { doc: string }[]).map((r) => JSON.parse(r.doc) as unknown);
  }

  close(): void {
    this.db.close();
  }
}
