/**
 * Usage accounting: what finished jobs consumed, summed per operation or per UTC day,
 * and what it costs at configured prices. Stores answer UsageQuery; the API prices it.
 */
export interface UsageQuery {
  /** `default` also covers jobs that name no namespace; unset: every namespace. */
  namespace?: string;
  /** finished_at bounds, ms since epoch: inclusive from, exclusive to. */
  from?: number;
  to?: number;
  groupBy: 'operation' | 'day';
}

export interface UsageRow {
  /** The operation, or the UTC day `YYYY-MM-DD` the jobs finished on. */
  key: string;
  jobs: number;
  cpuSeconds: number;
  wallSeconds: number;
  /** Bytes read from images (metrics.disk_read_bytes). */
  bytesRead: number;
  /** Size of the images the jobs named (metrics.image_bytes). */
  imageBytes: number;
  /** The largest peak of any one job (a maximum, not a sum). */
  peakMemoryMb: number;
}

export interface Prices {
  cpuSecond: number;
  gibRead: number;
  currency: string;
}

export interface PricedRow extends UsageRow {
  cost: number;
}

export interface PricedUsage {
  groups: PricedRow[];
  /** Sums over the groups (peakMemoryMb: their maximum); key `total`. */
  totals: PricedRow;
  prices: Prices;
}

const GIB = 1024 ** 3;

/** What CPU seconds and bytes read cost at these prices (GET /usage and the Prometheus counter). */
export function costOf(cpuSeconds: number, bytesRead: number, prices: Prices): number {
  return cpuSeconds * prices.cpuSecond + (bytesRead / GIB) * prices.gibRead;
}

/** Cost of each group and of the whole: CPU seconds and GiB read at their prices. */
export function priced(rows: readonly UsageRow[], prices: Prices): PricedUsage {
  const cost = (r: UsageRow) => round(costOf(r.cpuSeconds, r.bytesRead, prices));
  const totals: UsageRow = { key: 'total', jobs: 0, cpuSeconds: 0, wallSeconds: 0, bytesRead: 0, imageBytes: 0, peakMemoryMb: 0 };
  for (const r of rows) {
    totals.jobs += r.jobs;
    totals.cpuSeconds += r.cpuSeconds;
    totals.wallSeconds += r.wallSeconds;
    totals.bytesRead += r.bytesRead;
    totals.imageBytes += r.imageBytes;
    totals.peakMemoryMb = Math.max(totals.peakMemoryMb, r.peakMemoryMb);
  }
  return { groups: rows.map((r) => ({ ...r, cost: cost(r) })), totals: { ...totals, cost: cost(totals) }, prices };
}

// money to a millionth: no binary-fraction noise (0.30000000000000004) in answers
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
