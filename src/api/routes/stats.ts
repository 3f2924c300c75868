import type { FastifyInstance } from 'fastify';
import type { JobStats, Percentiles, RangeQuery } from '../../ports/job-stats.js';
import { priced, type PricedRow } from '../../ports/usage.js';
import { GuestkitError } from '../../protocol/errors.js';
import type { ApiContext } from '../context.js';
import { badRequest } from '../errors.js';
import type { StatusStream } from '../status-stream.js';
import { listQuery, scopedNamespace, time } from './jobs.js';

type Query = { Querystring: Record<string, string | undefined> };

/** Most points one chart answer holds. */
export const MAX_POINTS = 2000;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const BUCKETS: Record<string, number> = { minute: MINUTE, hour: HOUR, day: DAY };
const RANGES: Record<string, number> = { '1h': HOUR, '6h': 6 * HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY };

/**
 * The dashboard's counts and charts (GET /stats/*) from the JobStats port, and the global
 * status stream (GET /events). Each reads the caller's namespace (admins: all, or ?namespace=).
 */
export function registerStatsRoutes(app: FastifyInstance, api: ApiContext, stream: StatusStream): void {
  const stats = (): JobStats => {
    if (api.deps.stats) return api.deps.stats;
    throw new GuestkitError('UNAVAILABLE', 'this server’s job store answers no statistics', { phase: 'execution', recoverable: false });
  };

  app.get<Query>('/events', async (req, reply) => {
    const p = await api.caller(req, 'viewer', 'job.events');
    const namespace = scopedNamespace(p, req.query.namespace);
    reply.hijack();
    req.raw.socket.setNoDelay(true);
    stream.watch(reply.raw, namespace);
  });

  app.get<Query>('/stats/counts', async (req) => {
    const p = await api.caller(req, 'viewer', 'stats.get');
    const query = listQuery(req.query, p);
    const counts = await stats().counts(query);
    return { counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
  });

  app.get<Query>('/stats/throughput', async (req) => {
    const p = await api.caller(req, 'viewer', 'stats.get');
    const r = chartRange(req.query, scopedNamespace(p, req.query.namespace));
    const points = await stats().throughput(r);
    return { ...rangeView(r), points: points.map((x) => ({ ...x, at: iso(x.at) })) };
  });

  app.get<Query>('/stats/latency', async (req) => {
    const p = await api.caller(req, 'viewer', 'stats.get');
    const r = chartRange(req.query, scopedNamespace(p, req.query.namespace));
    const l = await stats().latency(r);
    return { ...rangeView(r), wait: pct(l.wait), run: pct(l.run), points: l.points.map((x) => ({ at: iso(x.at), wait: pct(x.wait), run: pct(x.run) })) };
  });

  app.get<Query>('/stats/usage', async (req) => {
    const p = await api.caller(req, 'viewer', 'stats.get');
    const q = req.query;
    const namespace = scopedNamespace(p, q.namespace);
    const window = q.window ?? (q.from ? undefined : '24h');
    if (window !== undefined && !['24h', '7d', '30d'].includes(window)) throw badRequest(`window must be 24h, 7d or 30d, got ${JSON.stringify(window)}`);
    const to = q.to ? time('to', q.to) : Date.now();
    const from = window ? to - RANGES[window]! : time('from', q.from!);
    if (from >= to) throw badRequest('from must be before to');
    const rows = await stats().usageByNamespace({ namespace, from, to, operation: q.operation || undefined });
    const out = priced(rows, api.deps.prices);
    return {
      namespace: namespace ?? null,
      window: window ?? null,
      from: iso(from),
      to: iso(to),
      groups: out.groups.map((g) => ({ namespace: g.key, ...figures(g) })),
      totals: figures(out.totals),
      prices: { cpu_second: out.prices.cpuSecond, gib_read: out.prices.gibRead, currency: out.prices.currency },
    };
  });
}

/** `range=1h|6h|24h|7d|30d` (default 1h) ending now, or `from`/`to`; `bucket=minute|hour|day` (default: by the minute up to a day, else by the hour). */
function chartRange(q: Record<string, string | undefined>, namespace: string | undefined): RangeQuery & { bucketMs: number } {
  if (q.range !== undefined && !(q.range in RANGES)) throw badRequest(`range must be one of ${Object.keys(RANGES).join(', ')}, got ${JSON.stringify(q.range)}`);
  const to = q.to ? time('to', q.to) : Date.now();
  const from = q.from && q.range === undefined ? time('from', q.from) : to - RANGES[q.range ?? '1h']!;
  if (from >= to) throw badRequest('from must be before to');
  if (q.bucket !== undefined && !(q.bucket in BUCKETS)) throw badRequest(`bucket must be minute, hour or day, got ${JSON.stringify(q.bucket)}`);
  const bucketMs = q.bucket ? BUCKETS[q.bucket]! : to - from <= DAY ? MINUTE : HOUR;
  const points = Math.ceil((to - Math.floor(from / bucketMs) * bucketMs) / bucketMs);
  if (points > MAX_POINTS) throw badRequest(`${points} buckets asked for; at most ${MAX_POINTS}: a larger bucket or a shorter range`, { limit: MAX_POINTS });
  return { namespace, from, to, bucketMs, operation: q.operation || undefined };
}

function rangeView(r: RangeQuery & { bucketMs: number }) {
  return { namespace: r.namespace ?? null, from: iso(r.from), to: iso(r.to), bucket_seconds: r.bucketMs / 1000 };
}

const iso = (ms: number) => new Date(ms).toISOString();
const pct = (p: Percentiles) => ({ n: p.n, p50: p.p50, p90: p.p90, p99: p.p99 });
const figures = (r: PricedRow) => ({
  jobs: r.jobs,
  cpu_seconds: r.cpuSeconds,
  wall_seconds: r.wallSeconds,
  bytes_read: r.bytesRead,
  image_bytes: r.imageBytes,
  peak_memory_mb: r.peakMemoryMb,
  cost: r.cost,
});
