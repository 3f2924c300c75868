import { useState } from 'preact/hooks';
import { get } from '../api';
import { ago, plural, shortId, when } from '../format';
import { jobPath, Link } from '../router';
import type { JobPage, WorkerView } from '../types';
import { ErrorBox, Loading, PageTitle, usePoll, useNow } from '../ui';

/** Registrations, capabilities, load, heartbeat age and running jobs; refreshed every 5 s. */
export function WorkersPage() {
  const [workers, setWorkers] = useState<WorkerView[] | null>(null);
  const [running, setRunning] = useState<JobPage['items']>([]);
  const [error, setError] = useState<unknown>(null);
  const now = useNow(1000);
  usePoll(
    async () => {
      try {
        const [w, r] = await Promise.all([get<{ items: WorkerView[] }>('/workers'), get<JobPage>('/jobs?status=assigned,running&limit=1000')]);
        setWorkers(w.items);
        setRunning(r.items);
        setError(null);
      } catch (err) {
        setError(err);
      }
    },
    5000,
    [],
  );
  const live = workers?.filter((w) => w.live) ?? [];
  return (
    <div>
      <PageTitle sub={workers ? `${plural(live.length, 'live worker')} of ${workers.length} registered · ${plural(running.length, 'job')} running` : null}>Workers</PageTitle>
      <ErrorBox error={error} />
      {!workers ? (
        <Loading />
      ) : workers.length === 0 ? (
        <p class="alert warn">No worker has registered. Jobs wait until one starts.</p>
      ) : (
        <div class="workers">
          {workers.map((w) => {
            const mine = running.filter((j) => j.worker_id === w.worker_id);
            const caps = w.capabilities ?? {};
            return (
              <article class={`card worker ${w.live ? 'live' : 'gone'}`} key={w.worker_id} aria-labelledby={`w-${w.worker_id}`}>
                <div class="card-head">
                  <h2 id={`w-${w.worker_id}`} class="mono">
                    {w.worker_id}
                  </h2>
                  <span class={`badge ${w.live ? 's-running' : 's-failed'}`}>{w.live ? w.state : `${w.state} · not live`}</span>
                </div>
                <dl class="facts">
                  <div>
                    <dt>Host</dt>
                    <dd>{w.hostname}</dd>
                  </div>
                  <div>
                    <dt>Load</dt>
                    <dd>
                      <meter min={0} max={w.max_concurrent ?? Math.max(1, w.current_jobs)} value={w.current_jobs} aria-label={`load of ${w.worker_id}`} /> {w.current_jobs} of {w.max_concurrent ?? '?'} slots
                    </dd>
                  </div>
                  <div>
                    <dt>Heartbeat</dt>
                    <dd title={when(w.last_heartbeat)}>{ago(w.last_heartbeat, now)}</dd>
                  </div>
                  <div>
                    <dt>Registered</dt>
                    <dd>{when(w.registered_at)}</dd>
                  </div>
                  <div>
                    <dt>Version</dt>
                    <dd>{w.version}</dd>
                  </div>
                  {w.pool && (
                    <div>
                      <dt>Pool</dt>
                      <dd>{w.pool}</dd>
                    </div>
                  )}
                  <div>
                    <dt>Operations</dt>
                    <dd>
                      {(caps.operations ?? []).map((o) => (
                        <span class="chip mono" key={o}>
                          {o}
                        </span>
                      ))}
                    </dd>
                  </div>
                  {(caps.disk_formats ?? []).length > 0 && (
                    <div>
                      <dt>Disk formats</dt>
                      <dd class="small">{(caps.disk_formats ?? []).join(', ')}</dd>
                    </div>
                  )}
                  {(caps.features ?? []).length > 0 && (
                    <div>
                      <dt>Features</dt>
                      <dd class="small">{(caps.features ?? []).join(', ')}</dd>
                    </div>
                  )}
                </dl>
                <h3>Running jobs ({mine.length})</h3>
                {mine.length === 0 ? (
                  <p class="muted small">None.</p>
                ) : (
                  <ul class="plain">
                    {mine.map((j) => (
                      <li key={j.job_id}>
                        <Link href={jobPath(j.job_id)}>{j.name || shortId(j.job_id)}</Link> <span class="small muted mono">{j.operation}</span> <span class="small muted">since {ago(j.started_at, now)}</span>
                      </li>
                    ))}
                  </ul>
                )}
              </article>
            );
          })}
        </div>
      )}
    </div>
  );
}
