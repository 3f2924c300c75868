/**
 * Charts (a lazily loaded page, with uPlot): jobs finished per minute by status, queue wait and
 * run time percentiles, and usage by namespace over 24 h / 7 d / 30 d, from GET /stats/*.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';
import { get } from '../api';
import { bytes, plural, seconds } from '../format';
import { ErrorBox, PageTitle, Section, usePoll } from '../ui';

type Pct = { n: number; p50: number | null; p90: number | null; p99: number | null };
interface Throughput {
  bucket_seconds: number;
  points: { at: string; completed: number; failed: number; cancelled: number; timeout: number }[];
}
interface Latency {
  bucket_seconds: number;
  wait: Pct;
  run: Pct;
  points: { at: string; wait: Pct; run: Pct }[];
}
interface Usage {
  window: string;
  groups: { namespace: string; jobs: number; cpu_seconds: number; wall_seconds: number; bytes_read: number; cost: number }[];
  totals: { jobs: number; cpu_seconds: number; wall_seconds: number; bytes_read: number; cost: number };
  prices: { currency: string };
}

const RANGES = [
  ['1h', 'last hour'],
  ['6h', 'last 6 hours'],
  ['24h', 'last 24 hours'],
  ['7d', 'last 7 days'],
  ['30d', 'last 30 days'],
] as const;
const WINDOWS = [
  ['24h', '24 h'],
  ['7d', '7 d'],
  ['30d', '30 d'],
] as const;
const REFRESH_MS = 30_000;
const HEIGHT = 220;

const color = (name: string, fallback: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

export function ChartsPage() {
  const [range, setRange] = useState<string>('1h');
  const [win, setWin] = useState<string>('24h');
  const [tp, setTp] = useState<Throughput | null>(null);
  const [lat, setLat] = useState<Latency | null>(null);
  const [usage, setUsage] = useState<Usage | null>(null);
  const [error, setError] = useState<unknown>(null);

  usePoll(
    async () => {
      try {
        const [a, b] = await Promise.all([get<Throughput>(`/stats/throughput?range=${range}`), get<Latency>(`/stats/latency?range=${range}`)]);
        setTp(a);
        setLat(b);
        setError(null);
      } catch (err) {
        setError(err);
      }
    },
    REFRESH_MS,
    [range],
  );
  usePoll(
    async () => {
      try {
        setUsage(await get<Usage>(`/stats/usage?window=${win}`));
      } catch (err) {
        setError(err);
      }
    },
    REFRESH_MS,
    [win],
  );

  const rangeLabel = RANGES.find(([v]) => v === range)![1];
  const per = tp ? (tp.bucket_seconds === 60 ? 'minute' : tp.bucket_seconds === 3600 ? 'hour' : 'day') : 'minute';
  return (
    <div>
      <PageTitle sub={<span class="muted">From the store’s history; refreshed every {REFRESH_MS / 1000} s.</span>}>Charts</PageTitle>
      <ErrorBox error={error} title="The figures could not be loaded" />
      <div class="card filters">
        <div class="row">
          <div class="field">
            <label for="c-range">Time range</label>
            <select id="c-range" value={range} onChange={(e) => setRange((e.target as HTMLSelectElement).value)}>
              {RANGES.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          </div>
        </div>
      </div>
      <Section id="throughput" title={`Jobs finished per ${per}`}>
        {tp ? <ThroughputChart tp={tp} label={`Jobs finished per ${per} by status, ${rangeLabel}`} /> : <p class="muted">Loading…</p>}
      </Section>
      <Section id="latency" title="Queue wait and run time">
        {lat ? <LatencyCharts lat={lat} rangeLabel={rangeLabel} /> : <p class="muted">Loading…</p>}
      </Section>
      <Section
        id="usage"
        title="Usage by namespace"
        actions={
          <div role="group" aria-label="Usage window" class="segmented">
            {WINDOWS.map(([v, l]) => (
              <button key={v} type="button" aria-pressed={win === v} onClick={() => setWin(v)}>
                {l}
              </button>
            ))}
          </div>
        }
      >
        {usage ? <UsageChart usage={usage} /> : <p class="muted">Loading…</p>}
      </Section>
    </div>
  );
}

/** One uPlot chart, sized to its container and resized with it. */
function Plot({ opts, data, label, testid }: { opts: Omit<Options, 'width' | 'height'>; data: AlignedData; label: string; testid: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current!;
    const size = () => ({ width: Math.max(240, el.clientWidth), height: HEIGHT });
    const u = new uPlot({ ...opts, ...size() } as Options, data, el);
    const ro = new ResizeObserver(() => u.setSize(size()));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, [opts, data]);
  return <div ref={ref} class="plot" role="img" aria-label={label} data-testid={testid} />;
}

const axis = () => ({ stroke: color('--muted', '#55616e'), grid: { stroke: color('--line', '#d5dbe2'), width: 1 }, ticks: { stroke: color('--line', '#d5dbe2'), width: 1 } });

function ThroughputChart({ tp, label }: { tp: Throughput; label: string }) {
  const [state] = useState(() => ({ key: null as Throughput | null, opts: null as Options | null, data: null as AlignedData | null }));
  if (state.key !== tp) {
    const xs = tp.points.map((p) => Date.parse(p.at) / 1000);
    const series: [keyof Throughput['points'][number], string, string][] = [
      ['completed', '--ok', '#166534'],
      ['failed', '--bad', '#991b1b'],
      ['timeout', '--wait', '#854d0e'],
      ['cancelled', '--grey', '#374151'],
    ];
    state.key = tp;
    state.data = [xs, ...series.map(([k]) => tp.points.map((p) => p[k] as number))];
    state.opts = {
      series: [{}, ...series.map(([k, v, f]) => ({ label: k, stroke: color(v, f), width: 2, fill: undefined, points: { show: false } }))],
      axes: [axis(), { ...axis(), label: 'jobs' }],
      scales: { y: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(1, max)] } },
      legend: { live: true },
    } as unknown as Options;
  }
  const total = tp.points.reduce((a, p) => a + p.completed + p.failed + p.timeout + p.cancelled, 0);
  return (
    <figure>
      <Plot opts={state.opts!} data={state.data!} label={label} testid="chart-throughput" />
      <figcaption class="muted small">
        {label}: {plural(total, 'job')} in all.
      </figcaption>
    </figure>
  );
}

function LatencyCharts({ lat, rangeLabel }: { lat: Latency; rangeLabel: string }) {
  const [state] = useState(() => ({ key: null as Latency | null, wait: null as AlignedData | null, run: null as AlignedData | null, opts: null as Options | null }));
  if (state.key !== lat) {
    const xs = lat.points.map((p) => Date.parse(p.at) / 1000);
    const of = (k: 'wait' | 'run') => [xs, ...(['p50', 'p90', 'p99'] as const).map((q) => lat.points.map((p) => p[k][q]))] as AlignedData;
    state.key = lat;
    state.wait = of('wait');
    state.run = of('run');
    state.opts = {
      series: [
        {},
        { label: 'p50', stroke: color('--ok', '#166534'), width: 2, spanGaps: false, points: { show: true, size: 5 } },
        { label: 'p90', stroke: color('--wait', '#854d0e'), width: 2, spanGaps: false, points: { show: true, size: 5 } },
        { label: 'p99', stroke: color('--bad', '#991b1b'), width: 2, spanGaps: false, points: { show: true, size: 5 } },
      ],
      axes: [axis(), { ...axis(), label: 'seconds', values: (_u: uPlot, splits: number[]) => splits.map((v) => seconds(v)) , size: 70 }],
      scales: { y: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(1, max ?? 1)] } },
    } as unknown as Options;
  }
  const row = (name: string, p: Pct) => (
    <tr>
      <th scope="row">{name}</th>
      <td>{p.n.toLocaleString()}</td>
      <td>{seconds(p.p50)}</td>
      <td>{seconds(p.p90)}</td>
      <td>{seconds(p.p99)}</td>
    </tr>
  );
  return (
    <>
      <div class="table-wrap">
        <table data-testid="latency-table">
          <caption class="sr-only">Percentiles over the {rangeLabel}</caption>
          <thead>
            <tr>
              <th scope="col">Over the {rangeLabel}</th>
              <th scope="col">Jobs</th>
              <th scope="col">p50</th>
              <th scope="col">p90</th>
              <th scope="col">p99</th>
            </tr>
          </thead>
          <tbody>
            {row('Queue wait', lat.wait)}
            {row('Run time', lat.run)}
          </tbody>
        </table>
      </div>
      <div class="charts-2">
        <figure>
          <Plot opts={state.opts!} data={state.wait!} label={`Queue wait percentiles (started − queued), ${rangeLabel}`} testid="chart-wait" />
          <figcaption class="muted small">Queue wait (started − queued), p50 / p90 / p99</figcaption>
        </figure>
        <figure>
          <Plot opts={state.opts!} data={state.run!} label={`Run time percentiles (finished − started), ${rangeLabel}`} testid="chart-run" />
          <figcaption class="muted small">Run time (finished − started), p50 / p90 / p99</figcaption>
        </figure>
      </div>
    </>
  );
}

function UsageChart({ usage }: { usage: Usage }) {
  const [state] = useState(() => ({ key: null as Usage | null, opts: null as Options | null, data: null as AlignedData | null }));
  if (state.key !== usage) {
    const names = usage.groups.map((g) => g.namespace);
    state.key = usage;
    state.data = [names.map((_, i) => i), usage.groups.map((g) => g.jobs), usage.groups.map((g) => g.cpu_seconds)];
    state.opts = {
      series: [
        { label: 'namespace', value: (_u: uPlot, i: number | null) => (i === null ? '—' : (names[i] ?? '')) },
        { label: 'jobs', stroke: color('--accent', '#1f5f8b'), fill: color('--accent', '#1f5f8b') + '99', paths: uPlot.paths.bars!({ size: [0.35, 80], align: -1 }), points: { show: false } },
        { label: 'CPU seconds', scale: 'cpu', stroke: color('--wait', '#854d0e'), fill: color('--wait', '#854d0e') + '99', paths: uPlot.paths.bars!({ size: [0.35, 80], align: 1 }), points: { show: false } },
      ],
      scales: { x: { time: false, range: () => [-0.5, Math.max(0.5, names.length - 0.5)] }, y: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(1, max)] }, cpu: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(1, max)] } },
      axes: [
        { ...axis(), splits: () => names.map((_, i) => i), values: (_u: uPlot, splits: number[]) => splits.map((i) => names[i] ?? ''), grid: { show: false } },
        { ...axis(), label: 'jobs' },
        { ...axis(), scale: 'cpu', side: 1, label: 'CPU seconds', grid: { show: false } },
      ],
    } as unknown as Options;
  }
  const cur = usage.prices.currency;
  return (
    <>
      {usage.groups.length === 0 ? (
        <p class="empty">No job finished in the last {usage.window}.</p>
      ) : (
        <figure>
          <Plot opts={state.opts!} data={state.data!} label={`Jobs and CPU seconds per namespace, last ${usage.window}`} testid="chart-usage" />
          <figcaption class="muted small">Jobs and CPU seconds per namespace, last {usage.window}</figcaption>
        </figure>
      )}
      <div class="table-wrap">
        <table data-testid="usage-table">
          <caption class="sr-only">Usage by namespace, last {usage.window}</caption>
          <thead>
            <tr>
              <th scope="col">Namespace</th>
              <th scope="col">Jobs</th>
              <th scope="col">CPU</th>
              <th scope="col" class="wide">
                Wall
              </th>
              <th scope="col" class="wide">
                Read
              </th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {usage.groups.map((g) => (
              <tr key={g.namespace}>
                <th scope="row">{g.namespace}</th>
                <td>{g.jobs.toLocaleString()}</td>
                <td>{seconds(g.cpu_seconds)}</td>
                <td class="wide">{seconds(g.wall_seconds)}</td>
                <td class="wide">{bytes(g.bytes_read)}</td>
                <td>
                  {g.cost.toLocaleString(undefined, { maximumFractionDigits: 4 })} {cur}
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">All</th>
              <td>{usage.totals.jobs.toLocaleString()}</td>
              <td>{seconds(usage.totals.cpu_seconds)}</td>
              <td class="wide">{seconds(usage.totals.wall_seconds)}</td>
              <td class="wide">{bytes(usage.totals.bytes_read)}</td>
              <td>
                {usage.totals.cost.toLocaleString(undefined, { maximumFractionDigits: 4 })} {cur}
              </td>
            </tr>
          </tfoot>
        </table>
      </div>
    </>
  );
}
