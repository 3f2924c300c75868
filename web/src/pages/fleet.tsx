import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, pool } from '../api';
import { ago, plural, when } from '../format';
import { Link, reportPath } from '../router';
import type { Inspection, JobPage, JobResult, JobView } from '../types';
import { compare, ErrorBox, Loading, PageTitle, SortHeader, useNow, useSort } from '../ui';

/** Newest inspections read; the API has no fleet query yet, so each image costs one result fetch. */
const MAX_JOBS = 500;
const MAX_IMAGES = 100;

interface Row {
  image: string;
  job: JobView;
  os: string;
  distro: string;
  version: string;
  arch: string;
  hostname: string;
  packages: number | null;
  /** package name → version, for the package search */
  versions: Map<string, string>;
  inspections: number;
}

/** Every inspected image, newest inspection first, from completed guestkit.inspect jobs. */
export function FleetPage() {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [progress, setProgress] = useState('');
  const [pkg, setPkg] = useState('');
  const [sort, onSort] = useSort('image');
  const now = useNow(10_000);

  useEffect(() => {
    const ctl = new AbortController();
    (async () => {
      const jobs: JobView[] = [];
      let cursor: string | undefined;
      while (jobs.length < MAX_JOBS) {
        const p = await get<JobPage>(`/jobs?operation=guestkit.inspect&status=completed&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, ctl.signal);
        jobs.push(...p.items);
        if (!p.next) break;
        cursor = p.next;
      }
      const latest = new Map<string, { job: JobView; n: number }>();
      for (const j of jobs) {
        if (!j.image_path) continue;
        const e = latest.get(j.image_path);
        if (e) e.n++;
        else latest.set(j.image_path, { job: j, n: 1 });
      }
      const picked = [...latest.values()].slice(0, MAX_IMAGES);
      let done = 0;
      const out = await pool(picked, 4, async ({ job, n }): Promise<Row> => {
        const r = await get<JobResult>(`/jobs/${encodeURIComponent(job.job_id)}/result`, ctl.signal);
        setProgress(`${++done} of ${picked.length} reports read`);
        const d = r.data as Inspection | undefined;
        const os = d?.operating_systems?.[0];
        const apps = os?.applications;
        return {
          image: job.image_path!,
          job,
          os: os ? os.pretty_name || os.product_name || os.distro : 'no OS found',
          distro: os?.distro ?? '',
          version: os ? `${os.major_version}.${os.minor_version}` : '',
          arch: os?.arch ?? '',
          hostname: os?.hostname ?? '',
          packages: apps ? apps.length : null,
          versions: new Map((apps ?? []).map((a) => [a.name.toLowerCase(), `${a.epoch ? `${a.epoch}:` : ''}${a.version}${a.release ? `-${a.release}` : ''}`])),
          inspections: n,
        };
      });
      if (ctl.signal.aborted) return;
      setRows(out.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : [])));
    })().catch((e: unknown) => !ctl.signal.aborted && setError(e));
    return () => ctl.abort();
  }, []);

  const needle = pkg.trim().toLowerCase();
  const shown = useMemo(() => {
    if (!rows) return [];
    const r = needle ? rows.filter((x) => x.versions.has(needle)) : rows.slice();
    const key = (x: Row): unknown => (sort.col === 'inspected' ? x.job.finished_at : sort.col === 'packages' ? (x.packages ?? -1) : sort.col === 'pkgver' ? x.versions.get(needle) : (x as unknown as Record<string, unknown>)[sort.col]);
    return r.sort((a, b) => compare(key(a), key(b)) * (sort.dir === 'ascending' ? 1 : -1));
  }, [rows, needle, sort]);

  return (
    <div>
      <PageTitle sub={rows ? `${plural(rows.length, 'image')} inspected` : null}>Fleet</PageTitle>
      <ErrorBox error={error} />
      {!rows ? (
        <Loading what={`Reading inspection reports${progress ? ` (${progress})` : ''}`} />
      ) : rows.length === 0 ? (
        <p class="empty">No image has been inspected yet.</p>
      ) : (
        <>
          <div class="table-tools">
            <div class="field">
              <label for="fleet-pkg">Images with the package</label>
              <input id="fleet-pkg" type="search" value={pkg} placeholder="openssl" onInput={(e) => setPkg((e.target as HTMLInputElement).value)} />
            </div>
            <p class="muted" role="status" aria-live="polite">
              {needle ? `${plural(shown.length, 'image')} with ${needle}` : ''}
            </p>
          </div>
          <div class="table-wrap">
            <table data-testid="fleet-table">
              <thead>
                <tr>
                  <SortHeader label="Image" col="image" sort={sort} onSort={onSort} />
                  <SortHeader label="OS" col="os" sort={sort} onSort={onSort} />
                  <SortHeader label="Version" col="version" sort={sort} onSort={onSort} />
                  <SortHeader label="Host" col="hostname" sort={sort} onSort={onSort} class="wide" />
                  <SortHeader label="Arch" col="arch" sort={sort} onSort={onSort} class="wider" />
                  <SortHeader label="Packages" col="packages" sort={sort} onSort={onSort} />
                  {needle && <SortHeader label={`${needle} version`} col="pkgver" sort={sort} onSort={onSort} />}
                  <SortHeader label="Last inspected" col="inspected" sort={sort} onSort={onSort} />
                </tr>
              </thead>
              <tbody>
                {shown.map((x) => (
                  <tr key={x.image}>
                    <td class="mono small path">
                      <Link href={reportPath(x.job.job_id)}>{x.image}</Link>
                    </td>
                    <td>{x.os}</td>
                    <td>{x.version}</td>
                    <td class="wide">{x.hostname}</td>
                    <td class="wider">{x.arch}</td>
                    <td class="num">{x.packages ?? '—'}</td>
                    {needle && <td class="mono small">{x.versions.get(needle)}</td>}
                    <td title={when(x.job.finished_at)}>
                      {ago(x.job.finished_at, now)}
                      {x.inspections > 1 && <span class="small muted"> ({x.inspections}×)</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p class="muted small">
            Built from the newest {MAX_JOBS} completed inspect jobs ({MAX_IMAGES} images at most), one report read per image. Open findings appear here once profiles land.
          </p>
        </>
      )}
    </div>
  );
}
