import type Database from 'better-sqlite3';

/** Every statement the SQLite store runs. */
const SQL = {
  getJob: 'SELECT * FROM jobs WHERE job_id = ?',
  getState: 'SELECT job_id, status, attempt, worker_id, source, idempotency_key, namespace, error_code FROM jobs WHERE job_id = ?',
  /** getState with the job's last event sequence (null: none), in one look-up for begin. */
  getStateSeq: `SELECT job_id, status, attempt, worker_id, source, idempotency_key, namespace, error_code,
        (SELECT MAX(sequence) FROM events WHERE events.job_id = jobs.job_id) AS max_seq FROM jobs WHERE job_id = ?`,
  insertJob: `INSERT INTO jobs (job_id, operation, namespace, status, priority, attempt, max_attempts,
        idempotency_key, worker_id, source, trace_id, doc, created_at, queued_at, updated_at, hold, hold_reason)
      VALUES (?, ?, ?, 'pending', ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertDependency: 'INSERT OR IGNORE INTO job_dependencies (parent_id, child_id) VALUES (?, ?)',
  dependants: 'SELECT child_id FROM job_dependencies WHERE parent_id = ? ORDER BY child_id',
  getHold: 'SELECT hold, hold_reason FROM jobs WHERE job_id = ?',
  heldJobs: 'SELECT * FROM jobs WHERE hold IS NOT NULL ORDER BY queued_at, job_id LIMIT ?',
  heldJobsAfter: 'SELECT * FROM jobs WHERE hold IS NOT NULL AND (queued_at, job_id) > (?, ?) ORDER BY queued_at, job_id LIMIT ?',
  swapHold: `UPDATE jobs SET hold = @to, hold_reason = @reason, hold_token = @token, updated_at = @now
      WHERE job_id = @job_id AND status = 'pending' AND (hold = @from OR hold_token = @token)`,
  resubmit: `UPDATE jobs SET worker_id = @worker_id, source = @source, updated_at = @now WHERE job_id = @job_id AND status = 'pending'`,
  setStatus: `UPDATE jobs SET status = @to, worker_id = @worker_id, updated_at = @now,
        next_attempt_at = @next_attempt_at, error_code = @error_code,
        finished_at = CASE WHEN @terminal THEN @now ELSE finished_at END
      WHERE job_id = @job_id AND status = @from`,
  assign: `UPDATE jobs SET status = 'assigned', worker_id = @worker_id, source = @source,
        updated_at = @now, next_attempt_at = NULL WHERE job_id = @job_id AND status = @from`,
  beginAttempt: `UPDATE jobs SET status = 'running', worker_id = @worker_id, source = @source, attempt = @attempt,
      started_at = @now, updated_at = @now, next_attempt_at = NULL WHERE job_id = @job_id AND status = 'pending'`,
  startAttempt: `UPDATE jobs SET status = 'running', attempt = @attempt, started_at = @now, updated_at = @now
      WHERE job_id = @job_id AND status = 'assigned'`,
  insertAttempt: `INSERT OR REPLACE INTO attempts (job_id, attempt, worker_id, started_at, status)
      VALUES (?, ?, ?, ?, 'running')`,
  insertEndedAttempt: `INSERT OR REPLACE INTO attempts (job_id, attempt, worker_id, started_at, finished_at, status)
      VALUES (?, ?, ?, ?, ?, ?)`,
  completePending: `UPDATE jobs SET status = 'completed', worker_id = NULL, source = ?, attempt = ?,
        started_at = ?, finished_at = ?, updated_at = ?, next_attempt_at = NULL, error_code = NULL
      WHERE job_id = ? AND status = 'pending'`,
  finishAttempt: `UPDATE attempts SET finished_at = @now, status = @status, error_code = @error_code,
        error_message = @error_message WHERE job_id = @job_id AND attempt = @attempt`,
  transition: `INSERT INTO transitions (job_id, from_status, to_status, attempt, worker_id, at, reason)
      VALUES (?, ?, ?, ?, ?, ?, ?)`,
  /** pending → assigned → running → completed of one attempt that began and ended in one step, in that order. */
  transitionsToCompleted: `INSERT INTO transitions (job_id, from_status, to_status, attempt, worker_id, at, reason)
      VALUES (?, 'pending', 'assigned', ?, ?, ?, ?), (?, 'assigned', 'running', ?, ?, ?, NULL),
        (?, 'running', 'completed', ?, ?, ?, NULL)`,
  insertEvent: 'INSERT OR REPLACE INTO events (job_id, sequence, timestamp, phase, doc) VALUES (?, ?, ?, ?, ?)',
  maxSeq: 'SELECT MAX(sequence) AS m FROM events WHERE job_id = ?',
  events: 'SELECT doc FROM events WHERE job_id = ? AND sequence > ? ORDER BY sequence',
  putResult: 'INSERT OR REPLACE INTO results (job_id, status, doc, created_at) VALUES (?, ?, ?, ?)',
  getResult: 'SELECT doc FROM results WHERE job_id = ?',
  getIdem: 'SELECT * FROM idempotency WHERE scope = ? AND key = ?',
  insertIdem: `INSERT INTO idempotency (scope, key, job_id, state, created_at, updated_at)
      VALUES (?, ?, ?, 'running', ?, ?)`,
  takeIdem: `UPDATE idempotency SET job_id = ?, state = 'running', updated_at = ? WHERE scope = ? AND key = ?`,
  completeIdem: `UPDATE idempotency SET state = 'completed', updated_at = ? WHERE scope = ? AND key = ? AND job_id = ?`,
  releaseIdem: `DELETE FROM idempotency WHERE scope = ? AND key = ? AND job_id = ? AND state = 'running'`,
  upsertWorker: `INSERT INTO workers (worker_id, registration, state, current_jobs, registered_at, last_heartbeat)
      VALUES (@worker_id, @registration, @state, @current_jobs, @now, @now)
      ON CONFLICT (worker_id) DO UPDATE SET registration = excluded.registration, state = excluded.state,
        current_jobs = excluded.current_jobs, registered_at = excluded.registered_at,
        last_heartbeat = excluded.last_heartbeat`,
  heartbeat: 'UPDATE workers SET state = ?, current_jobs = ?, last_heartbeat = ? WHERE worker_id = ?',
  getWorker: 'SELECT * FROM workers WHERE worker_id = ?',
  liveWorkers: `SELECT worker_id FROM workers WHERE last_heartbeat >= ? AND state != 'offline'`,
  activeOf: `SELECT * FROM jobs WHERE worker_id = ? AND status IN ('pending','assigned','running')`,
  jobTransitions: 'SELECT * FROM transitions WHERE job_id = ? ORDER BY id',
  attempts: 'SELECT * FROM attempts WHERE job_id = ? ORDER BY attempt',
  unassign: `UPDATE jobs SET worker_id = NULL, updated_at = ? WHERE job_id = ? AND status = 'pending'`,
  refund: 'UPDATE jobs SET attempt = MAX(0, attempt - 1) WHERE job_id = ?',
  allWorkers: 'SELECT * FROM workers ORDER BY worker_id',
  removeJob: 'DELETE FROM jobs WHERE job_id = ?',
  removeResult: 'DELETE FROM results WHERE job_id = ?',
  removeEvents: 'DELETE FROM events WHERE job_id = ?',
  removeAttempts: 'DELETE FROM attempts WHERE job_id = ?',
  removeTransitions: 'DELETE FROM transitions WHERE job_id = ?',
  removeIdem: 'DELETE FROM idempotency WHERE job_id = ?',
  loadOf: `SELECT
        COALESCE(SUM(status = 'pending'), 0) AS queued,
        COALESCE(SUM(status IN ('assigned','running')), 0) AS running
      FROM jobs WHERE namespace = ? AND status IN ('pending','assigned','running')`,
  loadOfDefault: `SELECT
        COALESCE(SUM(status = 'pending'), 0) AS queued,
        COALESCE(SUM(status IN ('assigned','running')), 0) AS running
      FROM jobs WHERE (namespace = 'default' OR namespace IS NULL) AND status IN ('pending','assigned','running')`,
  submittedSince: 'SELECT COUNT(*) AS n FROM jobs WHERE namespace = ? AND queued_at >= ?',
  submittedSinceDefault: `SELECT COUNT(*) AS n FROM jobs WHERE (namespace = 'default' OR namespace IS NULL) AND queued_at >= ?`,
  byIdemKey: `SELECT * FROM jobs WHERE idempotency_key = ? AND (namespace = ? OR (? AND namespace IS NULL))
      ORDER BY queued_at DESC, job_id DESC LIMIT 1`,
} as const;

export type Statements = Record<keyof typeof SQL, Database.Statement>;

/** Prepared once per connection. */
export function prepareStatements(db: Database.Database): Statements {
  return Object.fromEntries(Object.entries(SQL).map(([k, sql]) => [k, db.prepare(sql)])) as Statements;
}
