import { Option, type Command } from 'commander';
import type { UsageRow, WorkerView } from '../../client/types.js';
import { humanSize, table } from '../format.js';
import { action, EXIT_OK, writeJson } from '../output.js';
import { clientOf, remoteOptions, timeOption, when, type RemoteFlags } from './remote.js';

/* `guestkit workers` and `guestkit usage`: what the server's fleet is and what it used. */

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : when(iso);
}

function workersTable(items: WorkerView[], now: number): string {
  const rows = [['WORKER', 'STATE', 'LIVE', 'JOBS', 'POOL', 'VERSION', 'HOST', 'HEARTBEAT']];
  for (const w of items) {
    rows.push([w.worker_id, w.state, w.live ? 'yes' : 'no', `${w.current_jobs}/${w.max_concurrent ?? '-'}`, w.pool ?? '-', w.version, w.hostname, ago(w.last_heartbeat, now)]);
  }
  return table(rows);
}

async function workersCmd(flags: RemoteFlags): Promise<number> {
  const items = await clientOf(flags).workers();
  if (flags.json) writeJson({ items });
  else process.stdout.write(items.length ? `${workersTable(items, Date.now())}\n${items.filter((w) => w.live).length} of ${items.length} live\n` : 'no workers registered\n');
  return EXIT_OK;
}

interface UsageFlags extends RemoteFlags {
  namespace?: string;
  from?: string;
  to?: string;
  groupBy: 'operation' | 'day';
}

const num = (n: number, digits: number) => (Number.isInteger(n) ? String(n) : n.toFixed(digits));

async function usageCmd(flags: UsageFlags): Promise<number> {
  const u = await clientOf(flags).usage({ namespace: flags.namespace, from: timeOption('--from', flags.from), to: timeOption('--to', flags.to), groupBy: flags.groupBy });
  if (flags.json) {
    writeJson(u);
    return EXIT_OK;
  }
  const row = (r: UsageRow) => [r.key, String(r.jobs), num(r.cpu_seconds, 3), num(r.wall_seconds, 3), humanSize(r.bytes_read), humanSize(r.image_bytes), String(r.peak_memory_mb), num(r.cost, 6)];
  const rows = [[flags.groupBy === 'day' ? 'DAY' : 'OPERATION', 'JOBS', 'CPU S', 'WALL S', 'READ', 'IMAGES', 'PEAK MB', `COST ${u.prices.currency}`], ...u.groups.map(row), row(u.totals)];
  const p = u.prices;
  process.stdout.write(`${table(rows)}\nprices: ${p.cpu_second} ${p.currency} per CPU-second, ${p.gib_read} ${p.currency} per GiB read\n`);
  return EXIT_OK;
}

export function registerFleetCommands(program: Command): void {
  remoteOptions(program.command('workers').description("List the server's workers: state, load, heartbeat"))
    .addHelpText('after', `
A worker is live when it heartbeated within five of its intervals.

Examples:
  guestkit workers
  guestkit workers --server http://build-01:8080 --json`)
    .action(action(workersCmd));

  remoteOptions(
    program
      .command('usage')
      .description('Sum what finished jobs used (CPU, wall time, bytes read) and what it costs')
      .option('--namespace <ns>', 'only this namespace (admins; others see their own)')
      .option('--from <time>', 'finished at or after: RFC 3339, or a duration ago (24h, 7d)')
      .option('--to <time>', 'finished before: RFC 3339, or a duration ago')
      .addOption(new Option('--group-by <key>', 'one row per operation or per UTC day').choices(['operation', 'day']).default('operation')),
  )
    .addHelpText('after', `
Examples:
  guestkit usage --from 7d --group-by day
  guestkit usage --namespace team-a --json`)
    .action(action(usageCmd));
}
