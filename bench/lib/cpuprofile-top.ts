// Summarises a V8 .cpuprofile (node --cpu-prof): the top functions by self time, self time
// by package / source area, and the inclusive (self + synchronous callees) time of named
// functions, so a profile of a server under load reads as "where the time goes per request".
// Not a benchmark itself (it lives under bench/lib/, which bench/run.sh does not run).
// Usage: node --import tsx bench/lib/cpuprofile-top.ts FILE.cpuprofile [requests] [top=25] [cpu-µs-per-request]
//   requests: how many requests the profile covers; adds a µs/request column (or, given the
//   process's measured CPU µs per request, each row's share of it).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface Row {
  name: string;
  ms: number;
  share: number;
}

export interface Summary {
  /** Wall time the profile covers, and the part of it that was not idle. */
  wallMs: number;
  busyMs: number;
  top: Row[];
  areas: Row[];
  /** Inclusive time of the functions asked for (their synchronous callees included). */
  inclusive: Row[];
  /** Every busy sample in the first category whose test matches its stack. */
  categories: Row[];
}

/** A stack, root first, as `functionName@file:line` frames. */
export type Stack = readonly string[];
export interface Category {
  name: string;
  test: (stack: Stack) => boolean;
}

const has = (re: RegExp) => (st: Stack) => st.some((f) => re.test(f));
const leaf = (re: RegExp) => (st: Stack) => re.test(st[st.length - 1] ?? '');

/**
 * Where the time of POST /jobs goes, in the order the categories are tried (the first that
 * matches a sample's stack takes it). Async continuations lose their callers, so e.g. the
 * route after its first await is found by its own frames.
 */
export const SUBMIT_CATEGORIES: Category[] = [
  { name: 'GC', test: leaf(/^\(garbage collector\)/) },
  { name: 'job id (newJobId / ulid)', test: has(/^(newJobId|fastJobId|encodeRandom|randomChar|ulid)@/) },
  { name: 'request id (genReqId, randomBytes)', test: has(/^genReqId@/) },
  { name: 'JSON body parse (parseJsonBody)', test: has(/^parseJsonBody@/) },
  { name: 'auth (token verify: sha256, cache, touch)', test: has(/^(authenticate|verify)@.*(auth|token-store)/) },
  { name: 'validation (validateJob: zod + shape)', test: has(/^validateJob@/) },
  { name: 'admission other (fill, handler.prepare, path policy)', test: has(/^(admitJobs|fill)@/) },
  { name: 'quota gate', test: has(/@.*quotas\.js/) },
  { name: 'audit append (chain hash + INSERT)', test: has(/@.*(sqlite-audit-log|audit-log)\.js/) },
  { name: 'store.submit SQL (submitTx)', test: has(/^submitTx@/) },
  { name: 'group commit BEGIN/COMMIT', test: (st) => has(/^flush@.*group-commit/)(st) && !has(/sqlite-job-store|sqlite-token-store/)(st) },
  { name: 'worker: job SQL (claim/start/events/finish)', test: has(/@.*sqlite-job-store\.js/) },
  { name: 'logging (pino, sonic-boom)', test: has(/@.*(pino|sonic-boom)/) },
  { name: 'metrics (prom-client)', test: has(/@.*prom-client/) },
  { name: 'worker: run, queue, intake, events, results', test: has(/@.*\/src\/(worker|queue|intake|events|jobs|observability)\//) },
  { name: 'route handler, views, errors (src/api)', test: has(/@.*\/src\/api\//) },
  { name: 'fastify + node http/net (incl. socket writes)', test: has(/@.*(fastify|find-my-way|avvio|_http_|node:net|node:internal\/streams|node:internal\/stream_base|node:events)/) },
  { name: 'other', test: () => true },
];

const sources = new Map<string, string[]>();
/** An anonymous function's name from its source line (`submitTx = this.tx((…) => {`), else "(anonymous)". */
function anonName(cf: CallFrame): string {
  if (!cf.url.startsWith('file://')) return '(anonymous)';
  let lines = sources.get(cf.url);
  if (!lines) {
    try {
      lines = readFileSync(new URL(cf.url), 'utf8').split('\n');
    } catch {
      lines = [];
    }
    sources.set(cf.url, lines);
  }
  const m = /^\s*(?:(?:private|readonly|static|public)\s+)*([A-Za-z_$][\w$]*)\s*=/.exec(lines[cf.lineNumber] ?? '');
  return m ? m[1]! : '(anonymous)';
}

const short = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*?\/(dist\/)?(src|bench)\//, '$2/');

/** Which package or part of the code a frame belongs to. */
export function areaOf(cf: CallFrame): string {
  const u = cf.url;
  if (!u) {
    if (cf.functionName === '(garbage collector)') return 'GC';
    if (cf.functionName === '(idle)') return 'idle';
    if (cf.functionName === '(program)') return 'V8/native (program)';
    return `native: ${cf.functionName || '(anonymous)'}`;
  }
  if (u.startsWith('node:')) {
    const m = /^node:(internal\/)?([a-z_]+)/.exec(u);
    return `node:${m?.[2] ?? u}`;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return nm[1]!;
  const src = /\/(?:dist\/)?(src|bench)\/(.*)$/.exec(u);
  if (src) {
    const parts = src[2]!.split('/');
    return `${src[1]}/${parts.length > 1 ? parts.slice(0, Math.min(2, parts.length - 1)).join('/') : parts[0]}`;
  }
  return short(u);
}

/**
 * `window`: only samples taken between these two CLOCK_MONOTONIC times in µs (V8's profile
 * clock; `process.hrtime.bigint() / 1000n` in another process on the same machine).
 */
export function summarise(p: CpuProfile, opts: { top?: number; inclusive?: string[]; window?: { fromUs: number; toUs: number }; categories?: Category[] } = {}): Summary {
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>(); // node id -> µs
  let t = p.startTime;
  let first = Infinity;
  let last = -Infinity;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (opts.window && (t < opts.window.fromUs || t > opts.window.toUs)) continue;
    first = Math.min(first, t);
    last = Math.max(last, t);
    const id = p.samples[i]!;
    // timeDeltas[i] is the time before sample i; the gap after it is this sample's
    const dt = p.timeDeltas[i + 1] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  let total = 0;
  let idle = 0;
  const fnSelf = new Map<string, number>();
  const areaSelf = new Map<string, number>();
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    total += us;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const key = `${cf.functionName || '(anonymous)'} ${cf.url ? `${short(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim();
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
    const a = areaOf(cf);
    areaSelf.set(a, (areaSelf.get(a) ?? 0) + us);
  }
  const busy = total - idle;
  const cats = new Map<string, number>();
  if (opts.categories) {
    const frameName = (n: ProfileNode) => `${n.callFrame.functionName || anonName(n.callFrame)}@${n.callFrame.url}:${n.callFrame.lineNumber + 1}`;
    for (const [id, us] of self) {
      if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
      const stack: string[] = [];
      for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) stack.push(frameName(byId.get(x)!));
      stack.reverse();
      const cat = opts.categories.find((c) => c.test(stack))?.name ?? 'other';
      cats.set(cat, (cats.get(cat) ?? 0) + us);
    }
  }
  const rows = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));

  // inclusive time: a node's subtree, counted once per outermost occurrence of the name
  const inclusive = new Map<string, number>();
  const wanted = new Set(opts.inclusive ?? []);
  if (wanted.size > 0) {
    const subtree = new Map<number, number>();
    const sub = (id: number): number => {
      const known = subtree.get(id);
      if (known !== undefined) return known;
      const n = byId.get(id)!;
      let s = self.get(id) ?? 0;
      for (const c of n.children ?? []) s += sub(c);
      subtree.set(id, s);
      return s;
    };
    const root = p.nodes[0]!;
    // iterative walk with the set of wanted names already on the stack
    const stack: { id: number; open: Set<string> }[] = [{ id: root.id, open: new Set() }];
    while (stack.length) {
      const { id, open } = stack.pop()!;
      const n = byId.get(id)!;
      const name = n.callFrame.functionName;
      let next = open;
      if (wanted.has(name) && !open.has(name)) {
        inclusive.set(name, (inclusive.get(name) ?? 0) + sub(id));
        next = new Set(open).add(name);
      }
      for (const c of n.children ?? []) stack.push({ id: c, open: next });
    }
  }
  return {
    wallMs: opts.window ? (Number.isFinite(first) ? (last - first) / 1000 : 0) : (p.endTime - p.startTime) / 1000,
    busyMs: busy / 1000,
    top: rows(fnSelf, opts.top ?? 25),
    areas: rows(areaSelf, 40),
    categories: opts.categories ? opts.categories.map((c) => ({ name: c.name, ms: (cats.get(c.name) ?? 0) / 1000, share: busy > 0 ? (cats.get(c.name) ?? 0) / busy : 0 })) : [],
    inclusive: [...wanted].map((name) => {
      const us = inclusive.get(name) ?? 0;
      return { name, ms: us / 1000, share: busy > 0 ? us / busy : 0 };
    }),
  };
}

/**
 * `requests`: how many requests the window covers (adds a per-request column). `cpuUsPerReq`:
 * the process's measured CPU time per request (/proc); the per-request column is then each
 * row's share of the busy samples times it. Use that on a loaded machine: V8 samples by wall
 * clock, so a thread that waits for a core has its samples stretched, shares stay right.
 */
export function formatSummary(s: Summary, requests?: number, cpuUsPerReq?: number): string {
  const per = (r: Row) =>
    cpuUsPerReq !== undefined ? `${(r.share * cpuUsPerReq).toFixed(1).padStart(8)} µs CPU/req` : requests ? `${((r.ms * 1000) / requests).toFixed(1).padStart(8)} µs/req` : '';
  const line = (r: Row) => `${r.ms.toFixed(0).padStart(8)} ms ${(r.share * 100).toFixed(1).padStart(5)} % ${per(r)}  ${r.name}`;
  const out = [
    `profile: ${(s.wallMs / 1000).toFixed(1)} s wall, ${(s.busyMs / 1000).toFixed(1)} s of main-thread samples not idle${requests ? `, ${requests} requests` : ''}${cpuUsPerReq !== undefined ? `; per-request column = share × ${cpuUsPerReq.toFixed(0)} µs measured process CPU per request` : ''}`,
    ...(s.categories.length ? ["where the main thread's time goes (each sample in the first matching category):", ...s.categories.map(line)] : []),
    'self time by area:',
    ...s.areas.filter((r) => r.share >= 0.005).map(line),
    'top functions by self time:',
    ...s.top.map(line),
  ];
  if (s.inclusive.length) out.push('inclusive (self + synchronous callees):', ...s.inclusive.map(line));
  return out.join('\n');
}

/** Functions whose inclusive time tells the per-request story of POST /jobs. */
export const SUBMIT_PATH_FUNCTIONS = [
  'parseJsonBody',
  'admitJobs',
  'fill',
  'validateJob',
  'shapeProblem',
  'check',
  'submitOne',
  'submit',
  'acceptedView',
  'record',
  'append',
  'chainEntry',
  'flush',
  'authenticate',
  'serialize',
  'onSendEnd',
  'runPreParsing',
];

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, reqs, top, cpu] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node --import tsx bench/lib/cpuprofile-top.ts FILE.cpuprofile [requests] [top=25]');
    process.exit(2);
  }
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  console.log(formatSummary(summarise(p, { top: Number(top ?? 25), inclusive: SUBMIT_PATH_FUNCTIONS, categories: SUBMIT_CATEGORIES }), reqs ? Number(reqs) : undefined, cpu ? Number(cpu) : undefined));
}
