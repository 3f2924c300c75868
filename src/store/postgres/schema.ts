/**
 * PostgreSQL schema of the job store, versioned in `gk_migrations` (component `jobs`) and
 * only ever migrated forward, under an advisory lock (connection.ts).
 *
 * Documents, results, events and worker registrations are JSONB, so fleet queries (labels,
 * metrics, images) run in the database. Times are ms since epoch (bigint), as in SQLite.
 *
 * Every write of the store is one of the gk_* functions below, called through
 * gk_apply(batch, ops): the writes asked for during one event-loop turn travel in one
 * statement (one round trip, one transaction, one commit), each op still taking its job
 * row with SELECT … FOR UPDATE so that several processes can share the database. An op's
 * refusal (unknown job, illegal edge) is an outcome, found before the op writes anything,
 * so a refused op leaves nothing behind while the others of its batch commit.
 *
 * gk_batches is the fence that makes a write whose acknowledgement was lost safe to
 * retry: gk_apply inserts its batch id first; after a lost connection the store calls
 * gk_fence(batch), which either finds the committed batch (and its outcomes) or inserts
 * the id itself, so the old transaction, if it still runs, can never commit.
 */
import { VERSION_FUNCTIONS_SQL } from './version-functions.js';

export const PG_SCHEMA_VERSION = 4;

const TERMINAL = `('completed','failed','cancelled','timeout')`;

export const PG_MIGRATIONS: readonly string[] = [
  // v1
  `
  CREATE TABLE jobs (
    job_id          text COLLATE "C" PRIMARY KEY,
    operation       text NOT NULL,
    namespace       text,
    status          text NOT NULL CHECK (status IN
                      ('pending','assigned','running','completed','failed','cancelled','timeout')),
    priority        integer NOT NULL,
    attempt         integer NOT NULL DEFAULT 0,      -- attempts started so far
    max_attempts    integer NOT NULL,
    idempotency_key text,
    worker_id       text,                            -- worker holding it (assigned/running)
    source          text,                            -- transport reference (spool file name, queue id)
    trace_id        text,
    doc             jsonb NOT NULL,                  -- the job document as received
    created_at      text NOT NULL,                   -- from the document, UTC
    queued_at       bigint NOT NULL,                 -- ms since epoch, when first seen
    started_at      bigint,
    finished_at     bigint,
    next_attempt_at bigint,
    error_code      text,
    updated_at      bigint NOT NULL
  );
  CREATE INDEX jobs_by_status ON jobs (status, priority DESC, queued_at);
  CREATE INDEX jobs_by_worker ON jobs (worker_id, status);
  CREATE INDEX jobs_by_queued ON jobs (queued_at, job_id);
  CREATE INDEX jobs_by_operation ON jobs (operation, queued_at);
  CREATE INDEX jobs_by_namespace ON jobs (namespace, queued_at);
  CREATE INDEX jobs_by_namespace_status ON jobs (namespace, status);
  CREATE INDEX jobs_by_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX jobs_by_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
  -- label selectors (key=value) of fleet listings
  CREATE INDEX jobs_by_labels ON jobs USING gin ((doc -> 'metadata' -> 'labels') jsonb_path_ops);

  -- Every state change; per job in commit order (the job row is locked while it is written).
  CREATE TABLE transitions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      text COLLATE "C" NOT NULL,
    from_status text,
    to_status   text NOT NULL,
    attempt     integer NOT NULL,
    worker_id   text,
    at          bigint NOT NULL,
    reason      text
  );
  CREATE INDEX transitions_by_job ON transitions (job_id, id);

  CREATE TABLE attempts (
    job_id        text COLLATE "C" NOT NULL,
    attempt       integer NOT NULL,
    worker_id     text NOT NULL,
    started_at    bigint NOT NULL,
    finished_at   bigint,
    status        text NOT NULL,                     -- running, then the attempt's outcome
    error_code    text,
    error_message text,
    PRIMARY KEY (job_id, attempt)
  );

  CREATE TABLE events (
    job_id    text COLLATE "C" NOT NULL,
    sequence  integer NOT NULL,
    timestamp text NOT NULL,
    phase     text NOT NULL,
    doc       jsonb NOT NULL,
    PRIMARY KEY (job_id, sequence)
  );

  CREATE TABLE results (
    job_id     text COLLATE "C" PRIMARY KEY,
    status     text NOT NULL,
    doc        jsonb NOT NULL,
    created_at bigint NOT NULL
  );

  -- Scope is the namespace (the tenant boundary): equal keys of two tenants never meet.
  CREATE TABLE idempotency (
    scope      text NOT NULL,
    key        text NOT NULL,
    job_id     text COLLATE "C" NOT NULL,
    state      text NOT NULL CHECK (state IN ('running','completed')),
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    PRIMARY KEY (scope, key)
  );
  CREATE INDEX idempotency_by_job ON idempotency (job_id);

  CREATE TABLE workers (
    worker_id      text COLLATE "C" PRIMARY KEY,
    registration   jsonb NOT NULL,
    state          text NOT NULL,
    current_jobs   integer NOT NULL,
    registered_at  bigint NOT NULL,
    last_heartbeat bigint NOT NULL
  );

  -- Write batches of the last minutes (the store deletes older ones): see gk_fence.
  CREATE TABLE gk_batches (
    batch_id uuid PRIMARY KEY,
    at       bigint NOT NULL,                        -- server clock, ms
    fenced   boolean NOT NULL DEFAULT false,         -- inserted by gk_fence: that batch never commits
    outcomes jsonb
  );
  CREATE INDEX gk_batches_by_at ON gk_batches (at);

  CREATE FUNCTION gk_now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS
    $$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint $$;

  CREATE FUNCTION gk_state(p_id text, p_status text, p_attempt integer, p_worker text, p_source text) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS
    $$ SELECT jsonb_build_object('jobId', p_id, 'status', p_status, 'attempt', p_attempt, 'workerId', p_worker, 'source', p_source) $$;

  CREATE FUNCTION gk_not_found(p_id text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS
    $$ SELECT jsonb_build_object('error', 'not_found', 'jobId', p_id) $$;

  CREATE FUNCTION gk_illegal(p_id text, p_from text, p_to text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS
    $$ SELECT jsonb_build_object('error', 'illegal', 'jobId', p_id, 'from', p_from, 'to', p_to) $$;

  CREATE FUNCTION gk_submit(p jsonb, p_now bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    v_job jsonb := p -> 'job';
    v_id text := p -> 'job' ->> 'job_id';
    v_owner text := p ->> 'owner';
    v_source text := p ->> 'source';
    r record;
  BEGIN
    INSERT INTO jobs (job_id, operation, namespace, status, priority, attempt, max_attempts, idempotency_key,
        worker_id, source, trace_id, doc, created_at, queued_at, updated_at)
      VALUES (v_id, v_job ->> 'operation', v_job -> 'metadata' ->> 'namespace', 'pending',
        (v_job -> 'execution' ->> 'priority')::numeric::integer, 0, (v_job -> 'execution' ->> 'max_attempts')::numeric::integer,
        v_job -> 'execution' ->> 'idempotency_key', v_owner, v_source, v_job -> 'observability' ->> 'trace_id',
        v_job, v_job ->> 'created_at', p_now, p_now)
      ON CONFLICT (job_id) DO NOTHING;
    IF FOUND THEN
      INSERT INTO transitions (job_id, from_status, to_status, attempt, worker_id, at, reason)
        VALUES (v_id, NULL, 'pending', 0, v_owner, p_now, NULL);
      RETURN jsonb_build_object('kind', 'accepted', 'resumed', false, 'state', gk_state(v_id, 'pending', 0, v_owner, v_source));
    END IF;
    SELECT status, attempt, worker_id, source INTO r FROM jobs WHERE job_id = v_id FOR UPDATE;
    IF NOT FOUND THEN
      -- removed between the insert and the read: the batch is run again
      RAISE EXCEPTION 'job % vanished during submit', v_id USING ERRCODE = 'serialization_failure';
    END IF;
    -- a finished job, or one held by another worker (or by the owner's previous life)
    IF r.status <> 'pending' OR coalesce((p ->> 'exclusive')::boolean, false) THEN
      RETURN jsonb_build_object('kind', 'duplicate', 'state', gk_state(v_id, r.status, r.attempt, r.worker_id, r.source));
    END IF;
    v_source := coalesce(v_source, r.source);
    UPDATE jobs SET worker_id = v_owner, source = v_source, updated_at = p_now WHERE job_id = v_id;
    RETURN jsonb_build_object('kind', 'accepted', 'resumed', true, 'state', gk_state(v_id, 'pending', r.attempt, v_owner, v_source));
  END $$;

  CREATE FUNCTION gk_claim(p_id text, p_worker text, p_source text, p_now bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    r record;
    v_max integer;
    v_resumed boolean;
    v_source text;
  BEGIN
    SELECT status, attempt, worker_id, source INTO r FROM jobs WHERE job_id = p_id FOR UPDATE;
    IF NOT FOUND THEN RETURN gk_not_found(p_id); END IF;
    IF r.status IN ${TERMINAL} OR (r.status <> 'pending' AND r.worker_id IS DISTINCT FROM p_worker) THEN
      RETURN jsonb_build_object('kind', 'duplicate', 'state', gk_state(p_id, r.status, r.attempt, r.worker_id, r.source));
    END IF;
    IF r.status = 'running' THEN RETURN gk_illegal(p_id, r.status, 'assigned'); END IF;
    SELECT max(sequence) INTO v_max FROM events WHERE job_id = p_id;
    v_resumed := r.attempt > 0 OR r.status = 'assigned' OR v_max IS NOT NULL;
    v_source := coalesce(p_source, r.source);
    IF r.status = 'pending' THEN
      UPDATE jobs SET status = 'assigned', worker_id = p_worker, source = v_source, updated_at = p_now, next_attempt_at = NULL
        WHERE job_id = p_id;
      INSERT INTO transitions (job_id, from_status, to_status, attempt, worker_id, at, reason)
        VALUES (p_id, 'pending', 'assigned', r.attempt, p_worker, p_now, CASE WHEN v_resumed THEN 'resumed' END);
    END IF;
    RETURN jsonb_build_object('kind', 'claimed', 'resumed', v_resumed, 'nextSequence', coalesce(v_max + 1, 0),
      'state', gk_state(p_id, 'assigned', r.attempt, p_worker, v_source));
  END $$;

  -- Takes an idempotency key: free → taken (NULL); held by a completed job → its result;
  -- held by a running job → refused. The same job re-taking its own key takes it again; a
  -- holder that is not active any more gives it up. The key's row is locked meanwhile.
  CREATE FUNCTION gk_idem(p_scope text, p_key text, p_id text, p_now bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    h record;
    v_doc jsonb;
    v_status text;
  BEGIN
    LOOP
      SELECT job_id, state INTO h FROM idempotency WHERE scope = p_scope AND key = p_key FOR UPDATE;
      EXIT WHEN FOUND;
      INSERT INTO idempotency (scope, key, job_id, state, created_at, updated_at)
        VALUES (p_scope, p_key, p_id, 'running', p_now, p_now) ON CONFLICT DO NOTHING;
      IF FOUND THEN RETURN NULL; END IF;
      -- another process took it meanwhile: read its row
    END LOOP;
    IF h.state = 'completed' THEN
      SELECT doc INTO v_doc FROM results WHERE job_id = h.job_id;
      IF FOUND THEN
        RETURN jsonb_build_object('kind', 'replay', 'originalJobId', h.job_id, 'result', v_doc);
      END IF;
      -- result row lost: this job runs and owns the key
      UPDATE idempotency SET job_id = p_id, state = 'running', updated_at = p_now WHERE scope = p_scope AND key = p_key;
      RETURN NULL;
    END IF;
    IF h.job_id = p_id THEN RETURN NULL; END IF;
    SELECT status INTO v_status FROM jobs WHERE job_id = h.job_id;
    IF NOT FOUND OR v_status IN ${TERMINAL} THEN
      UPDATE idempotency SET job_id = p_id, state = 'running', updated_at = p_now WHERE scope = p_scope AND key = p_key;
      RETURN NULL;
    END IF;
    RETURN jsonb_build_object('kind', 'held', 'holderJobId', h.job_id);
  END $$;

  CREATE FUNCTION gk_open_attempt(p_id text, p_attempt integer, p_worker text, p_now bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO attempts (job_id, attempt, worker_id, started_at, finished_at, status, error_code, error_message)
      VALUES (p_id, p_attempt, p_worker, p_now, NULL, 'running', NULL, NULL)
      ON CONFLICT (job_id, attempt) DO UPDATE SET worker_id = EXCLUDED.worker_id, started_at = EXCLUDED.started_at,
        finished_at = NULL, status = 'running', error_code = NULL, error_message = NULL;
    INSERT INTO transitions (job_id, from_status, to_status, attempt, worker_id, at, reason)
      VALUES (p_id, 'assigned', 'running', p_attempt, p_worker, p_now, NULL);
  $$;

  CREATE FUNCTION gk_start(p_id text, p_worker text, p jsonb, p_now bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    r record;
    v_held jsonb;
    v_attempt integer;
  BEGIN
    SELECT status, attempt INTO r FROM jobs WHERE job_id = p_id FOR UPDATE;
    IF NOT FOUND THEN RETURN gk_not_found(p_id); END IF;
    IF r.status <> 'assigned' THEN RETURN gk_illegal(p_id, r.status, 'running'); END IF;
    IF jsonb_typeof(p -> 'idempotency') = 'object' THEN
      v_held := gk_idem(p -> 'idempotency' ->> 'scope', p -> 'idempotency' ->> 'key', p_id, p_now);
      IF v_held IS NOT NULL THEN RETURN v_held; END IF;
    END IF;
    v_attempt := greatest(r.attempt + 1, coalesce((p ->> 'minAttempt')::numeric::integer, 1));
    UPDATE jobs SET status = 'running', attempt = v_attempt, started_at = p_now, updated_at = p_now WHERE job_id = p_id;
    PERFORM gk_open_attempt(p_id, v_attempt, p_worker, p_now);
    RETURN jsonb_build_object('kind', 'started', 'attempt', v_attempt);
  END $$;

  -- claim + start with one read and one update of the job row (the hot path); both
  -- transitions are recorded. A start refused by its idempotency key leaves the job assigned.
  CREATE FUNCTION gk_begin(p_id text, p_worker text, p jsonb, p_now bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    r record;
    v_claim jsonb;
    v_start jsonb;
    v_max integer;
    v_resumed boolean;
    v_source text;
    v_attempt integer;
  BEGIN
    SELECT status, attempt, source INTO r FROM jobs WHERE job_id = p_id FOR UPDATE;
    IF NOT FOUND THEN RETURN gk_not_found(p_id); END IF;
    IF r.status <> 'pending' THEN
      -- resumed as assigned (or refused): the general path
      v_claim := gk_claim(p_id, p_worker, p ->> 'source', p_now);
      IF v_claim ? 'error' OR v_claim ->> 'kind' = 'duplicate' THEN RETURN v_claim; END IF;
      v_start := gk_start(p_id, p_worker, p, p_now);
      IF v_start ? 'error' THEN RETURN v_start; END IF;
      RETURN v_claim || jsonb_build_object('start', v_start);
    END IF;
    SELECT max(sequence) INTO v_max FROM events WHERE job_id = p_id;
    v_resumed := r.attempt > 0 OR v_max IS NOT NULL;
    v_source := coalesce(p ->> 'source', r.source);
    v_claim := jsonb_build_object('kind', 'claimed', 'resumed', v_resumed, 'nextSequence', coalesce(v_max + 1, 0),
      'state', gk_state(p_id, 'assigned', r.attempt, p_worker, v_source));
    INSERT INTO transitions (job_id, from_status, to_status, attempt, worker_id, at, reason)
      VALUES (p_id, 'pending', 'assigned', r.attempt, p_worker, p_now, CASE WHEN v_resumed THEN 'resumed' END);
    IF jsonb_typeof(p -> 'idempotency') = 'object' THEN
      v_start := gk_idem(p -> 'idempotency' ->> 'scope', p -> 'idempotency' ->> 'key', p_id, p_now);
      IF v_start IS NOT NULL THEN
        UPDATE jobs SET status = 'assigned', worker_id = p_worker, source = v_source, updated_at = p_now, next_attempt_at = NULL
          WHERE job_id = p_id;
        RETURN v_claim || jsonb_build_object('start', v_start);
      END IF;
    END IF;
    v_attempt := greatest(r.attempt + 1, coalesce((p ->> 'minAttempt')::numeric::integer, 1));
    UPDATE jobs SET status = 'running', worker_id = p_worker, source = v_source, attempt = v_attempt,
        started_at = p_now, updated_at = p_now, next_attempt_at = NULL
      WHERE job_id = p_id;
    PERFORM gk_open_attempt(p_id, v_attempt, p_worker, p_now);
    RETURN v_claim || jsonb_build_object('start', jsonb_build_object('kind', 'started', 'attempt', v_attempt));
  END $$;

  -- One edge of the state machine; p.legalFrom lists the statuses it may leave from (the
  -- state machine itself lives in the protocol module, not here).
  CREATE FUNCTION gk_transition(p_id text, p_to text, p jsonb, p_now bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    r record;
    v_terminal boolean := p_to IN ${TERMINAL};
    v_worker text;
  BEGIN
    SELECT status, attempt, worker_id, error_code, idempotency_key, namespace INTO r FROM jobs WHERE job_id = p_id FOR UPDATE;
    IF NOT FOUND THEN RETURN gk_not_found(p_id); END IF;
    IF NOT coalesce((p -> 'legalFrom') ? r.status, false) THEN RETURN gk_illegal(p_id, r.status, p_to); END IF;
    -- absent: the holder stays; null: released
    v_worker := CASE WHEN p ? 'workerId' THEN p ->> 'workerId' ELSE r.worker_id END;
    UPDATE jobs SET status = p_to,
        worker_id = CASE WHEN v_terminal THEN NULL ELSE v_worker END,
        updated_at = p_now,
        next_attempt_at = (p ->> 'nextAttemptAt')::numeric::bigint,
        error_code = coalesce(p ->> 'errorCode', CASE WHEN p_to = 'pending' THEN r.error_code END),
        finished_at = CASE WHEN v_terminal THEN p_now ELSE finished_at END,
        attempt = CASE WHEN p_to = 'pending' AND r.status = 'running' AND coalesce((p ->> 'refundAttempt')::boolean, false)
          THEN greatest(0, attempt - 1) ELSE attempt END
      WHERE job_id = p_id;
    IF r.status = 'running' THEN
      UPDATE attempts SET finished_at = p_now, status = coalesce(p ->> 'attemptOutcome', p_to),
          error_code = p ->> 'errorCode', error_message = p ->> 'errorMessage'
        WHERE job_id = p_id AND attempt = r.attempt;
    END IF;
    INSERT INTO transitions (job_id, from_status, to_status, attempt, worker_id, at, reason)
      VALUES (p_id, r.status, p_to, r.attempt, coalesce(r.worker_id, v_worker), p_now, p ->> 'reason');
    RETURN jsonb_build_object('kind', 'moved', 'idempotencyKey', r.idempotency_key, 'namespace', r.namespace);
  END $$;

  -- Terminal status + result + attempt outcome + idempotency key (kept on success, freed otherwise).
  CREATE FUNCTION gk_finish(p_id text, p_status text, p jsonb, p_now bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    t jsonb;
    v_key text;
    v_scope text;
  BEGIN
    t := gk_transition(p_id, p_status, p || '{"workerId": null}'::jsonb, p_now);
    IF t ? 'error' THEN RETURN t; END IF;
    INSERT INTO results (job_id, status, doc, created_at) VALUES (p_id, p_status, p -> 'result', p_now)
      ON CONFLICT (job_id) DO UPDATE SET status = EXCLUDED.status, doc = EXCLUDED.doc, created_at = EXCLUDED.created_at;
    v_key := t ->> 'idempotencyKey';
    IF v_key IS NOT NULL THEN
      v_scope := coalesce(t ->> 'namespace', '');
      IF p_status = 'completed' THEN
        UPDATE idempotency SET state = 'completed', updated_at = p_now WHERE scope = v_scope AND key = v_key AND job_id = p_id;
      ELSE
        DELETE FROM idempotency WHERE scope = v_scope AND key = v_key AND job_id = p_id AND state = 'running';
      END IF;
    END IF;
    RETURN NULL;
  END $$;

  CREATE FUNCTION gk_release_interrupted(p_id text, p_worker text, p jsonb, p_now bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    r record;
  BEGIN
    SELECT status, worker_id INTO r FROM jobs WHERE job_id = p_id FOR UPDATE;
    IF NOT FOUND OR r.worker_id IS DISTINCT FROM p_worker OR r.status NOT IN ('running', 'assigned') THEN RETURN NULL; END IF;
    RETURN gk_transition(p_id, 'pending', p, p_now);
  END $$;

  CREATE FUNCTION gk_remove(p_id text) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    v_status text;
  BEGIN
    SELECT status INTO v_status FROM jobs WHERE job_id = p_id FOR UPDATE;
    IF NOT FOUND THEN RETURN '"unknown"'; END IF;
    IF v_status NOT IN ${TERMINAL} THEN RETURN '"active"'; END IF;
    DELETE FROM results WHERE job_id = p_id;
    DELETE FROM events WHERE job_id = p_id;
    DELETE FROM attempts WHERE job_id = p_id;
    DELETE FROM transitions WHERE job_id = p_id;
    DELETE FROM idempotency WHERE job_id = p_id;
    DELETE FROM jobs WHERE job_id = p_id;
    RETURN '"removed"';
  END $$;

  -- The writes of one batch, in order, in one transaction; their outcomes, kept with the
  -- batch id until the store has heard them (see gk_fence).
  CREATE FUNCTION gk_apply(p_batch uuid, p_ops jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    v_op jsonb;
    v_now bigint;
    v_id text;
    v_out jsonb;
    v_outs jsonb[] := '{}';
  BEGIN
    INSERT INTO gk_batches (batch_id, at) VALUES (p_batch, gk_now_ms());
    IF jsonb_array_length(p_ops) > 1 THEN
      -- the batch's existing job rows, locked in one order: concurrent batches that touch the
      -- same jobs wait for each other instead of deadlocking
      PERFORM 1 FROM jobs WHERE job_id IN (SELECT DISTINCT o ->> 'id' FROM jsonb_array_elements(p_ops) o WHERE o ? 'id')
        ORDER BY job_id FOR UPDATE;
    END IF;
    FOR v_op IN SELECT e.value FROM jsonb_array_elements(p_ops) WITH ORDINALITY AS e(value, n) ORDER BY e.n LOOP
      v_now := (v_op ->> 'now')::bigint;
      v_id := v_op ->> 'id';
      CASE v_op ->> 'op'
        WHEN 'submit' THEN v_out := gk_submit(v_op, v_now);
        WHEN 'begin' THEN v_out := gk_begin(v_id, v_op ->> 'worker', v_op, v_now);
        WHEN 'finish' THEN v_out := gk_finish(v_id, v_op ->> 'status', v_op, v_now);
        WHEN 'claim' THEN v_out := gk_claim(v_id, v_op ->> 'worker', v_op ->> 'source', v_now);
        WHEN 'start' THEN v_out := gk_start(v_id, v_op ->> 'worker', v_op, v_now);
        WHEN 'transition' THEN v_out := gk_transition(v_id, v_op ->> 'to', v_op, v_now);
        WHEN 'releaseInterrupted' THEN v_out := gk_release_interrupted(v_id, v_op ->> 'worker', v_op, v_now);
        WHEN 'remove' THEN v_out := gk_remove(v_id);
        WHEN 'unassign' THEN
          UPDATE jobs SET worker_id = NULL, updated_at = v_now WHERE job_id = v_id AND status = 'pending';
          v_out := NULL;
        WHEN 'event' THEN
          INSERT INTO events (job_id, sequence, timestamp, phase, doc)
            VALUES (v_id, (v_op -> 'event' ->> 'sequence')::numeric::integer, v_op -> 'event' ->> 'timestamp',
              v_op -> 'event' ->> 'phase', v_op -> 'event')
            ON CONFLICT (job_id, sequence) DO UPDATE SET timestamp = EXCLUDED.timestamp, phase = EXCLUDED.phase, doc = EXCLUDED.doc;
          v_out := NULL;
        WHEN 'registerWorker' THEN
          INSERT INTO workers (worker_id, registration, state, current_jobs, registered_at, last_heartbeat)
            VALUES (v_op -> 'registration' ->> 'worker_id', v_op -> 'registration', v_op -> 'registration' -> 'status' ->> 'state',
              (v_op -> 'registration' -> 'status' ->> 'current_jobs')::numeric::integer, v_now, v_now)
            ON CONFLICT (worker_id) DO UPDATE SET registration = EXCLUDED.registration, state = EXCLUDED.state,
              current_jobs = EXCLUDED.current_jobs, registered_at = EXCLUDED.registered_at, last_heartbeat = EXCLUDED.last_heartbeat;
          v_out := NULL;
        WHEN 'heartbeat' THEN
          UPDATE workers SET state = v_op ->> 'state', current_jobs = (v_op ->> 'currentJobs')::numeric::integer, last_heartbeat = v_now
            WHERE worker_id = v_op ->> 'worker';
          v_out := NULL;
        ELSE
          RAISE EXCEPTION 'gk_apply: unknown op %', v_op ->> 'op' USING ERRCODE = 'invalid_parameter_value';
      END CASE;
      v_outs := v_outs || coalesce(v_out, 'null'::jsonb);
    END LOOP;
    UPDATE gk_batches SET outcomes = to_jsonb(v_outs) WHERE batch_id = p_batch;
    RETURN to_jsonb(v_outs);
  END $$;

  -- After a lost connection: the batch's outcomes if it committed; otherwise NULL, and it
  -- never will (its id is taken here, so its own insert fails). Waits for the batch's
  -- transaction if that one still runs.
  CREATE FUNCTION gk_fence(p_batch uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    b record;
  BEGIN
    INSERT INTO gk_batches (batch_id, at, fenced) VALUES (p_batch, gk_now_ms(), true) ON CONFLICT (batch_id) DO NOTHING;
    IF FOUND THEN RETURN NULL; END IF;
    SELECT fenced, outcomes INTO b FROM gk_batches WHERE batch_id = p_batch;
    IF b.fenced THEN RETURN NULL; END IF;
    RETURN jsonb_build_object('outcomes', b.outcomes);
  END $$;
  `,
  // v2: dpkg and rpm version order, for fleet inventory filters in the database
  VERSION_FUNCTIONS_SQL,
  // v3: accepted jobs that wait outside the queue (for their parents, or for a worker that can
  // run them) and the dependency edges (execution.depends_on) looked up by parent; gk_submit
  // records both. A job that leaves pending is not held any more (trigger).
  `
  ALTER TABLE jobs ADD COLUMN hold text CHECK (hold IN ('dependencies','capacity'));
  ALTER TABLE jobs ADD COLUMN hold_reason text;
  ALTER TABLE jobs ADD COLUMN hold_token text;
  CREATE INDEX jobs_held ON jobs(queued_at, job_id) WHERE hold IS NOT NULL;
  CREATE TABLE job_dependencies (
    parent_id text COLLATE "C" NOT NULL,
    child_id  text COLLATE "C" NOT NULL,
    PRIMARY KEY (parent_id, child_id)
  );
  CREATE INDEX job_dependencies_by_child ON job_dependencies(child_id);

  CREATE FUNCTION gk_unhold() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.status <> 'pending' THEN NEW.hold := NULL; NEW.hold_reason := NULL; END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER jobs_unhold BEFORE UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.hold IS NOT NULL) EXECUTE FUNCTION gk_unhold();

  CREATE FUNCTION gk_forget_dependencies() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    DELETE FROM job_dependencies WHERE child_id = OLD.job_id;
    RETURN OLD;
  END $$;
  CREATE TRIGGER jobs_forget_dependencies AFTER DELETE ON jobs
    FOR EACH ROW EXECUTE FUNCTION gk_forget_dependencies();

  CREATE OR REPLACE FUNCTION gk_submit(p jsonb, p_now bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    v_job jsonb := p -> 'job';
    v_id text := p -> 'job' ->> 'job_id';
    v_owner text := p ->> 'owner';
    v_source text := p ->> 'source';
    v_hold jsonb := p -> 'hold';
    r record;
  BEGIN
    IF jsonb_typeof(v_hold) <> 'object' THEN v_hold := NULL; END IF;
    INSERT INTO jobs (job_id, operation, namespace, status, priority, attempt, max_attempts, idempotency_key,
        worker_id, source, trace_id, doc, created_at, queued_at, updated_at, hold, hold_reason)
      VALUES (v_id, v_job ->> 'operation', v_job -> 'metadata' ->> 'namespace', 'pending',
        (v_job -> 'execution' ->> 'priority')::numeric::integer, 0, (v_job -> 'execution' ->> 'max_attempts')::numeric::integer,
        v_job -> 'execution' ->> 'idempotency_key', v_owner, v_source, v_job -> 'observability' ->> 'trace_id',
        v_job, v_job ->> 'created_at', p_now, p_now, v_hold ->> 'kind', v_hold ->> 'reason')
      ON CONFLICT (job_id) DO NOTHING;
    IF FOUND THEN
      IF jsonb_typeof(v_job -> 'execution' -> 'depends_on') = 'array' THEN
        INSERT INTO job_dependencies (parent_id, child_id)
          SELECT d, v_id FROM jsonb_array_elements_text(v_job -> 'execution' -> 'depends_on') d
          ON CONFLICT DO NOTHING;
      END IF;
      INSERT INTO transitions (job_id, from_status, to_status, attempt, worker_id, at, reason)
        VALUES (v_id, NULL, 'pending', 0, v_owner, p_now, CASE WHEN v_hold IS NOT NULL THEN 'held: ' || (v_hold ->> 'kind') END);
      RETURN jsonb_build_object('kind', 'accepted', 'resumed', false, 'state', gk_state(v_id, 'pending', 0, v_owner, v_source))
        || CASE WHEN v_hold IS NOT NULL THEN jsonb_build_object('hold', v_hold) ELSE '{}'::jsonb END;
    END IF;
    SELECT status, attempt, worker_id, source, hold, hold_reason INTO r FROM jobs WHERE job_id = v_id FOR UPDATE;
    IF NOT FOUND THEN
      -- removed between the insert and the read: the batch is run again
      RAISE EXCEPTION 'job % vanished during submit', v_id USING ERRCODE = 'serialization_failure';
    END IF;
    -- a finished job, or one held by another worker (or by the owner's previous life)
    IF r.status <> 'pending' OR coalesce((p ->> 'exclusive')::boolean, false) THEN
      RETURN jsonb_build_object('kind', 'duplicate', 'state', gk_state(v_id, r.status, r.attempt, r.worker_id, r.source));
    END IF;
    v_source := coalesce(v_source, r.source);
    UPDATE jobs SET worker_id = v_owner, source = v_source, updated_at = p_now WHERE job_id = v_id;
    RETURN jsonb_build_object('kind', 'accepted', 'resumed', true, 'state', gk_state(v_id, 'pending', r.attempt, v_owner, v_source))
      || CASE WHEN r.hold IS NOT NULL THEN jsonb_build_object('hold', jsonb_build_object('kind', r.hold, 'reason', coalesce(r.hold_reason, ''))) ELSE '{}'::jsonb END;
  END $$;
  `,
  // v4: keyed submits (HTTP): the idempotency key is looked up under an advisory lock on
  // (namespace, key) in the submit's own transaction, so API nodes racing with one key make one job
  `
  CREATE OR REPLACE FUNCTION gk_submit(p jsonb, p_now bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
  DECLARE
    v_job jsonb := p -> 'job';
    v_id text := p -> 'job' ->> 'job_id';
    v_owner text := p ->> 'owner';
    v_source text := p ->> 'source';
    v_hold jsonb := p -> 'hold';
    v_key text := p -> 'job' -> 'execution' ->> 'idempotency_key';
    v_ns text := coalesce(p -> 'job' -> 'metadata' ->> 'namespace', 'default');
    r record;
    k record;
  BEGIN
    IF jsonb_typeof(v_hold) <> 'object' THEN v_hold := NULL; END IF;
    IF coalesce((p ->> 'keyed')::boolean, false) AND v_key IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jobs WHERE job_id = v_id) THEN
      -- one key at a time across every node: the look-up sees what an earlier holder committed
      PERFORM pg_advisory_xact_lock(hashtextextended('gk-idempotency' || chr(1) || v_ns || chr(1) || v_key, 0));
      SELECT job_id, status INTO k FROM jobs
        WHERE idempotency_key = v_key AND (namespace = v_ns OR (v_ns = 'default' AND namespace IS NULL))
        ORDER BY queued_at DESC, job_id DESC LIMIT 1;
      IF FOUND AND k.job_id <> v_id AND k.status NOT IN ('failed', 'timeout', 'cancelled') THEN
        RETURN jsonb_build_object('kind', 'keyed', 'jobId', k.job_id);
      END IF;
    END IF;
    INSERT INTO jobs (job_id, operation, namespace, status, priority, attempt, max_attempts, idempotency_key,
        worker_id, source, trace_id, doc, created_at, queued_at, updated_at, hold, hold_reason)
      VALUES (v_id, v_job ->> 'operation', v_job -> 'metadata' ->> 'namespace', 'pending',
        (v_job -> 'execution' ->> 'priority')::numeric::integer, 0, (v_job -> 'execution' ->> 'max_attempts')::numeric::integer,
        v_job -> 'execution' ->> 'idempotency_key', v_owner, v_source, v_job -> 'observability' ->> 'trace_id',
        v_job, v_job ->> 'created_at', p_now, p_now, v_hold ->> 'kind', v_hold ->> 'reason')
      ON CONFLICT (job_id) DO NOTHING;
    IF FOUND THEN
      IF jsonb_typeof(v_job -> 'execution' -> 'depends_on') = 'array' THEN
        INSERT INTO job_dependencies (parent_id, child_id)
          SELECT d, v_id FROM jsonb_array_elements_text(v_job -> 'execution' -> 'depends_on') d
          ON CONFLICT DO NOTHING;
      END IF;
      INSERT INTO transitions (job_id, from_status, to_status, attempt, worker_id, at, reason)
        VALUES (v_id, NULL, 'pending', 0, v_owner, p_now, CASE WHEN v_hold IS NOT NULL THEN 'held: ' || (v_hold ->> 'kind') END);
      RETURN jsonb_build_object('kind', 'accepted', 'resumed', false, 'state', gk_state(v_id, 'pending', 0, v_owner, v_source))
        || CASE WHEN v_hold IS NOT NULL THEN jsonb_build_object('hold', v_hold) ELSE '{}'::jsonb END;
    END IF;
    SELECT status, attempt, worker_id, source, hold, hold_reason INTO r FROM jobs WHERE job_id = v_id FOR UPDATE;
    IF NOT FOUND THEN
      -- removed between the insert and the read: the batch is run again
      RAISE EXCEPTION 'job % vanished during submit', v_id USING ERRCODE = 'serialization_failure';
    END IF;
    -- a finished job, or one held by another worker (or by the owner's previous life)
    IF r.status <> 'pending' OR coalesce((p ->> 'exclusive')::boolean, false) THEN
      RETURN jsonb_build_object('kind', 'duplicate', 'state', gk_state(v_id, r.status, r.attempt, r.worker_id, r.source));
    END IF;
    v_source := coalesce(v_source, r.source);
    UPDATE jobs SET worker_id = v_owner, source = v_source, updated_at = p_now WHERE job_id = v_id;
    RETURN jsonb_build_object('kind', 'accepted', 'resumed', true, 'state', gk_state(v_id, 'pending', r.attempt, v_owner, v_source))
      || CASE WHEN r.hold IS NOT NULL THEN jsonb_build_object('hold', jsonb_build_object('kind', r.hold, 'reason', coalesce(r.hold_reason, ''))) ELSE '{}'::jsonb END;
  END $$;
  `,
];
