import { useEffect, useState } from 'preact/hooks';
import { get, pool } from '../api';
import type { JobPage, JobResult, JobView, ProfileReport, Severity } from '../types';

/** Newest profile jobs read, and images whose report is fetched (one result read each). */
const MAX_JOBS = 200;
const MAX_IMAGES = 100;

export interface OpenFindings {
  jobId: string;
  finishedAt: string | null;
  /** Checks that failed or could not be evaluated, over every guest of the image. */
  open: number;
  bySeverity: Record<Severity, number>;
}

/**
 * Open findings per image from its latest completed guestkit.profile job. The inventory holds
 * inspections only, so this reads the newest profile jobs' reports, a bounded number of them.
 */
export function useOpenFindings(): { byImage: Map<string, OpenFindings>; note: string } {
  const [state, setState] = useState<{ byImage: Map<string, OpenFindings>; note: string }>({ byImage: new Map(), note: '' });
  useEffect(() => {
    const ctl = new AbortController();
    (async () => {
      const page = await get<JobPage>(`/jobs?operation=guestkit.profile&status=completed&limit=${MAX_JOBS}`, ctl.signal);
      const latest = new Map<string, JobView>();
      for (const j of page.items) if (j.image_path && !latest.has(j.image_path)) latest.set(j.image_path, j);
      const picked = [...latest.values()].slice(0, MAX_IMAGES);
      const read = await pool(picked, 4, async (j) => ({ j, r: await get<JobResult>(`/jobs/${encodeURIComponent(j.job_id)}/result`, ctl.signal) }));
      const byImage = new Map<string, OpenFindings>();
      for (const x of read) {
        if (x.status !== 'fulfilled') continue;
        const report = x.value.r.data as ProfileReport | undefined;
        if (report?.kind !== 'guestkit.profile.report') continue;
        const f: OpenFindings = { jobId: x.value.j.job_id, finishedAt: x.value.j.finished_at, open: 0, bySeverity: { info: 0, low: 0, medium: 0, high: 0, critical: 0 } };
        for (const g of report.guests) {
          f.open += g.summary.fail + g.summary.error;
          for (const [sev, n] of Object.entries(g.summary.failed_by_severity)) f.bySeverity[sev as Severity] += n;
        }
        byImage.set(x.value.j.image_path!, f);
      }
      if (ctl.signal.aborted) return;
      const more = page.next || latest.size > MAX_IMAGES;
      setState({
        byImage,
        note: byImage.size
          ? `Open findings come from each image's latest profile job (${more ? `the newest ${MAX_IMAGES} profiled images` : 'every profiled image'}); — means not profiled.`
          : 'No image has been profiled yet: open findings appear once a guestkit.profile job completes.',
      });
    })().catch(() => undefined); // findings are an extra column: the inventory stands without them
    return () => ctl.abort();
  }, []);
  return state;
}
