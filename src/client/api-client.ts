import { ERROR_CODES, GuestkitError, type ErrorCode, type ProtocolError } from '../protocol/errors.js';
import { followEvents, type FollowOptions } from './sse.js';
import type {
  AuditEntry,
  AuditQuery,
  CancelAnswer,
  Capabilities,
  JobDetail,
  JobTree,
  JobFilter,
  JobResult,
  JobView,
  Page,
  ProgressEvent,
  SseMessage,
  StatusEventData,
  SubmitOptions,
  UsageQuery,
  UsageReport,
  WorkerView,
} from './types.js';
import type { InventoryAnswer, InventoryImageView, InventoryPackageView } from '../api/inventory-views.js';

export type { InventoryAnswer, InventoryImageView, InventoryPackageView };

/** Version bounds of inventory queries, each compared in the image's own ecosystem. */
export interface VersionBoundsQuery {
  lt?: string;
  le?: string;
  gt?: string;
  ge?: string;
  eq?: string;
}

/** Where inventory queries look: distro packages (the default), snaps, flatpaks, container images, or any. */
export type InventorySource = 'package' | 'snap' | 'flatpak' | 'container' | 'any';

export interface InventoryPackagesQuery extends VersionBoundsQuery {
  /** Package name (binary or source), snap/flatpak name, container repository or digest; several comma-separated. Required unless `digest`. */
  name?: string;
  source?: InventorySource;
  /** Container images by manifest digest or image id (sha256:…). */
  digest?: string;
  os?: string;
  namespace?: string;
  limit?: number;
}

export interface InventoryImagesQuery extends VersionBoundsQuery {
  os?: string;
  package?: string;
  /** Where `package` is looked for. */
  source?: InventorySource;
  namespace?: string;
  limit?: number;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
const FINAL = new Set(['completed', 'failed', 'cancelled', 'timeout']);
const WHERE = 'is `guestkit serve` running? set --server or GUESTKIT_SERVER';

export interface ApiClientOptions {
  /** The server's address, with or without `/api/v1` (default http://127.0.0.1:8080). */
  server?: string;
  token?: string;
  /** Where the token came from (`--token`, a file …), named when the server refuses it. */
  tokenSource?: string;
  /** How long a request may wait for its answer (default 30 s). */
  timeoutMs?: number;
}

export type FollowJobOptions = Pick<FollowOptions, 'maxRetries' | 'retryDelayMs' | 'maxRetryDelayMs' | 'idleTimeoutMs' | 'signal' | 'onReconnect'> & {
  /** Resume after this event sequence. */
  after?: number;
};

interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The guestkit HTTP API (docs/api.md) over the global fetch; every failure is a GuestkitError. */
export class ApiClient {
  /** The server as given, without a trailing slash or `/api/v1`. */
  readonly server: string;
  private readonly base: string;
  private readonly token: string | undefined;
  private readonly tokenSource: string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: ApiClientOptions = {}) {
    this.server = normaliseServer(opts.server ?? DEFAULT_SERVER);
    this.base = `${this.server}/api/v1`;
    this.token = opts.token || undefined;
    this.tokenSource = opts.tokenSource;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  async submit(doc: unknown, opts: SubmitOptions = {}): Promise<JobView> {
    return (await this.request<{ job: JobView }>('POST', '/jobs', { body: doc, headers: idempotency(opts) })).job;
  }

  /** All or none: one invalid document refuses the batch (issues at `$.jobs[i]…`). */
  async submitBatch(docs: unknown[], opts: SubmitOptions = {}): Promise<JobView[]> {
    return (await this.request<{ jobs: JobView[] }>('POST', '/jobs', { body: { jobs: docs }, headers: idempotency(opts) })).jobs;
  }

  get(id: string): Promise<JobDetail> {
    return this.request('GET', `/jobs/${enc(id)}`);
  }

  /** Its dependency tree: parents up, dependants down. */
  tree(id: string): Promise<JobTree> {
    return this.request('GET', `/jobs/${enc(id)}/tree`);
  }

  list(f: JobFilter = {}): Promise<Page<JobView>> {
    return this.request('GET', '/jobs', {
      query: {
        status: f.status?.length ? f.status.join(',') : undefined,
        operation: f.operation,
        namespace: f.namespace,
        labels: f.labels,
        image_prefix: f.imagePrefix,
        from: f.from,
        to: f.to,
        limit: f.limit,
        cursor: f.cursor,
        include: f.includeJob ? 'job' : undefined,
      },
    });
  }

  /** Every page from `f.cursor` on. */
  async *listAll(f: JobFilter = {}): AsyncGenerator<JobView, void, undefined> {
    let cursor = f.cursor;
    do {
      const page = await this.list({ ...f, cursor });
      yield* page.items;
      cursor = page.next;
    } while (cursor);
  }

  /** NOT_FOUND while the job has no result yet. */
  result(id: string): Promise<JobResult> {
    return this.request('GET', `/jobs/${enc(id)}/result`);
  }

  cancel(id: string): Promise<CancelAnswer> {
    return this.request('POST', `/jobs/${enc(id)}/cancel`);
  }

  /** A finished failed/timed-out/cancelled job again, as a new job. */
  async retry(id: string): Promise<JobView> {
    return (await this.request<{ job: JobView }>('POST', `/jobs/${enc(id)}/retry`)).job;
  }

  async delete(id: string): Promise<void> {
    await this.request('DELETE', `/jobs/${enc(id)}`);
  }

  /** The stored progress events (after sequence `after`). */
  async events(id: string, after?: number): Promise<ProgressEvent[]> {
    return (await this.request<{ items: ProgressEvent[] }>('GET', `/jobs/${enc(id)}/events`, { query: { after } })).items;
  }

  /** The job's events live, until its final status (reconnecting after drops). */
  follow(id: string, opts: FollowJobOptions = {}): AsyncGenerator<SseMessage, void, undefined> {
    const path = `/jobs/${enc(id)}/events`;
    return followEvents({
      ...opts,
      lastEventId: opts.after === undefined ? undefined : String(opts.after),
      isFinal: isFinalStatus,
      // a refusal (404 after a delete, 401) will not change by asking again
      retryable: (err) => err instanceof GuestkitError && err.code === 'UNAVAILABLE',
      connect: async (lastEventId, signal) => {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (lastEventId) headers['last-event-id'] = lastEventId;
        const res = await this.fetch('GET', path, { headers }, signal);
        if (!res.ok) throw await this.httpError('GET', path, res);
        if (!res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
          throw new GuestkitError('UNAVAILABLE', `${this.server} did not answer GET ${path} with an event stream; ${WHERE}`);
        }
        return res.body as ReadableStream<Uint8Array>;
      },
    });
  }

  async workers(): Promise<WorkerView[]> {
    return (await this.request<{ items: WorkerView[] }>('GET', '/workers')).items;
  }

  capabilities(): Promise<Capabilities> {
    return this.request('GET', '/capabilities');
  }

  usage(q: UsageQuery = {}): Promise<UsageReport> {
    return this.request('GET', '/usage', { query: { namespace: q.namespace, from: q.from, to: q.to, group_by: q.groupBy } });
  }

  /** Packages of the images' latest inspections (GET /inventory/packages); bounds in each image's ecosystem order. */
  inventoryPackages(q: InventoryPackagesQuery): Promise<InventoryAnswer<InventoryPackageView>> {
    return this.request('GET', '/inventory/packages', {
      query: { name: q.name, source: q.source, digest: q.digest, os: q.os, namespace: q.namespace, limit: q.limit, ...versionQuery(q) },
    });
  }

  /** Images by their latest inspection (GET /inventory/images), optionally those with a package. */
  inventoryImages(q: InventoryImagesQuery = {}): Promise<InventoryAnswer<InventoryImageView>> {
    return this.request('GET', '/inventory/images', { query: { os: q.os, package: q.package, source: q.source, namespace: q.namespace, limit: q.limit, ...versionQuery(q) } });
  }

  /** Admins only. */
  audit(q: AuditQuery = {}): Promise<Page<AuditEntry>> {
    return this.request('GET', '/audit', { query: { limit: q.limit, cursor: q.cursor, from: q.from, to: q.to } });
  }

  private async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.fetch(method, path + queryString(opts.query), opts, AbortSignal.timeout(this.timeoutMs));
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.unreachable(err);
    }
    if (!res.ok) throw await this.httpError(method, path, res, text);
    if (res.status === 204 || text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new GuestkitError('UNAVAILABLE', `${this.server} answered ${method} ${path} with something that is not JSON; ${WHERE}`, {
        details: { http_status: res.status },
      });
    }
  }

  private async fetch(method: string, pathAndQuery: string, opts: RequestOptions, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    try {
      return await fetch(this.base + pathAndQuery, { method, headers, body, signal });
    } catch (err) {
      throw this.unreachable(err);
    }
  }

  /** No answer at all: the server is down, misnamed or too slow. */
  private unreachable(err: unknown): GuestkitError {
    const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string; errors?: { code?: string }[] } };
    const code = e?.cause?.code ?? e?.cause?.errors?.[0]?.code ?? (e?.name === 'TimeoutError' ? 'TIMEOUT' : undefined);
    const why =
      code === 'ECONNREFUSED' ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `host ${new URL(this.server).hostname} not found`
      : code === 'TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' ? `no answer within ${Math.round(this.timeoutMs / 1000)} s`
      : code ?? e?.cause?.message ?? e?.message ?? String(err);
    return new GuestkitError('UNAVAILABLE', `cannot reach the guestkit server at ${this.server} (${why}): ${WHERE}`, {
      details: { server: this.server, cause: code ?? null },
      cause: err,
    });
  }

  /** The server's `{error, request_id}` as a GuestkitError (with hints for a refused token). */
  private async httpError(method: string, path: string, res: Response, text?: string): Promise<GuestkitError> {
    if (text === undefined) text = await res.text().catch(() => '');
    let body: { error?: Partial<ProtocolError>; request_id?: string } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    const perr = body?.error;
    if (!perr || typeof perr.code !== 'string' || typeof perr.message !== 'string') {
      return new GuestkitError('UNAVAILABLE', `${this.server} answered ${method} ${path} with HTTP ${res.status} ${res.statusText} but no guestkit error; ${WHERE}`, {
        details: { http_status: res.status },
      });
    }
    const known = (ERROR_CODES as readonly string[]).includes(perr.code);
    const details: Record<string, unknown> = { ...(perr.details ?? {}), request_id: body?.request_id ?? res.headers.get('x-request-id'), http_status: res.status };
    if (!known) details.server_code = perr.code;
    const retryAfter = Number(res.headers.get('retry-after'));
    if (res.status === 429 && retryAfter > 0 && details.retry_after_seconds === undefined) details.retry_after_seconds = retryAfter;
    let message = perr.message;
    if (perr.code === 'UNAUTHENTICATED') message = this.authHint(message, String(perr.details?.reason ?? ''));
    return new GuestkitError((known ? perr.code : 'EXECUTION_ERROR') as ErrorCode, message, {
      phase: perr.phase,
      details,
      recoverable: perr.recoverable,
      retryRecommended: perr.retry_recommended,
    });
  }

  private authHint(message: string, reason: string): string {
    const from = this.tokenSource ? ` (token from ${this.tokenSource})` : '';
    switch (reason) {
      case 'expired':
        return `${message}${from}: the token has expired; ask an admin for a new one (guestkit token create --namespace N --role R --expires 30d) and pass it with --token or GUESTKIT_TOKEN`;
      case 'missing':
        return `${message}: no token given; pass --token or set GUESTKIT_TOKEN (guestkit serve saves its first admin token in <data-dir>/admin-token)`;
      case 'revoked':
        return `${message}${from}: ask an admin for a new token (guestkit token create)`;
      default:
        return `${message}${from}: check --token or GUESTKIT_TOKEN`;
    }
  }
}

/** Whether an event is the job's final status (the stream ends after it). */
export function isFinalStatus(m: SseMessage): boolean {
  const s = statusOf(m);
  return s !== undefined && FINAL.has(s.status);
}

/** The data of a status event, or undefined for any other event. */
export function statusOf(m: SseMessage): StatusEventData | undefined {
  if (m.event !== 'status') return undefined;
  try {
    const d = JSON.parse(m.data) as StatusEventData;
    return typeof d?.status === 'string' ? d : undefined;
  } catch {
    return undefined;
  }
}

export function isFinalJobStatus(status: string): boolean {
  return FINAL.has(status);
}

function normaliseServer(server: string): string {
  const u = URL.canParse(server) ? new URL(server) : undefined;
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    throw new GuestkitError('USAGE_ERROR', `the server must be an http(s) URL such as ${DEFAULT_SERVER}, got ${JSON.stringify(server)} (--server or GUESTKIT_SERVER)`);
  }
  return (u.origin + u.pathname).replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}

function idempotency(opts: SubmitOptions): Record<string, string> | undefined {
  return opts.idempotencyKey === undefined ? undefined : { 'idempotency-key': opts.idempotencyKey };
}

const enc = encodeURIComponent;

const versionQuery = (q: VersionBoundsQuery) => ({ version_lt: q.lt, version_le: q.le, version_gt: q.gt, version_ge: q.ge, version_eq: q.eq });

function queryString(q: Record<string, string | number | undefined> | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}
