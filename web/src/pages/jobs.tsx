import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, get, request } from '../api';
import { ago, between, FINAL, isFinal, plural, seconds, shortId, when } from '../format';
import { useStatusStream, type StatusChange } from '../live';
import { jobPath, Link, navigate, reportPath } from '../router';
import { session } from '../session';
import type { JobPage, JobView, WorkerView } from '../types';
import { ErrorBox, PageTitle, StatusBadge, useNow, usePoll } from '../ui';

const PAGE_SIZE = 50;
/**
 * The list follows GET /events (status changes of every job) and reloads the page it shows at
 * most once a second when jobs change; while that stream is down it polls instead.
 */
const FALLBACK_POLL_MS = 5000;
/** A slow safety reload while the stream is up (a deleted job sends no event). */
const LIVE_POLL_MS = 60_000;
/** Reloads caused by the stream come at most this often. */
const RELOAD_GAP_MS = 1000;

type Action = 'cancel' | 'retry' | 'delete';
interface BulkAnswer {
  results: ({ job_id: string; ok: true; status: number } | { job_id: string; ok: false; status: number; error: { code: string; message: string } })[];
  summary: { ok: number; failed: number };
}

const FILTER_KEYS = ['q', 'status', 'operation', 'namespace', 'labels', 'image_prefix', 'from', 'to'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];
type Filters = Record<FilterKey, string>;

const STATUS_CHOICES: [string, string][] = [
  ['', 'any status'],
  ['pending,assigned', 'waiting (pending, assigned)'],
  ['running', 'running'],
  ['pending,assigned,running', 'not finished'],
  ['completed', 'completed'],
  ['failed,timeout', 'failed or timed out'],
  ['failed', 'failed'],
  ['timeout', 'timeout'],
  ['cancelled', 'cancelled'],
];

function readFilters(q: URLSearchParams): Filters {
  const f = {} as Filters;
  for (const k of FILTER_KEYS) f[k] = q.get(k) ?? '';
  return f;
}

/** datetime-local (local time) ↔ the API's RFC 3339 UTC. */
const toIso = (local: string) => (local ? new Date(local).toISOString() : '');
const toLocal = (iso: string) => {
  if (!iso) return '';
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return '';
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
};

function apiQuery(f: Filters): string {
  const p = new URLSearchParams();
  for (const k of FILTER_KEYS) if (f[k]) p.set(k, f[k]);
  return p.toString();
}

export function JobsPage({ query }: { query: URLSearchParams }) {
  const filters = useMemo(() => readFilters(query), [query]);
  const key = apiQuery(filters);
  const [cursors, setCursors] = useState<string[]>([]);
  const [page, setPage] = useState<JobPage | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [updated, setUpdated] = useState<number | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulkMsg, setBulkMsg] = useState<{ text: string; kind: 'ok' | 'error' } | null>(null);
  const now = useNow(1000);
  const cursor = cursors[cursors.length - 1];
  const mutate = session.can('submitter');

  useEffect(() => {
    setCursors([]);
    setSelected(new Set());
    setPage(null);
  }, [key]);

  const [counts, setCounts] = useState<Record<string, number> | null>(null);
  const lastLoad = useRef(0);
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // answers can arrive out of order: only the newest load's answers are shown
  const loadSeq = useRef(0);
  const load = async () => {
    lastLoad.current = Date.now();
    const seq = ++loadSeq.current;
    const qs = `${key ? `${key}&` : ''}limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    // the counts come on their own: the rows never wait for them
    const countsQs = new URLSearchParams(key);
    countsQs.delete('status');
    get<{ counts: Record<string, number> }>(`/stats/counts?${countsQs}`).then(
      (c) => seq === loadSeq.current && setCounts(c.counts),
      () => seq === loadSeq.current && setCounts(null),
    );
    try {
      const p = await get<JobPage>(`/jobs?${qs}`);
      if (seq !== loadSeq.current) return;
      setPage(p);
      setError(null);
      setUpdated(Date.now());
      setSelected((s) => (s.size === 0 ? s : new Set(p.items.filter((j) => s.has(j.job_id)).map((j) => j.job_id))));
    } catch (err) {
      if (seq === loadSeq.current) setError(err);
    }
  };
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => () => clearTimeout(reloadTimer.current), []);
  const scheduleReload = () => {
    if (reloadTimer.current !== undefined) return;
    reloadTimer.current = setTimeout(() => {
      reloadTimer.current = undefined;
      void loadRef.current();
    }, Math.max(0, RELOAD_GAP_MS - (Date.now() - lastLoad.current)));
  };
  const connectedBefore = useRef(false);
  const live = useStatusStream(
    session.can('admin') ? filters.namespace || undefined : undefined,
    (c) => {
      // the row changes at once; which rows the page holds may change too: reload it (throttled)
      setPage((p) => (p && p.items.some((j) => j.job_id === c.job_id) ? { ...p, items: p.items.map((j) => (j.job_id === c.job_id ? patch(j, c) : j)) } : p));
      setUpdated(Date.now());
      scheduleReload();
    },
    () => {
      // a reconnect: what changed while the stream was down is read again
      if (connectedBefore.current) scheduleReload();
      connectedBefore.current = true;
    },
  );
  usePoll(load, live ? LIVE_POLL_MS : FALLBACK_POLL_MS, [key, cursor, live]);

  const items = page?.items ?? [];
  const chosen = items.filter((j) => selected.has(j.job_id));
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const allOnPage = items.length > 0 && items.every((j) => selected.has(j.job_id));

  async function bulk(action: Action) {
    const eligible = chosen.filter((j) => (action === 'cancel' ? !isFinal(j.status) : action === 'retry' ? ['failed', 'timeout', 'cancelled'].includes(j.status) : isFinal(j.status)));
    const skipped = chosen.length - eligible.length;
    setBulkMsg({ text: `${action === 'cancel' ? 'Cancelling' : action === 'retry' ? 'Retrying' : 'Deleting'} ${plural(eligible.length, 'job')}…`, kind: 'ok' });
    // one request for the whole selection: POST /jobs/bulk answers per job
    const failed: { id: string; why: string }[] = [];
    for (let i = 0; i < eligible.length; i += 1000) {
      const ids = eligible.slice(i, i + 1000).map((j) => j.job_id);
      try {
        const out = await request<BulkAnswer>('POST', '/jobs/bulk', { action, ids });
        for (const r of out.results) if (!r.ok) failed.push({ id: r.job_id, why: r.error.message });
      } catch (err) {
        for (const id of ids) failed.push({ id, why: err instanceof ApiError ? err.message : String(err) });
      }
    }
    const done = eligible.length - failed.length;
    const verb = action === 'cancel' ? 'cancelled' : action === 'retry' ? 'retried as new jobs' : 'deleted';
    let text = `${plural(done, 'job')} ${verb}.`;
    if (skipped) text += ` ${plural(skipped, 'selected job')} skipped (not ${action === 'cancel' ? 'active' : action === 'retry' ? 'failed, timed out or cancelled' : 'finished'}).`;
    if (failed.length) text += ` ${failed.length} refused: ${failed.map((f) => `${shortId(f.id)}: ${f.why}`).join('; ')}`;
    setBulkMsg({ text, kind: failed.length ? 'error' : 'ok' });
    setSelected(new Set());
    await load();
  }

  return (
    <div>
      <PageTitle sub={<LiveNote updated={updated} now={now} live={live} />}>Jobs</PageTitle>
      <NoWorkerBanner />
      <FilterForm filters={filters} />
      <Counts counts={counts} />
      <ErrorBox error={error} title="The job list could not be loaded" />
      {mutate && chosen.length > 0 && <BulkBar chosen={chosen} onAction={bulk} onClear={() => setSelected(new Set())} />}
      {bulkMsg && (
        <p class={`alert ${bulkMsg.kind === 'error' ? 'error' : 'info'}`} role="status">
          {bulkMsg.text}
        </p>
      )}
      {page && items.length === 0 && <p class="empty">{key ? 'No job matches these filters.' : 'No jobs yet.'}</p>}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="jobs">
            <caption class="sr-only">Jobs, newest first</caption>
            <thead>
              <tr>
                {mutate && (
                  <th scope="col" class="check">
                    <input
                      type="checkbox"
                      aria-label="Select every job on this page"
                      checked={allOnPage}
                      onChange={() => setSelected(allOnPage ? new Set() : new Set(items.map((j) => j.job_id)))}
                    />
                  </th>
                )}
                <th scope="col">Job</th>
                <th scope="col">Status</th>
                <th scope="col" class="wide">
                  Operation
                </th>
                <th scope="col" class="wider">
                  Namespace
                </th>
                <th scope="col" class="wide">
                  Image
                </th>
                <th scope="col" class="wider">
                  Labels
                </th>
                <th scope="col">Queued</th>
                <th scope="col" class="wide">
                  Run time
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((j) => (
                <JobRow key={j.job_id} j={j} now={now} mutate={mutate} checked={selected.has(j.job_id)} onToggle={() => toggle(j.job_id)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages of jobs">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
          ← Newer
        </button>
        <span class="muted">
          {page ? `Page ${cursors.length + 1} · ${plural(items.length, 'job')}` : ''}
        </span>
        <button type="button" disabled={!page?.next} onClick={() => page?.next && setCursors((c) => [...c, page.next!])}>
          Older →
        </button>
      </nav>
    </div>
  );
}

function LiveNote({ updated, now, live }: { updated: number | null; now: number; live: boolean }) {
  if (!updated) return <span class="muted">Loading…</span>;
  const s = Math.max(0, Math.round((now - updated) / 1000));
  const last = s < 2 ? 'just now' : `${s} s ago`;
  return (
    <span class={`muted live${live ? '' : ' offline'}`} data-testid="live-note" data-live={live ? 'stream' : 'poll'}>
      <span class="dot" aria-hidden="true" /> {live ? `Live: updates as jobs change (last ${last})` : `Live updates interrupted: refreshed every ${FALLBACK_POLL_MS / 1000} s (last ${last})`}
    </span>
  );
}

const COUNT_ORDER = ['pending', 'assigned', 'running', 'completed', 'failed', 'timeout', 'cancelled'];

/** How many jobs match the filters (any status), per status. */
function Counts({ counts }: { counts: Record<string, number> | null }) {
  if (!counts) return null;
  const shown = COUNT_ORDER.filter((s) => (counts[s] ?? 0) > 0);
  const total = COUNT_ORDER.reduce((a, s) => a + (counts[s] ?? 0), 0);
  return (
    <p class="counts" data-testid="status-counts">
      <span class="muted">{plural(total, 'job')}:</span>
      {shown.map((s) => (
        <span key={s} class={`count s-${s}`}>
          <StatusBadge status={s} /> {(counts[s] ?? 0).toLocaleString()}
        </span>
      ))}
    </p>
  );
}

/** A row as the stream says it is now (until the next reload brings the stored view). */
function patch(j: JobView, c: StatusChange): JobView {
  const n: JobView = { ...j, status: c.status, updated_at: c.at };
  if (c.attempt !== undefined) n.attempt = c.attempt;
  if (c.change === 'started') {
    n.started_at = c.at;
    n.worker_id = c.worker_id ?? null;
  }
  if (c.change === 'finished') {
    n.finished_at = c.at;
    n.worker_id = null;
  }
  if (c.error_code !== undefined) n.error_code = c.error_code ?? null;
  return n;
}

function JobRow({ j, now, mutate, checked, onToggle }: { j: JobView; now: number; mutate: boolean; checked: boolean; onToggle: () => void }) {
  const label = j.name || j.job_id;
  const run = j.started_at ? between(j.started_at, j.finished_at ?? new Date(now).toISOString()) : null;
  return (
    <tr class={checked ? 'selected' : undefined}>
      {mutate && (
        <td class="check">
          <input type="checkbox" checked={checked} onChange={onToggle} aria-label={`Select job ${label}`} />
        </td>
      )}
      <td class="job">
        <Link href={jobPath(j.job_id)}>{j.name || <code>{shortId(j.job_id)}</code>}</Link>
        {j.name && <div class="muted small mono">{shortId(j.job_id)}</div>}
        {j.operation === 'guestkit.inspect' && j.status === 'completed' && (
          <div class="small">
            <Link href={reportPath(j.job_id)}>Report</Link>
          </div>
        )}
      </td>
      <td>
        <StatusBadge status={j.status} />
        {j.error_code && j.error_code !== j.status.toUpperCase() && <div class="small mono">{j.error_code}</div>}
        {j.max_attempts > 1 && <div class="small muted">attempt {j.attempt}/{j.max_attempts}</div>}
      </td>
      <td class="wide mono small">{j.operation}</td>
      <td class="wider">{j.namespace}</td>
      <td class="wide mono small path" title={j.image_path ?? undefined}>
        {j.image_path ?? '—'}
      </td>
      <td class="wider">
        {Object.entries(j.labels).map(([k, v]) => (
          <span class="chip" key={k}>
            {k}={v}
          </span>
        ))}
      </td>
      <td title={when(j.queued_at)}>
        <time dateTime={j.queued_at}>{ago(j.queued_at, now)}</time>
      </td>
      <td class="wide">{run === null ? '—' : seconds(run)}</td>
    </tr>
  );
}

function FilterForm({ filters }: { filters: Filters }) {
  const [draft, setDraft] = useState<Filters>(filters);
  const [open, setOpen] = useState(() => Object.entries(filters).some(([k, v]) => k !== 'q' && k !== 'status' && v));
  useEffect(() => setDraft(filters), [filters]);
  const admin = session.can('admin');
  const set = (k: FilterKey) => (e: Event) => setDraft((d) => ({ ...d, [k]: (e.target as HTMLInputElement).value }));
  const apply = (f: Filters) => {
    const qs = apiQuery(f);
    navigate(qs ? `/?${qs}` : '/', { replace: true });
  };
  return (
    <form
      class="filters card"
      role="search"
      aria-label="Filter jobs"
      onSubmit={(e) => {
        e.preventDefault();
        apply(draft);
      }}
    >
      <div class="row">
        <div class="field grow">
          <label for="f-q">Search</label>
          <input id="f-q" type="search" placeholder="job id, name, label or image path" value={draft.q} onInput={set('q')} />
        </div>
        <div class="field">
          <label for="f-status">Status</label>
          <select
            id="f-status"
            value={draft.status}
            onChange={(e) => {
              const f = { ...draft, status: (e.target as HTMLSelectElement).value };
              setDraft(f);
              apply(f);
            }}
          >
            {STATUS_CHOICES.some(([v]) => v === draft.status) ? null : <option value={draft.status}>{draft.status}</option>}
            {STATUS_CHOICES.map(([v, l]) => (
              <option value={v} key={v}>
                {l}
              </option>
            ))}
          </select>
        </div>
        <div class="field buttons">
          <button type="submit" class="primary">
            Apply
          </button>
          <button type="button" aria-expanded={open} aria-controls="more-filters" onClick={() => setOpen(!open)}>
            {open ? 'Fewer filters' : 'More filters'}
          </button>
          <button type="button" onClick={() => apply(readFilters(new URLSearchParams()))}>
            Reset
          </button>
        </div>
      </div>
      <div class="row" id="more-filters" hidden={!open}>
        <div class="field">
          <label for="f-op">Operation</label>
          <input id="f-op" list="ops" placeholder="guestkit.inspect" value={draft.operation} onInput={set('operation')} />
          <datalist id="ops">
            {['guestkit.inspect', 'guestkit.profile', 'guestkit.compare', 'guestkit.convert', 'guestkit.fix', 'system.echo'].map((o) => (
              <option value={o} key={o} />
            ))}
          </datalist>
        </div>
        {admin && (
          <div class="field">
            <label for="f-ns">Namespace</label>
            <input id="f-ns" placeholder="all" value={draft.namespace} onInput={set('namespace')} />
          </div>
        )}
        <div class="field">
          <label for="f-labels">Labels</label>
          <input id="f-labels" placeholder="env=prod,tier!=db" value={draft.labels} onInput={set('labels')} aria-describedby="f-labels-help" />
          <span id="f-labels-help" class="help">
            A selector: <code>k=v</code>, <code>k!=v</code>, <code>k</code>
          </span>
        </div>
        <div class="field grow">
          <label for="f-image">Image path starts with</label>
          <input id="f-image" placeholder="/data/images/" value={draft.image_prefix} onInput={set('image_prefix')} />
        </div>
        <div class="field">
          <label for="f-from">Queued from</label>
          <input id="f-from" type="datetime-local" value={toLocal(draft.from)} onInput={(e) => setDraft((d) => ({ ...d, from: toIso((e.target as HTMLInputElement).value) }))} />
        </div>
        <div class="field">
          <label for="f-to">Queued until</label>
          <input id="f-to" type="datetime-local" value={toLocal(draft.to)} onInput={(e) => setDraft((d) => ({ ...d, to: toIso((e.target as HTMLInputElement).value) }))} />
        </div>
      </div>
    </form>
  );
}

function BulkBar({ chosen, onAction, onClear }: { chosen: JobView[]; onAction: (a: Action) => Promise<void>; onClear: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const n = { cancel: chosen.filter((j) => !isFinal(j.status)).length, retry: chosen.filter((j) => ['failed', 'timeout', 'cancelled'].includes(j.status)).length, delete: chosen.filter((j) => FINAL.includes(j.status)).length };
  const run = async (a: Action) => {
    setBusy(true);
    try {
      await onAction(a);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  return (
    <div class="bulk card" role="region" aria-label="Actions on the selected jobs">
      <strong>{plural(chosen.length, 'job')} selected</strong>
      {confirming ? (
        <>
          <span>
            Delete {plural(n.delete, 'finished job')} with their results and events? This cannot be undone.
          </span>
          <button type="button" class="danger" disabled={busy} onClick={() => run('delete')}>
            Yes, delete {n.delete}
          </button>
          <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
            Keep them
          </button>
        </>
      ) : (
        <>
          <button type="button" disabled={busy || n.cancel === 0} onClick={() => run('cancel')}>
            Cancel {n.cancel}
          </button>
          <button type="button" disabled={busy || n.retry === 0} onClick={() => run('retry')}>
            Retry {n.retry}
          </button>
          <button type="button" class="danger" disabled={busy || n.delete === 0} onClick={() => setConfirming(true)}>
            Delete {n.delete}…
          </button>
          <button type="button" class="link" onClick={onClear}>
            Clear selection
          </button>
        </>
      )}
    </div>
  );
}

/**
 * Shown when jobs wait and no live worker can run them: GET /workers and the waiting jobs,
 * judged by the scheduler's own rule (src/protocol/can-run.ts, loaded only when jobs wait).
 */
export function NoWorkerBanner() {
  const [problem, setProblem] = useState<string | null>(null);
  usePoll(
    async () => {
      const [workers, waiting] = await Promise.all([get<{ items: WorkerView[] }>('/workers'), get<JobPage>('/jobs?status=pending&limit=200&include=job')]);
      if (waiting.items.length === 0) return setProblem(null);
      const { canRun } = await import('../../../src/protocol/can-run');
      const able = workers.items.filter((w) => w.live && w.state !== 'draining' && w.state !== 'offline');
      const asWorker = (w: WorkerView) =>
        ({
          worker_id: w.worker_id,
          version: w.version,
          capabilities: w.capabilities,
          resources: { max_concurrent_jobs: w.max_concurrent ?? 1, max_disk_size_gb: Number.MAX_SAFE_INTEGER },
          configuration: { worker_pool: w.pool },
        }) as unknown as Parameters<typeof canRun>[1];
      const stuck = new Map<string, { n: number; why: string }>();
      for (const j of waiting.items) {
        const doc = (j.job ?? { operation: j.operation }) as unknown as Parameters<typeof canRun>[0];
        const verdicts = able.map((w) => canRun(doc, asWorker(w)));
        if (verdicts.some((v) => v.ok)) continue;
        const first = verdicts.find((v) => !v.ok) as { unmet: { message: string }[] } | undefined;
        const e = stuck.get(j.operation) ?? { n: 0, why: first?.unmet[0]?.message ?? '' };
        e.n++;
        stuck.set(j.operation, e);
      }
      if (stuck.size === 0) return setProblem(null);
      const n = [...stuck.values()].reduce((a, b) => a + b.n, 0);
      const what = [...stuck.entries()].map(([op, e]) => `${e.n} × ${op}${e.why ? `: ${e.why}` : ''}`).join('; ');
      setProblem(able.length === 0 ? `No live worker is connected: ${plural(n, 'waiting job')} cannot run until one starts (${what}).` : `No live worker can run ${plural(n, 'waiting job')} (${what}).`);
    },
    5000,
    [],
  );
  if (!problem) return null;
  return (
    <div class="alert warn" role="alert">
      <strong>Jobs are stuck.</strong> {problem} <Link href="/workers">See the workers</Link>.
    </div>
  );
}
