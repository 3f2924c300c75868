import { useEffect, useState } from 'preact/hooks';
import { get, saveFile } from '../api';
import { plural, when } from '../format';
import { jobPath, Link, reportPath } from '../router';
import type { CheckResult, GuestReport, JobPage, JobResult, JobView, ProfileReport, Severity } from '../types';
import { Facts, PageTitle, Section } from '../ui';

const ORDER: Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

/** Failed checks of one guest grouped by severity, each with the evidence it was judged on. */
export function GuestFindings({ guest, source }: { guest: GuestReport; source?: preact.ComponentChildren }) {
  const open = guest.results.filter((r) => r.status === 'fail' || r.status === 'error');
  const groups = ORDER.map((sev) => [sev, open.filter((r) => r.severity === sev)] as const).filter(([, rs]) => rs.length > 0);
  const s = guest.summary;
  return (
    <Section id="findings" title="Findings">
      {source && <p class="muted small">{source}</p>}
      <Facts
        rows={[
          ['Checks', `${s.checks}: ${s.pass} passed, ${s.fail} failed, ${s.not_applicable} not applicable${s.error ? `, ${s.error} could not be evaluated` : ''}`],
          ['Benchmark', guest.benchmark ? `${guest.benchmark.title}${guest.benchmark.exact ? '' : ' (nearest)'}` : null],
          ...Object.entries(guest.scores)
            .filter(([, sc]) => sc && sc.score !== null)
            .map(([name, sc]) => [`Score: ${name.replace('_', ' ')}`, `${sc!.score}%`] as [string, string]),
        ]}
      />
      {guest.migration && <Readiness m={guest.migration} />}
      {groups.length === 0 ? (
        <p class="empty">No open findings.</p>
      ) : (
        groups.map(([sev, rs]) => (
          <div class="severity-group" key={sev}>
            <h3 class={`sev-${sev}`}>
              {sev[0]!.toUpperCase() + sev.slice(1)} <span class="muted small">({rs.length})</span>
            </h3>
            <ul class="findings">
              {rs.map((r) => (
                <Finding r={r} key={r.id} />
              ))}
            </ul>
          </div>
        ))
      )}
      {guest.warnings.length > 0 && (
        <details>
          <summary>{plural(guest.warnings.length, 'warning')} while profiling</summary>
          <ul>
            {guest.warnings.map((w, i) => (
              <li key={i}>{w}</li>
            ))}
          </ul>
        </details>
      )}
    </Section>
  );
}

function Readiness({ m }: { m: NonNullable<GuestReport['migration']> }) {
  return (
    <div class={`readiness ${m.bootable ? 'ready' : 'blocked'}`} data-testid="migration-readiness">
      <h3>
        Migration to {m.target}: {m.bootable ? 'bootable' : 'not bootable as it is'} · readiness {m.score}/100
      </h3>
      <p class="small">
        {plural(m.blockers.length, 'blocker')}, {plural(m.warnings.length, 'warning')}.
      </p>
      {m.changes.length > 0 && (
        <ol class="changes">
          {m.changes.map((c) => (
            <li key={c.order}>
              <strong>{c.when} the move:</strong> {c.step} <code class="small muted">{c.fixes}</code>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

function Finding({ r }: { r: CheckResult }) {
  return (
    <li class="finding">
      <details>
        <summary>
          <span class="finding-title">{r.title}</span> <code class="small muted">{r.id}</code>
          {r.status === 'error' && <span class="badge badge-failed">not evaluated</span>}
          <div class="small">{r.message}</div>
        </summary>
        {r.evidence.length > 0 && (
          <table class="evidence">
            <thead>
              <tr>
                <th scope="col">Where</th>
                <th scope="col">Found</th>
                <th scope="col">Expected</th>
              </tr>
            </thead>
            <tbody>
              {r.evidence.map((e, i) => (
                <tr key={i}>
                  <td class="mono small">{e.file ? `${e.file}${e.line ? `:${e.line}` : ''}` : (e.note ?? '')}</td>
                  <td class="mono small">{e.value ?? ''}</td>
                  <td class="mono small">{e.expected ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {r.remediation && <p class="small">Remediation: {r.remediation}</p>}
        {r.references.cis.length > 0 && <p class="small muted">CIS {r.references.cis.map((c) => `${c.id} (L${c.level})`).join(', ')}</p>}
      </details>
    </li>
  );
}

/** The report of a guestkit.profile job: each guest's findings. */
export function ProfileReportPage({ id, job, report }: { id: string; job: JobView; report: ProfileReport }) {
  const [i, setI] = useState(0);
  const guest = report.guests[Math.min(i, report.guests.length - 1)];
  return (
    <div class="report">
      <PageTitle
        sub={
          <>
            <code class="path">{job.image_path}</code> · profiled {when(report.generated_at)} ({report.profiles.join(', ')}) · <Link href={jobPath(id)}>job</Link> ·{' '}
            <button type="button" class="link" onClick={() => saveFile(`${id}-profile.json`, JSON.stringify(report, null, 2) + '\n', 'application/json')}>
              download JSON
            </button>
          </>
        }
      >
        {guest ? `Profile of ${guest.os.pretty_name || `${guest.os.distro} ${guest.os.version}`}` : 'Profile: no operating system found'}
      </PageTitle>
      {report.guests.length > 1 && (
        <div class="field inline">
          <label for="guest-pick">Operating system</label>
          <select id="guest-pick" value={String(i)} onChange={(e) => setI(Number((e.target as HTMLSelectElement).value))}>
            {report.guests.map((g, k) => (
              <option value={String(k)} key={g.root}>
                {g.os.pretty_name || g.os.distro} on {g.root}
              </option>
            ))}
          </select>
        </div>
      )}
      {guest && <GuestFindings guest={guest} />}
    </div>
  );
}

/** An inspection report's findings: from the newest completed profile job of the same image and root. */
export function LatestProfileFindings({ image, root }: { image: string | null; root: string }) {
  const [found, setFound] = useState<{ job: JobView; guest: GuestReport } | null>(null);
  useEffect(() => {
    setFound(null);
    if (!image) return;
    const ctl = new AbortController();
    (async () => {
      const q = new URLSearchParams({ operation: 'guestkit.profile', status: 'completed', image_prefix: image, limit: '20' });
      const page = await get<JobPage>(`/jobs?${q}`, ctl.signal);
      const job = page.items.find((j) => j.image_path === image);
      if (!job) return;
      const r = await get<JobResult>(`/jobs/${encodeURIComponent(job.job_id)}/result`, ctl.signal);
      const report = r.data as ProfileReport | undefined;
      const guest = report?.kind === 'guestkit.profile.report' ? report.guests.find((g) => g.root === root) : undefined;
      if (guest && !ctl.signal.aborted) setFound({ job, guest });
    })().catch(() => undefined); // no profile to show is not an error of the report
    return () => ctl.abort();
  }, [image, root]);
  if (!found) return null;
  return (
    <GuestFindings
      guest={found.guest}
      source={
        <>
          From the latest profile of this image, {when(found.job.finished_at)}: <Link href={reportPath(found.job.job_id)}>the whole profile report</Link>.
        </>
      }
    />
  );
}
