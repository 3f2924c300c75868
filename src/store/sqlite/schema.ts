/**
 * SQLite schema of the embedded store. The API shares this database later, so it is
 * versioned (PRAGMA user_version) and only ever migrated forward.
 */
export const SCHEMA_VERSION = 7;

export const MIGRATIONS: readonly string[] = [
  // v1
  `
  CREATE TABLE jobs (
    job_id          TEXT PRIMARY KEY,
    operation       TEXT NOT NULL,
    namespace       TEXT,
    status          TEXT NOT NULL CHECK (status IN
                      ('pending','assigned','running','completed','failed','cancelled','timeout')),
    priority        INTEGER NOT NULL,
    attempt         INTEGER NOT NULL DEFAULT 0,      -- attempts started so far
    max_attempts    INTEGER NOT NULL,
    idempotency_key TEXT,
    worker_id       TEXT,                            -- worker holding it (assigned/running)
    source          TEXT,                            -- transport reference (spool file name, queue id)
    trace_id        TEXT,
    doc             TEXT NOT NULL,                   -- the job document as received
    created_at      TEXT NOT NULL,                   -- from the document, UTC
    queued_at       INTEGER NOT NULL,                -- ms since epoch, when first seen
    started_at      INTEGER,
    finished_at     INTEGER,
    next_attempt_at INTEGER,
    error_code      TEXT,
    updated_at      INTEGER NOT NULL
  );
  CREATE INDEX jobs_by_status ON jobs(status, priority DESC, queued_at);
  CREATE INDEX jobs_by_worker ON jobs(worker_id, status);

  -- Every state change, in commit order: the audit trail and the source of truth
  -- for "how many were running at once".
  CREATE TABLE transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     TEXT NOT NULL,
    from_status TEXT,
    to_status  TEXT NOT NULL,
    attempt    INTEGER NOT NULL,
    worker_id  TEXT,
    at         INTEGER NOT NULL,
    reason     TEXT
  );
  CREATE INDEX transitions_by_job ON transitions(job_id, id);

  CREATE TABLE attempts (
    job_id        TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    worker_id     TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    status        TEXT NOT NULL,                     -- running, then the attempt's outcome
    error_code    TEXT,
    error_message TEXT,
    PRIMARY KEY (job_id, attempt)
  );

  CREATE TABLE events (
    job_id    TEXT NOT NULL,
    sequence  INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    phase     TEXT NOT NULL,
    doc       TEXT NOT NULL,
    PRIMARY KEY (job_id, sequence)
  ) WITHOUT ROWID;

  CREATE TABLE results (
    job_id     TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    doc        TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );

  -- Scope is the namespace (the tenant boundary): equal keys of two tenants never meet.
  CREATE TABLE idempotency (
    scope      TEXT NOT NULL,
    key        TEXT NOT NULL,
    job_id     TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('running','completed')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  ) WITHOUT ROWID;

  CREATE TABLE workers (
    worker_id      TEXT PRIMARY KEY,
    registration   TEXT NOT NULL,
    state          TEXT NOT NULL,
    current_jobs   INTEGER NOT NULL,
    registered_at  INTEGER NOT NULL,
    last_heartbeat INTEGER NOT NULL
  );
  `,
  // v2: listing (newest first, cursor on queued_at + job_id) and filters by operation / namespace
  `
  CREATE INDEX jobs_by_queued ON jobs(queued_at, job_id);
  CREATE INDEX jobs_by_operation ON jobs(operation, queued_at);
  CREATE INDEX jobs_by_namespace ON jobs(namespace, queued_at);
  `,
  // v3: transitions without AUTOINCREMENT (rows are never deleted, so rowids still grow in
  // commit order) — one write less per state change
  `
  CREATE TABLE transitions_v3 (
    id          INTEGER PRIMARY KEY,
    job_id      TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    worker_id   TEXT,
    at          INTEGER NOT NULL,
    reason      TEXT
  );
  INSERT INTO transitions_v3 SELECT id, job_id, from_status, to_status, attempt, worker_id, at, reason FROM transitions;
  DROP TABLE transitions;
  ALTER TABLE transitions_v3 RENAME TO transitions;
  CREATE INDEX transitions_by_job ON transitions(job_id, id);
  `,
  // v4: the control plane's lookups — quota counts per namespace and status, idempotency keys at submit
  `
  CREATE INDEX jobs_by_namespace_status ON jobs(namespace, status);
  CREATE INDEX jobs_by_idempotency_key ON jobs(idempotency_key) WHERE idempotency_key IS NOT NULL;
  `,
  // v5: usage sums over finished jobs in a time range
  `
  CREATE INDEX jobs_by_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;
  `,
  // v6: the dashboard's charts (jobs finished per minute by status, wait and run percentiles)
  // read finished jobs by time without their rows: the v5 index widened to cover them (the
  // usage query still seeks on its first column; one index written per finish, as before)
  `
  DROP INDEX jobs_by_finished;
  CREATE INDEX jobs_by_finished ON jobs(finished_at, status, namespace, operation, queued_at, started_at) WHERE finished_at IS NOT NULL;
  `,
  // v7: accepted jobs that wait outside the queue (for their parents, or for a worker that can
  // run them), and the dependency edges (execution.depends_on) looked up by parent. A job that
  // leaves pending is not held any more (the trigger keeps every writer honest).
  `
  ALTER TABLE jobs ADD COLUMN hold TEXT CHECK (hold IN ('dependencies','capacity'));
  ALTER TABLE jobs ADD COLUMN hold_reason TEXT;
  ALTER TABLE jobs ADD COLUMN hold_token TEXT;
  CREATE INDEX jobs_held ON jobs(queued_at, job_id) WHERE hold IS NOT NULL;
  CREATE TABLE job_dependencies (
    parent_id TEXT NOT NULL,
    child_id  TEXT NOT NULL,
    PRIMARY KEY (parent_id, child_id)
  ) WITHOUT ROWID;
  CREATE INDEX job_dependencies_by_child ON job_dependencies(child_id);
  CREATE TRIGGER jobs_unhold AFTER UPDATE OF status ON jobs
    WHEN NEW.status <> 'pending' AND NEW.hold IS NOT NULL
    BEGIN UPDATE jobs SET hold = NULL, hold_reason = NULL WHERE job_id = NEW.job_id; END;
  CREATE TRIGGER jobs_forget_dependencies AFTER DELETE ON jobs
    BEGIN DELETE FROM job_dependencies WHERE child_id = OLD.job_id; END;
  `,
];
