// Categories for a profile of `guestkit worker` draining echo jobs from its spool (bench/spool-throughput.ts):
// node --import tsx bench/lib/spool-categories.ts FILE.cpuprofile [jobs]
import { readFileSync } from 'node:fs';
import { formatSummary, summarise, type Category, type CpuProfile, type Stack } from './cpuprofile-top.js';

const has = (re: RegExp) => (st: Stack) => st.some((f) => re.test(f));
const leaf = (re: RegExp) => (st: Stack) => re.test(st[st.length - 1] ?? '');

export const SPOOL_CATEGORIES: Category[] = [
  { name: 'GC', test: leaf(/^\(garbage collector\)/) },
  { name: 'module loading (start-up)', test: has(/@node:internal\/modules/) },
  { name: 'validation (validateJob: zod + shape)', test: has(/^validateJob@/) },
  { name: 'group commit BEGIN/COMMIT', test: (st) => has(/^flush@.*group-commit/)(st) && !has(/sqlite-job-store/)(st) },
  { name: 'store SQL (submit/begin/events/finish)', test: has(/@.*(sqlite-job-store|better-sqlite3)/) },
  { name: 'spool: scan, claim, read', test: has(/^(scanOnce|listSlice|consider|claim)@.*spool/) },
  { name: 'spool: result + archive', test: has(/^(publish|writeResult|archive|writeFileAtomic)@/) },
  { name: 'spool: events file', test: has(/^flush@.*claim\.js/) },
  { name: 'result JSON (compact + pretty)', test: has(/^(resultJson|resultJsonPretty)@/) },
  { name: 'logging (pino)', test: has(/@.*(pino|sonic-boom)/) },
  { name: 'metrics (prom-client)', test: has(/@.*prom-client/) },
  { name: 'tracing (opentelemetry)', test: has(/@.*opentelemetry/) },
  { name: 'runner (attempt, usage)', test: has(/@.*src\/worker\/(runner|usage)\.js/) },
  { name: 'job worker', test: has(/@.*src\/worker\/job-worker\.js/) },
  { name: 'queue', test: has(/@.*src\/queue\//) },
  { name: 'job events', test: has(/@.*src\/events\//) },
  { name: 'spool other', test: has(/@.*src\/intake\//) },
  { name: 'timers, promises, other node', test: has(/@node:/) },
  { name: 'other', test: () => true },
];

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const p = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as CpuProfile;
  const jobs = Number(process.argv[3] ?? 4000);
  process.stdout.write(formatSummary(summarise(p, { top: 30, categories: SPOOL_CATEGORIES }), jobs));
}
