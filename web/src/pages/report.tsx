import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, saveFile } from '../api';
import { bytes, plural, when } from '../format';
import { jobPath, Link } from '../router';
import type { Application, FilesystemEntry, Inspection, JobResult, JobView, OperatingSystem, ProfileReport, ServiceInfo, UserInfo } from '../types';
import { compare, ErrorBox, Facts, Loading, PageTitle, Section, SortHeader, useSort } from '../ui';
import { LatestProfileFindings, ProfileReportPage } from './findings';

/** The inspection report of a completed guestkit.inspect job: the page people show others. */
export function ReportPage({ id }: { id: string }) {
  const [job, setJob] = useState<JobView | null>(null);
  const [result, setResult] = useState<JobResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [osIndex, setOsIndex] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    const path = `/jobs/${encodeURIComponent(id)}`;
    Promise.all([get<JobView>(path, ctl.signal), get<JobResult>(`${path}/result`, ctl.signal)]).then(
      ([j, r]) => {
        setJob(j);
        setResult(r);
      },
      (e: unknown) => !ctl.signal.aborted && setError(e),
    );
    return () => ctl.abort();
  }, [id]);

  if (error) return <ErrorBox error={error} title="No report" />;
  if (!job || !result) return <Loading what="Loading the report" />;
  const profile = result.data as ProfileReport | undefined;
  if (profile?.kind === 'guestkit.profile.report' && Array.isArray(profile.guests)) return <ProfileReportPage id={id} job={job} report={profile} />;
  const data = result.data as Inspection | undefined;
  if (!data || !Array.isArray(data.operating_systems)) {
    return (
      <div>
        <PageTitle>No inspection report</PageTitle>
        <p>
          Job <Link href={jobPath(id)}>{id}</Link> ({job.operation}, {job.status}) has no inspection data.
        </p>
      </div>
    );
  }
  const oses = data.operating_systems;
  const os = oses[Math.min(osIndex, oses.length - 1)];
  const title = os ? os.pretty_name || os.product_name || `${os.distro} ${os.major_version}.${os.minor_version}` : 'No operating system found';
  return (
    <div class="report">
      <PageTitle
        sub={
          <>
            {os?.hostname && <strong>{os.hostname}</strong>} · <code class="path">{job.image_path}</code> · inspected {when(result.completed_at ?? job.finished_at)} ·{' '}
            <Link href={jobPath(id)}>job</Link> ·{' '}
            <button type="button" class="link" onClick={() => saveFile(`${id}-inspection.json`, JSON.stringify(data, null, 2) + '\n', 'application/json')}>
              download JSON
            </button>
          </>
        }
      >
        {title}
      </PageTitle>
      {oses.length > 1 && (
        <div class="field inline">
          <label for="os-pick">Operating system</label>
          <select id="os-pick" value={String(osIndex)} onChange={(e) => setOsIndex(Number((e.target as HTMLSelectElement).value))}>
            {oses.map((o, i) => (
              <option value={String(i)} key={o.root}>
                {o.pretty_name || o.product_name || o.distro} on {o.root}
              </option>
            ))}
          </select>
        </div>
      )}
      <nav class="toc" aria-label="Report sections">
        <ul>
          {[
            ['os', 'System'],
            ['disks', 'Disks'],
            ['packages', 'Packages'],
            ['users', 'Users'],
            ['services', 'Services'],
            ['network', 'Network'],
            ['security', 'Security'],
            ['warnings', 'Warnings'],
          ].map(([h, l]) => (
            <li key={h}>
              <a href={`#${h}`}>{l}</a>
            </li>
          ))}
        </ul>
      </nav>
      {os && <OsCard os={os} />}
      <DiskLayout data={data} os={os} />
      {os && <Packages apps={os.applications ?? []} windows={os.type === 'windows'} />}
      {os && <Users users={os.users ?? []} />}
      {os && <Services services={os.services ?? []} windows={os.type === 'windows'} os={os} />}
      {os && <Network os={os} />}
      {os && <Security os={os} />}
      {os && <LatestProfileFindings image={job.image_path} root={os.root} />}
      <Warnings data={data} os={os} />
    </div>
  );
}

function OsCard({ os }: { os: OperatingSystem }) {
  const win = os.type === 'windows';
  return (
    <Section id="os" title="System">
      <div class="os-card">
        <div class={`os-mark os-${os.distro}`} aria-hidden="true">
          {(os.distro || os.type || '?').slice(0, 1).toUpperCase()}
        </div>
        <Facts
          rows={[
            ['Product', os.pretty_name || os.product_name],
            ['Distribution', os.distro],
            ['Version', `${os.major_version}.${os.minor_version}${os.product_name && os.product_name !== os.pretty_name && os.product_name !== `${os.major_version}.${os.minor_version}` && !win ? ` (${os.product_name})` : ''}`],
            ['Architecture', os.arch],
            ['Hostname', os.hostname],
            ['osinfo', os.osinfo ? <code>{os.osinfo}</code> : null],
            ['Edition', os.edition],
            ['Variant', os.product_variant],
            ['Build', os.build_id],
            ['Root', <code>{os.root}</code>],
            ['Packages', os.package_format ? `${os.package_format}${os.package_management ? ` (${os.package_management})` : ''}` : null],
            ['Init', os.init_system ? `${os.init_system}${os.default_target ? `, ${os.default_target}` : ''}` : null],
            ['Kernels', os.kernels?.length ? os.kernels.map((k) => k.version).join(', ') : null],
            ['Boot loader', os.bootloader ? `${os.bootloader.type}${os.bootloader.default_entry ? `: ${os.bootloader.default_entry}` : ''}` : null],
            ['Time zone', os.timezone],
            ['Locale', os.locale],
            ['System root', os.windows_systemroot],
            ['Control set', os.windows_current_control_set],
            ['Guest agents', os.guest_agents?.length ? os.guest_agents.join(', ') : null],
            ...windowsRows(os),
            ['cloud-init', os.cloud_init ? (os.cloud_init.installed ? `installed${os.cloud_init.disabled ? ', disabled' : ''}${os.cloud_init.datasources?.length ? ` (${os.cloud_init.datasources.join(', ')})` : ''}` : 'not installed') : null],
          ]}
        />
      </div>
    </Section>
  );
}

/** Windows facts of issue 19 (membership, updates, reboot, update policy, drivers), as fact rows. */
function windowsRows(os: OperatingSystem): [string, string | null | undefined][] {
  const d = os.domain;
  const latest = os.updates?.filter((u) => u.installed).sort((a, b) => (a.installed! < b.installed! ? 1 : -1))[0];
  const wu = os.windows_update;
  const pv = os.virt_drivers ? Object.entries(os.virt_drivers).filter(([, v]) => v).map(([k]) => k) : undefined;
  const admins = os.groups?.find((g) => g.sid === 'S-1-5-32-544');
  return [
    ['Domain', d ? (d.joined ? `joined to ${d.dns_domain ?? d.name} (${d.name})` : `workgroup ${d.name}`) : null],
    ['Administrators', admins ? admins.members.join(', ') || '(none)' : null],
    ['Per-user programs', os.user_applications?.length ? os.user_applications.map((a) => `${a.display_name ?? a.name} (${a.user})`).join(', ') : null],
    ['Updates', os.updates ? `${os.updates.length} KBs${latest ? `, latest ${latest.kb} (${latest.installed!.slice(0, 10)})` : ''}` : null],
    ['Roles and features', os.server_features ? os.server_features.join(', ') || '(none)' : null],
    ['Pending reboot', os.pending_reboot ? (os.pending_reboot.pending ? `yes: ${os.pending_reboot.markers.join(', ')}` : 'no') : null],
    ['Update policy', wu ? `${wu.no_auto_update ? 'automatic updates off' : (wu.au_options_text ?? 'set')}${wu.wu_server ? `, WSUS ${wu.wu_server}` : ''}` : null],
    ['Paravirtual drivers', pv ? `${pv.join(', ') || 'none'}${os.virt_drivers!.virtio ? '' : ' (no virtio drivers)'}` : null],
  ];
}

interface Seg {
  device: string;
  fs?: FilesystemEntry;
  size: number;
  mounts: string[];
  kind: 'fs' | 'pv' | 'free';
}

/** Where each device is mounted (fstab) and, for Windows, its drive letter. */
function mountMap(os: OperatingSystem | undefined): Map<string, string[]> {
  const m = new Map<string, string[]>();
  const add = (dev: string, what: string) => m.set(dev, [...(m.get(dev) ?? []), what]);
  if (!os) return m;
  for (const [letter, dev] of Object.entries(os.drive_mappings ?? {})) add(dev, `${letter.replace(/:$/, '')}:`);
  for (const [mp, dev] of Object.entries(os.mountpoints ?? {})) if (!(os.type === 'windows' && mp === '/' && os.drive_mappings)) add(dev, mp);
  for (const f of os.fstab ?? []) if (f.vfstype === 'swap' && f.device) add(f.device, 'swap');
  return m;
}

const partNo = (disk: string, dev: string): number | null => {
  if (!dev.startsWith(disk)) return null;
  const rest = dev.slice(disk.length).replace(/^p/, '');
  return /^\d+$/.test(rest) ? Number(rest) : null;
};

/** Disks → partitions / LVM → filesystems, drawn to scale, with sizes and mountpoints. */
function DiskLayout({ data, os }: { data: Inspection; os: OperatingSystem | undefined }) {
  const mounts = mountMap(os);
  const fss = data.filesystems ?? [];
  const used = new Set<string>();
  const disks = data.image.map((img, i) => {
    const dev = data.partition_table[i]?.device ?? `/dev/sd${String.fromCharCode(97 + i)}`;
    const scheme = data.partition_table.find((p) => p.device === dev)?.scheme;
    const parts = fss
      .map((f) => ({ f, n: partNo(dev, f.device) }))
      .filter((x) => x.n !== null)
      .sort((a, b) => a.n! - b.n!);
    const whole = fss.find((f) => f.device === dev);
    const segs: Seg[] = [];
    for (const { f } of parts) {
      used.add(f.device);
      segs.push({ device: f.device, fs: f, size: f.size, mounts: mounts.get(f.device) ?? [], kind: f.type === 'LVM2_member' ? 'pv' : 'fs' });
    }
    if (whole) {
      used.add(whole.device);
      segs.push({ device: whole.device, fs: whole, size: whole.size, mounts: mounts.get(whole.device) ?? [], kind: whole.type === 'LVM2_member' ? 'pv' : 'fs' });
    }
    const listed = segs.reduce((s, x) => s + x.size, 0);
    const rest = img.virtual_size - listed;
    if (rest > img.virtual_size * 0.01) segs.push({ device: '', size: rest, mounts: [], kind: 'free' });
    return { dev, img, scheme, segs };
  });
  // logical volumes: /dev/<vg>/<lv> (and device-mapper names), grouped by volume group
  const vgs = new Map<string, FilesystemEntry[]>();
  const others: FilesystemEntry[] = [];
  for (const f of fss) {
    if (used.has(f.device)) continue;
    const m = /^\/dev\/(?:mapper\/)?([^/]+)\/([^/]+)$/.exec(f.device);
    if (m && !/^(sd|vd|hd|xvd|nvme|md|loop)/.test(m[1]!)) vgs.set(m[1]!, [...(vgs.get(m[1]!) ?? []), f]);
    else others.push(f);
  }
  const pvs = fss.filter((f) => f.type === 'LVM2_member').map((f) => f.device);
  return (
    <Section id="disks" title="Disk layout">
      <div class="layout" data-testid="disk-layout">
        {disks.map((d) => (
          <figure class="disk" key={d.dev} aria-label={`Disk ${d.dev}`}>
            <figcaption>
              <strong>{d.dev}</strong> · {bytes(d.img.virtual_size)} · {d.img.format}
              {d.scheme && <> · {d.scheme.toUpperCase()}</>} · <code class="path small">{d.img.path}</code>
              {d.img.backing_chain.length > 0 && <span class="small muted"> (backed by {d.img.backing_chain.join(' → ')})</span>}
            </figcaption>
            <Bar segs={d.segs} total={d.img.virtual_size} />
          </figure>
        ))}
        {[...vgs.entries()].map(([vg, lvs]) => {
          const total = lvs.reduce((s, f) => s + f.size, 0);
          return (
            <figure class="disk vg" key={vg} aria-label={`LVM volume group ${vg}`}>
              <figcaption>
                <strong>LVM volume group {vg}</strong> · {plural(lvs.length, 'logical volume')} · {bytes(total)}
                {pvs.length > 0 && <> · on {pvs.join(', ')}</>}
              </figcaption>
              <Bar segs={lvs.map((f) => ({ device: f.device, fs: f, size: f.size, mounts: mounts.get(f.device) ?? [], kind: 'fs' as const }))} total={total} />
            </figure>
          );
        })}
        {others.length > 0 && (
          <figure class="disk" aria-label="Other devices">
            <figcaption>
              <strong>Other devices</strong>
            </figcaption>
            <Bar segs={others.map((f) => ({ device: f.device, fs: f, size: f.size, mounts: mounts.get(f.device) ?? [], kind: 'fs' as const }))} total={others.reduce((s, f) => s + f.size, 0)} />
          </figure>
        )}
      </div>
      <details>
        <summary>Filesystems as a table ({fss.length})</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Type</th>
                <th scope="col">Label</th>
                <th scope="col">Size</th>
                <th scope="col">Mounted at</th>
                <th scope="col">Role</th>
                <th scope="col">UUID</th>
              </tr>
            </thead>
            <tbody>
              {fss.map((f) => (
                <tr key={f.device}>
                  <td class="mono">{f.device}</td>
                  <td>{f.type}</td>
                  <td>{f.label ?? ''}</td>
                  <td class="num">{bytes(f.size)}</td>
                  <td class="mono">{(mounts.get(f.device) ?? []).join(', ')}</td>
                  <td>
                    {f.role ?? ''}
                    {f.error && (
                      <span class="bad">
                        {f.error.code}
                        {Array.isArray(f.error.details?.key_protectors) ? ` (${(f.error.details.key_protectors as string[]).join(', ')})` : ''}
                      </span>
                    )}
                  </td>
                  <td class="mono small">{f.uuid ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </Section>
  );
}

function Bar({ segs, total }: { segs: Seg[]; total: number }) {
  return (
    <ol class="bar">
      {segs.map((s, i) => {
        const share = total > 0 ? s.size / total : 0;
        return (
          <li
            key={s.device || `free-${i}`}
            class={`seg ${s.kind} t-${(s.fs?.type ?? 'free').replace(/[^a-z0-9]/gi, '')}`}
            style={{ flexGrow: Math.max(share, 0.0001), flexBasis: `${Math.max(share * 100, 0)}%` }}
            title={`${s.device || 'not in a filesystem'} · ${bytes(s.size)}`}
          >
            {s.kind === 'free' ? (
              <>
                <span class="dev">other / free</span>
                <span class="size">{bytes(s.size)}</span>
              </>
            ) : (
              <>
                <span class="dev mono">{s.device}</span>
                <span class="fstype">
                  {s.kind === 'pv' ? 'LVM PV' : s.fs?.type}
                  {s.fs?.label ? ` “${s.fs.label}”` : ''}
                </span>
                <span class="size">{bytes(s.size)}</span>
                {s.mounts.length > 0 && <span class="mount mono">{s.mounts.join(' ')}</span>}
              </>
            )}
          </li>
        );
      })}
    </ol>
  );
}

const ROW_LIMIT = 100;

function version(a: Application): string {
  return `${a.epoch ? `${a.epoch}:` : ''}${a.version}${a.release ? `-${a.release}` : ''}`;
}

function Packages({ apps, windows }: { apps: Application[]; windows: boolean }) {
  const [q, setQ] = useState('');
  const [all, setAll] = useState(false);
  const [sort, onSort] = useSort('name');
  const rows = useMemo(() => {
    const needle = q.trim().toLowerCase();
    const hit = needle
      ? apps.filter((a) => a.name.toLowerCase().includes(needle) || version(a).toLowerCase().includes(needle) || (a.summary ?? '').toLowerCase().includes(needle) || (a.display_name ?? '').toLowerCase().includes(needle) || (a.publisher ?? '').toLowerCase().includes(needle))
      : apps.slice();
    const key = (a: Application): unknown => (sort.col === 'version' ? version(a) : sort.col === 'arch' ? a.arch : sort.col === 'extra' ? (windows ? a.publisher : a.source_package) : sort.col === 'summary' ? (a.summary ?? a.display_name) : a.name);
    hit.sort((x, y) => compare(key(x), key(y)) * (sort.dir === 'ascending' ? 1 : -1));
    return hit;
  }, [apps, q, sort, windows]);
  const shown = all ? rows : rows.slice(0, ROW_LIMIT);
  return (
    <Section id="packages" title={`Packages (${apps.length.toLocaleString()})`}>
      <div class="table-tools">
        <div class="field">
          <label for="pkg-q">Search packages</label>
          <input id="pkg-q" type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} placeholder="name, version or summary" aria-controls="pkg-table" />
        </div>
        <p class="muted" role="status" aria-live="polite">
          {q ? `${plural(rows.length, 'package')} match` : plural(rows.length, 'package')}
        </p>
      </div>
      <div class="table-wrap">
        <table id="pkg-table" class="packages">
          <thead>
            <tr>
              <SortHeader label="Name" col="name" sort={sort} onSort={onSort} />
              <SortHeader label="Version" col="version" sort={sort} onSort={onSort} />
              <SortHeader label="Arch" col="arch" sort={sort} onSort={onSort} class="wide" />
              <SortHeader label={windows ? 'Publisher' : 'Source'} col="extra" sort={sort} onSort={onSort} class="wider" />
              <SortHeader label={windows ? 'Display name' : 'Summary'} col="summary" sort={sort} onSort={onSort} class="wide" />
            </tr>
          </thead>
          <tbody>
            {shown.map((a) => (
              <tr key={`${a.name}\0${a.arch}\0${version(a)}`}>
                <td class="mono">{a.name}</td>
                <td class="mono small">{version(a)}</td>
                <td class="wide small">{a.arch}</td>
                <td class="wider small">{windows ? (a.publisher ?? '') : (a.source_package ?? '')}</td>
                <td class="wide small">{windows ? (a.display_name ?? '') : (a.summary ?? '')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length > shown.length && (
        <button type="button" onClick={() => setAll(true)}>
          Show all {rows.length.toLocaleString()} packages
        </button>
      )}
    </Section>
  );
}

function Users({ users }: { users: UserInfo[] }) {
  const [system, setSystem] = useState(false);
  const [sort, onSort] = useSort('uid');
  const rows = useMemo(() => {
    const r = users.filter((u) => system || !u.system || u.uid === 0);
    const key = (u: UserInfo): unknown => u[sort.col as keyof UserInfo];
    return r.sort((a, b) => compare(key(a), key(b)) * (sort.dir === 'ascending' ? 1 : -1));
  }, [users, system, sort]);
  return (
    <Section
      id="users"
      title={`Users (${users.length})`}
      actions={
        <label class="check-label">
          <input type="checkbox" checked={system} onChange={() => setSystem(!system)} /> Show system accounts
        </label>
      }
    >
      {users.length === 0 ? (
        <p class="muted">No users were read.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <SortHeader label="Name" col="name" sort={sort} onSort={onSort} />
                <SortHeader label="UID" col="uid" sort={sort} onSort={onSort} />
                <SortHeader label="Login" col="login_allowed" sort={sort} onSort={onSort} />
                <SortHeader label="Password" col="password" sort={sort} onSort={onSort} />
                <SortHeader label="Shell" col="shell" sort={sort} onSort={onSort} class="wide" />
                <SortHeader label="Home" col="home" sort={sort} onSort={onSort} class="wider" />
                <th scope="col" class="wide">
                  Groups
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((u) => (
                <tr key={u.name}>
                  <td class="mono">
                    {u.name}
                    {u.gecos && u.gecos !== u.name && <div class="small muted">{u.gecos}</div>}
                  </td>
                  <td class="num">{u.uid}</td>
                  <td>
                    {u.login_allowed ? <strong>yes</strong> : 'no'}
                    {u.locked && <span class="bad"> (locked out)</span>}
                  </td>
                  <td class={u.password === 'empty' ? 'bad' : undefined}>{u.password}</td>
                  <td class="wide mono small">{u.shell}</td>
                  <td class="wider mono small">{u.home}</td>
                  <td class="wide small">{u.groups.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function Services({ services, windows, os }: { services: ServiceInfo[]; windows: boolean; os: OperatingSystem }) {
  const [q, setQ] = useState('');
  const [sort, onSort] = useSort('name');
  const rows = useMemo(() => {
    const n = q.trim().toLowerCase();
    const r = n ? services.filter((s) => s.name.toLowerCase().includes(n) || (s.display_name ?? '').toLowerCase().includes(n)) : services.slice();
    const key = (s: ServiceInfo): unknown => (sort.col === 'when' ? (s.start ?? s.enabled_in.join(',')) : sort.col === 'kind' ? s.kind : s.name);
    return r.sort((a, b) => compare(key(a), key(b)) * (sort.dir === 'ascending' ? 1 : -1));
  }, [services, q, sort]);
  return (
    <Section id="services" title={`Services (${services.length})`}>
      {os.init_system && (
        <p class="muted">
          Init system {os.init_system}
          {os.default_target && <>, default target {os.default_target}</>}.
        </p>
      )}
      {services.length > 10 && (
        <div class="field">
          <label for="svc-q">Search services</label>
          <input id="svc-q" type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        </div>
      )}
      {services.length === 0 ? (
        <p class="muted">No services were read.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <SortHeader label="Name" col="name" sort={sort} onSort={onSort} />
                <SortHeader label="Kind" col="kind" sort={sort} onSort={onSort} />
                <SortHeader label={windows ? 'Start' : 'Enabled in'} col="when" sort={sort} onSort={onSort} />
                {windows && (
                  <th scope="col" class="wide">
                    Image path
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.name}>
                  <td class="mono">
                    {s.name}
                    {s.alias_of && <span class="small muted"> → {s.alias_of}</span>}
                  </td>
                  <td>{s.kind}</td>
                  <td class="small">{windows ? (s.start ?? '') : s.enabled_in.join(', ')}</td>
                  {windows && <td class="wide mono small path">{s.image_path ?? ''}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function Network({ os }: { os: OperatingSystem }) {
  const n = os.network;
  if (!n) {
    return (
      <Section id="network" title="Network">
        <p class="muted">No network settings were read.</p>
      </Section>
    );
  }
  return (
    <Section id="network" title="Network">
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Interface</th>
              <th scope="col">Method</th>
              <th scope="col">Addresses</th>
              <th scope="col">Gateway</th>
              <th scope="col" class="wide">
                DNS
              </th>
              <th scope="col" class="wider">
                From
              </th>
            </tr>
          </thead>
          <tbody>
            {n.interfaces.map((i) => (
              <tr key={`${i.name}${i.source}`}>
                <td class="mono">
                  {i.name}
                  {i.mac && <div class="small muted">{i.mac}</div>}
                </td>
                <td>{i.method ?? ''}</td>
                <td class="mono small">{i.addresses.join(', ') || '—'}</td>
                <td class="mono small">{i.gateway ?? ''}</td>
                <td class="wide mono small">{(i.dns ?? []).join(', ')}</td>
                <td class="wider mono small path">{i.source}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Facts
        rows={[
          ['DNS servers', n.dns_servers.join(', ')],
          ['Search domains', n.search_domains.join(', ')],
          ['Managed by', n.managers.join(', ')],
          [
            'Hosts file',
            n.hosts.length ? (
              <ul class="plain">
                {n.hosts.map((h) => (
                  <li key={h.address + h.names.join()}>
                    <code>{h.address}</code> {h.names.join(' ')}
                  </li>
                ))}
              </ul>
            ) : null,
          ],
        ]}
      />
    </Section>
  );
}

function Security({ os }: { os: OperatingSystem }) {
  const s = os.security;
  const ssh = Object.entries(s?.ssh ?? {});
  return (
    <Section id="security" title="Security settings">
      <Facts
        rows={[
          ['SELinux', s?.selinux ? `${s.selinux.mode}${s.selinux.type ? ` (${s.selinux.type})` : ''}` : null],
          ['AppArmor', s?.apparmor ? `${s.apparmor.enabled ? 'enabled' : 'disabled'}, ${plural(s.apparmor.profiles, 'profile')}` : null],
          ['sudo', os.sudoers?.length ? os.sudoers.join(', ') : null],
          ['Encrypted volumes', os.crypttab?.length ? os.crypttab.map((c) => `${c.name} (${c.device})`).join(', ') : null],
        ]}
      />
      {ssh.length > 0 ? (
        <>
          <h3>sshd</h3>
          <div class="table-wrap">
            <table class="narrow">
              <thead>
                <tr>
                  <th scope="col">Setting</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                {ssh.map(([k, v]) => (
                  <tr key={k}>
                    <td class="mono">{k}</td>
                    <td class={`mono ${(k === 'permitrootlogin' && v === 'yes') || (k === 'permitemptypasswords' && v === 'yes') || (k === 'passwordauthentication' && v === 'yes') ? 'bad' : ''}`}>{v}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : (
        !s && <p class="muted">No security settings were read{os.type === 'windows' ? ' (not read from Windows guests yet)' : ''}.</p>
      )}
    </Section>
  );
}

function Warnings({ data, os }: { data: Inspection; os: OperatingSystem | undefined }) {
  const all = [...data.warnings, ...(os?.warnings ?? [])];
  return (
    <Section id="warnings" title={`Warnings (${all.length})`}>
      {all.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul>
          {all.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      )}
      <p class="muted small">
        Read {bytes(data.stats.bytes_read)} in {data.stats.reads} reads, {Math.round(data.stats.total_ms)} ms.
      </p>
    </Section>
  );
}
