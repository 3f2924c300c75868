import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, getText, readEventStream, request, saveFile } from '../api';
import { between, bytes, isFinal, seconds, when } from '../format';
import { jobPath, Link, navigate, reportPath } from '../router';
import { session } from '../session';
import type { JobResult, JobView, ProgressEvent } from '../types';
import { ErrorBox, Facts, Loading, PageTitle, Section, StatusBadge, useNow } from '../ui';

const MAX_SHOWN_EVENTS = 300;

export function JobPage({ id }: { id: string }) {
  const [job, setJob] = useState<JobView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<JobResult | null>(null);
  const [events, setEvents] = useState<ProgressEvent[]>([]);
  const [stream, setStream] = useState<'connecting' | 'live' | 'ended' | 'lost'>('connecting');
  const [actionMsg, setActionMsg] = useState<{ text: string; error?: boolean } | null>(null);
  const now = useNow(1000);
  const path = `/jobs/${encodeURIComponent(id)}`;

  const loadJob = async () => {
    try {
      const j = await get<JobView>(path);
      setJob(j);
      setError(null);
      if (isFinal(j.status)) {
        try {
          setResult(await get<JobResult>(`${path}/result`));
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
        }
      }
      return j;
    } catch (err) {
      setError(err);
      return null;
    }
  };

  // the job, then its events: stored ones and live ones over one stream until the job ends
  useEffect(() => {
    const ctl = new AbortController();
    let lastId: string | null = null;
    (async () => {
      const j = await loadJob();
      if (!j || ctl.signal.aborted) return;
      let failures = 0;
      for (;;) {
        if (ctl.signal.aborted) return;
        let ended = false;
        try {
          setStream('live');
          await readEventStream(
            `${path}/events`,
            (m) => {
              if (m.event === 'progress') {
                lastId = m.id ?? lastId;
                const ev = JSON.parse(m.data) as ProgressEvent;
                setEvents((es) => (es.some((e) => e.sequence === ev.sequence) ? es : [...es, ev]));
                failures = 0;
              } else if (m.event === 'status') {
                const st = JSON.parse(m.data) as { status: string };
                setJob((old) => (old ? { ...old, status: st.status } : old));
                if (isFinal(st.status)) ended = true;
                void loadJob();
              }
            },
            { signal: ctl.signal, lastEventId: lastId },
          );
        } catch (err) {
          if (ctl.signal.aborted) return;
          if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
            setStream('lost');
            return;
          }
        }
        if (ended) {
          setStream('ended');
          return;
        }
        // dropped before the end: resume after the last event seen
        const j2 = await loadJob();
        if (j2 && isFinal(j2.status)) {
          setStream('ended');
          return;
        }
        if (++failures > 20) {
          setStream('lost');
          return;
        }
        setStream('connecting');
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** failures)));
      }
    })();
    return () => ctl.abort();
  }, [id]);

  if (error && !job) return <ErrorBox error={error} title={`Job ${id}`} />;
  if (!job) return <Loading what="Loading the job" />;

  const last = [...events].reverse().find((e) => e.progress_percent !== null && e.progress_percent !== undefined);
  const latest = events[events.length - 1];
  const final = isFinal(job.status);
  const percent = job.status === 'completed' ? 100 : (last?.progress_percent ?? null);
  const mutate = session.can('submitter');

  async function act(action: 'cancel' | 'retry' | 'delete') {
    setActionMsg(null);
    try {
      if (action === 'delete') {
        await request('DELETE', path);
        navigate('/');
        return;
      }
      const r = await request<{ job: JobView; outcome?: string }>('POST', `${path}/${action}`);
      if (action === 'retry') {
        navigate(jobPath(r.job.job_id));
        return;
      }
      setActionMsg({ text: r.outcome === 'cancelling' ? 'Cancelling: the worker is stopping the job.' : 'Cancelled.' });
      await loadJob();
    } catch (err) {
      setActionMsg({ text: err instanceof ApiError ? `${err.code}: ${err.message}` : String(err), error: true });
    }
  }

  const retryOf = job.job?.metadata?.annotations?.['guestkit.dev/retry-of'];
  const wait = between(job.queued_at, job.started_at ?? (final ? job.finished_at : new Date(now).toISOString()));
  const run = job.started_at ? between(job.started_at, job.finished_at ?? new Date(now).toISOString()) : null;

  return (
    <div>
      <PageTitle
        sub={
          <>
            <StatusBadge status={job.status} /> <code class="small">{job.job_id}</code>
          </>
        }
      >
        {job.name || `Job ${job.job_id}`}
      </PageTitle>
      <div class="actions">
        {job.operation === 'guestkit.inspect' && job.status === 'completed' && (
          <Link class="button primary" href={reportPath(job.job_id)}>
            Open the inspection report
          </Link>
        )}
        {mutate && !final && (
          <button type="button" onClick={() => act('cancel')}>
            Cancel job
          </button>
        )}
        {mutate && ['failed', 'timeout', 'cancelled'].includes(job.status) && (
          <button type="button" onClick={() => act('retry')}>
            Retry as a new job
          </button>
        )}
        {mutate && final && (
          <button
            type="button"
            class="danger"
            onClick={() => {
              if (window.confirm('Delete this job with its result and events?')) void act('delete');
            }}
          >
            Delete
          </button>
        )}
        <button type="button" disabled={!result} onClick={() => result && saveFile(`${job.job_id}-result.json`, JSON.stringify(result, null, 2) + '\n', 'application/json')}>
          Download result JSON
        </button>
        <button
          type="button"
          onClick={async () => {
            try {
              saveFile(`${job.job_id}-events.jsonl`, await getText(`${path}/events?format=jsonl`), 'application/x-ndjson');
            } catch (err) {
              setActionMsg({ text: String((err as Error).message), error: true });
            }
          }}
        >
          Download events (JSON lines)
        </button>
      </div>
      {actionMsg && (
        <p class={`alert ${actionMsg.error ? 'error' : 'info'}`} role="status">
          {actionMsg.text}
        </p>
      )}
      <ErrorBox error={error} />

      <Section id="progress" title="Progress">
        <div class="progress-line">
          <label for="job-progress" class="sr-only">
            Progress of the job
          </label>
          <progress id="job-progress" max={100} value={percent ?? undefined} aria-valuetext={percent === null ? job.status : `${percent}% (${job.status})`} />
          <span class="pct">{percent === null ? (final ? '' : '…') : `${percent}%`}</span>
        </div>
        <p class="now" aria-live="polite" data-testid="job-status-line">
          <StatusBadge status={job.status} /> {latest ? `${latest.phase.replace(/_/g, ' ')}: ${latest.message}` : final ? '' : 'waiting for the first event'}
          <span class="muted small">
            {' '}
            {stream === 'live' && !final ? '· live' : stream === 'connecting' ? '· reconnecting' : stream === 'lost' ? '· the event stream was lost; reload to resume' : ''}
          </span>
        </p>
        {events.length > 0 && (
          <details class="events">
            <summary>
              Event log ({events.length}
              {events.length > MAX_SHOWN_EVENTS ? `, the last ${MAX_SHOWN_EVENTS} shown` : ''})
            </summary>
            <ol>
              {events.slice(-MAX_SHOWN_EVENTS).map((e) => (
                <li key={e.sequence}>
                  <time dateTime={e.timestamp} class="muted small">
                    {when(e.timestamp)}
                  </time>{' '}
                  <span class="mono small">#{e.sequence}</span> <strong>{e.phase}</strong> {e.message}
                  {e.progress_percent !== null && e.progress_percent !== undefined && <span class="muted"> ({e.progress_percent}%)</span>}
                </li>
              ))}
            </ol>
          </details>
        )}
      </Section>

      <div class="grid2">
        <Section id="envelope" title="Job">
          <Facts
            rows={[
              ['Operation', <code>{job.operation}</code>],
              ['Image', job.image_path ? <code class="path">{job.image_path}</code> : null],
              ['Namespace', job.namespace],
              [
                'Labels',
                Object.keys(job.labels).length ? (
                  <>
                    {Object.entries(job.labels).map(([k, v]) => (
                      <span class="chip" key={k}>
                        {k}={v}
                      </span>
                    ))}
                  </>
                ) : null,
              ],
              ['Priority', String(job.priority)],
              ['Attempts', `${job.attempt} of ${job.max_attempts}`],
              ['Worker', job.worker_id],
              ['Source', job.source],
              ['Error', job.error_code ? <code>{job.error_code}</code> : null],
              ['Retry of', retryOf ? <Link href={jobPath(retryOf)}>{retryOf}</Link> : null],
            ]}
          />
          {job.job && (
            <details>
              <summary>The job document</summary>
              <pre class="json">{JSON.stringify(job.job, null, 2)}</pre>
            </details>
          )}
        </Section>
        <Section id="timing" title="Timing">
          <Facts
            rows={[
              ['Queued', <time dateTime={job.queued_at}>{when(job.queued_at)}</time>],
              ['Started', job.started_at ? <time dateTime={job.started_at}>{when(job.started_at)}</time> : '—'],
              ['Finished', job.finished_at ? <time dateTime={job.finished_at}>{when(job.finished_at)}</time> : '—'],
              ['Waited', seconds(wait)],
              ['Ran', seconds(run)],
              ['Updated', when(job.updated_at)],
            ]}
          />
        </Section>
      </div>

      <Section id="attempts" title="Attempts">
        {job.attempts && job.attempts.length > 0 ? (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Worker</th>
                  <th scope="col">Status</th>
                  <th scope="col">Error</th>
                  <th scope="col">Started</th>
                  <th scope="col">Took</th>
                </tr>
              </thead>
              <tbody>
                {job.attempts.map((a) => (
                  <tr key={a.attempt}>
                    <td>{a.attempt}</td>
                    <td class="mono small">{a.worker_id}</td>
                    <td>
                      <StatusBadge status={a.status} />
                    </td>
                    <td class="mono small">{a.error_code ?? '—'}</td>
                    <td>{when(a.started_at)}</td>
                    <td>{seconds(between(a.started_at, a.finished_at ?? new Date(now).toISOString()))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p class="muted">No attempt has started yet.</p>
        )}
      </Section>

      <Section id="result" title="Result">
        {result ? <ResultView r={result} /> : <p class="muted">{final ? 'This job left no result.' : 'The result appears here when the job ends.'}</p>}
      </Section>
    </div>
  );
}

function ResultView({ r }: { r: JobResult }) {
  const [showData, setShowData] = useState(false);
  const dataText = useRef<string | null>(null);
  if (showData && dataText.current === null) dataText.current = JSON.stringify(r.data, null, 2) ?? 'null';
  const m = r.metrics ?? {};
  return (
    <>
      {r.error && (
        <div class="alert error">
          <strong>
            <code>{r.error.code}</code>
          </strong>{' '}
          in phase <code>{r.error.phase}</code>: {r.error.message}
          <div class="small">
            {r.error.recoverable ? 'recoverable' : 'not recoverable'} · {r.error.retry_recommended ? 'a retry may help' : 'a retry will not help'}
          </div>
          {r.error.details && <pre class="json small">{JSON.stringify(r.error.details, null, 2)}</pre>}
        </div>
      )}
      <Facts
        rows={[
          ['Status', <StatusBadge status={r.status} />],
          ['Worker', r.worker_id],
          ['Attempt', String(r.execution_summary.attempt)],
          ['Duration', seconds(r.execution_summary.duration_seconds)],
          ['Read from disk', m.disk_read_bytes !== undefined && m.disk_read_bytes !== null ? bytes(m.disk_read_bytes) : null],
          ['CPU', m.cpu_seconds !== undefined && m.cpu_seconds !== null ? seconds(m.cpu_seconds) : null],
          ['Peak memory', m.peak_memory_mb !== undefined && m.peak_memory_mb !== null ? `${m.peak_memory_mb} MB` : null],
          ['Output file', r.outputs?.primary ? <code>{r.outputs.primary}</code> : null],
        ]}
      />
      {r.data !== undefined && (
        <details onToggle={(e) => setShowData((e.target as HTMLDetailsElement).open)}>
          <summary>Result data (JSON)</summary>
          {showData && <pre class="json">{dataText.current}</pre>}
        </details>
      )}
    </>
  );
}
