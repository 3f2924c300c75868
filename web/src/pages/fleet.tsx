import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, get } from '../api';
import { ago, plural, when } from '../format';
import { Link, reportPath } from '../router';
import type { InventoryAnswer, InventoryImageView, InventoryPackageView } from '../types';
import { compare, ErrorBox, Loading, PageTitle, SortHeader, useNow, useSort } from '../ui';
import { useOpenFindings, type OpenFindings } from './fleet-findings';

const LIMIT = 5000;
const OPS = [
  ['', 'any version'],
  ['lt', 'below'],
  ['le', 'at most'],
  ['eq', 'exactly'],
  ['ge', 'at least'],
  ['gt', 'above'],
] as const;

interface Search {
  name: string;
  op: string;
  version: string;
}

/** Every inspected image, from the store's inventory (the latest inspection of each image). */
export function FleetPage() {
  const [images, setImages] = useState<InventoryAnswer<InventoryImageView> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [draft, setDraft] = useState<Search>({ name: '', op: '', version: '' });
  const [search, setSearch] = useState<Search | null>(null);
  const [hits, setHits] = useState<InventoryAnswer<InventoryPackageView> | null>(null);
  const [searchError, setSearchError] = useState<ApiError | Error | null>(null);
  const [sort, onSort] = useSort('image');
  const now = useNow(10_000);
  const findings = useOpenFindings();

  useEffect(() => {
    const ctl = new AbortController();
    get<InventoryAnswer<InventoryImageView>>(`/inventory/images?limit=${LIMIT}`, ctl.signal).then(setImages, (e: unknown) => !ctl.signal.aborted && setError(e));
    return () => ctl.abort();
  }, []);

  useEffect(() => {
    setHits(null);
    setSearchError(null);
    if (!search) return;
    const ctl = new AbortController();
    const q = new URLSearchParams({ name: search.name, limit: String(LIMIT) });
    if (search.op && search.version) q.set(`version_${search.op}`, search.version);
    get<InventoryAnswer<InventoryPackageView>>(`/inventory/packages?${q}`, ctl.signal).then(setHits, (e: unknown) => !ctl.signal.aborted && setSearchError(e as Error));
    return () => ctl.abort();
  }, [search]);

  /** image path → the versions of the searched package it has */
  const matched = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const h of hits?.items ?? []) m.set(h.image_path, [...(m.get(h.image_path) ?? []), h.package.version]);
    return m;
  }, [hits]);

  const shown = useMemo(() => {
    const all = images?.items ?? [];
    const r = search && hits ? all.filter((x) => matched.has(x.image_path)) : all.slice();
    const key = (x: InventoryImageView): unknown => {
      switch (sort.col) {
        case 'os':
          return x.os?.name ?? '';
        case 'version':
          return x.os?.version ?? '';
        case 'hostname':
          return x.os?.hostname ?? '';
        case 'arch':
          return x.os?.arch ?? '';
        case 'packages':
          return x.packages ?? -1;
        case 'findings':
          return findings.byImage.get(x.image_path)?.open ?? -1;
        case 'pkgver':
          return matched.get(x.image_path)?.[0];
        case 'inspected':
          return x.finished_at;
        default:
          return x.image_path;
      }
    };
    return r.sort((a, b) => compare(key(a), key(b)) * (sort.dir === 'ascending' ? 1 : -1));
  }, [images, hits, matched, search, sort, findings]);

  const submit = (e: Event) => {
    e.preventDefault();
    const name = draft.name.trim();
    if (!name) {
      setSearch(null);
      return;
    }
    if (draft.op && !draft.version.trim()) {
      setSearchError(new Error('give the version to compare with, or pick “any version”'));
      return;
    }
    setSearch({ name, op: draft.op, version: draft.version.trim() });
  };
  const versionError = searchError instanceof ApiError && String(searchError.details.parameter ?? '').startsWith('version_') ? searchError.message : null;

  return (
    <div>
      <PageTitle sub={images ? `${plural(images.items.length, 'image')} inspected` : null}>Fleet</PageTitle>
      <ErrorBox error={error} />
      {!images ? (
        !error && <Loading what="Reading the fleet inventory" />
      ) : images.items.length === 0 ? (
        <p class="empty">No image has been inspected yet.</p>
      ) : (
        <>
          <form class="table-tools fleet-search" onSubmit={submit} aria-label="Package search">
            <div class="field">
              <label for="fleet-pkg">Images with the package</label>
              <input id="fleet-pkg" type="search" value={draft.name} placeholder="openssl" onInput={(e) => setDraft({ ...draft, name: (e.target as HTMLInputElement).value })} />
            </div>
            <div class="field">
              <label for="fleet-op">Version</label>
              <select id="fleet-op" value={draft.op} onChange={(e) => setDraft({ ...draft, op: (e.target as HTMLSelectElement).value })}>
                {OPS.map(([v, l]) => (
                  <option value={v} key={v}>
                    {l}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="fleet-ver">Compared with</label>
              <input
                id="fleet-ver"
                type="text"
                value={draft.version}
                placeholder="3.0.7"
                disabled={!draft.op}
                aria-invalid={versionError ? 'true' : undefined}
                aria-describedby={versionError ? 'fleet-ver-error' : undefined}
                onInput={(e) => setDraft({ ...draft, version: (e.target as HTMLInputElement).value })}
              />
              {versionError && (
                <span id="fleet-ver-error" class="field-error">
                  {versionError}
                </span>
              )}
            </div>
            <button type="submit">Search</button>
            {search && (
              <button
                type="button"
                class="link"
                onClick={() => {
                  setDraft({ name: '', op: '', version: '' });
                  setSearch(null);
                }}
              >
                Show all
              </button>
            )}
            <p class="muted" role="status" aria-live="polite">
              {search && hits ? `${plural(shown.length, 'image')} with ${describe(search)}` : search && !searchError ? 'Searching…' : ''}
            </p>
          </form>
          {searchError && !versionError && <ErrorBox error={searchError} title="Package search failed" />}
          {hits?.truncated && <p class="muted small">More images match than shown; narrow the search.</p>}
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
                  {search && hits && <SortHeader label={`${search.name} version`} col="pkgver" sort={sort} onSort={onSort} />}
                  <SortHeader label="Open findings" col="findings" sort={sort} onSort={onSort} />
                  <SortHeader label="Last inspected" col="inspected" sort={sort} onSort={onSort} />
                </tr>
              </thead>
              <tbody>
                {shown.map((x) => (
                  <tr key={x.image_path}>
                    <td class="mono small path">
                      <Link href={reportPath(x.job_id)}>{x.image_path}</Link>
                    </td>
                    <td>{x.os ? x.os.name || x.os.distro : 'no OS found'}</td>
                    <td>{x.os?.version}</td>
                    <td class="wide">{x.os?.hostname}</td>
                    <td class="wider">{x.os?.arch}</td>
                    <td class="num">{x.packages ?? '—'}</td>
                    {search && hits && <td class="mono small">{matched.get(x.image_path)?.join(', ')}</td>}
                    <td class="num">
                      <FindingsCell f={findings.byImage.get(x.image_path)} />
                    </td>
                    <td title={when(x.finished_at)}>{ago(x.finished_at, now)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {(images.truncated || images.warnings.length > 0) && (
            <p class="muted small">
              {images.truncated && `The first ${LIMIT} images are shown. `}
              {images.warnings.join(' ')}
            </p>
          )}
          <p class="muted small">{findings.note}</p>
        </>
      )}
    </div>
  );
}

function describe(s: Search): string {
  const op = OPS.find(([v]) => v === s.op);
  return s.op && op ? `${s.name} ${op[1]} ${s.version}` : s.name;
}

function FindingsCell({ f }: { f: OpenFindings | undefined }) {
  if (!f) return <span class="muted">—</span>;
  const severe = f.bySeverity.critical + f.bySeverity.high;
  return (
    <Link href={reportPath(f.jobId)} title={`from the profile job of ${when(f.finishedAt)}`}>
      {f.open}
      {severe > 0 && <span class="small sev-high"> ({severe} high or critical)</span>}
    </Link>
  );
}
