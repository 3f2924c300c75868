/**
 * The dashboard's API client: every call carries the session's token in the Authorization
 * header (never in a URL); errors are the protocol's error object.
 */
import { session } from './session';

export const API = '/api/v1';

export interface Issue {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly requestId: string | null = null,
  ) {
    super(message);
  }
  /** `details.issues` of a VALIDATION_ERROR (paths like `$.payload.data.image.path`). */
  get issues(): Issue[] {
    const raw = this.details.issues;
    return Array.isArray(raw) ? (raw as Issue[]).filter((i) => i && typeof i.path === 'string') : [];
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json', ...extra };
  const t = session.token();
  if (t) h.authorization = `Bearer ${t}`;
  return h;
}

async function fail(res: Response): Promise<never> {
  let body: { error?: { code?: string; message?: string; details?: Record<string, unknown> }; request_id?: string } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    /* not JSON */
  }
  const e = body.error ?? {};
  const err = new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? res.statusText ?? `HTTP ${res.status}`, e.details ?? {}, body.request_id ?? res.headers.get('x-request-id'));
  if (res.status === 401) session.expired(err.message);
  throw err;
}

export async function request<T>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal; token?: string | null } = {}): Promise<T> {
  const h = headers(body === undefined ? {} : { 'content-type': 'application/json' });
  if (opts.token !== undefined) {
    if (opts.token) h.authorization = `Bearer ${opts.token}`;
    else delete h.authorization;
  }
  let res: Response;
  try {
    res = await fetch(API + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal: opts.signal, cache: 'no-store' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', `cannot reach the server: ${(err as Error).message}`);
  }
  if (!res.ok) return fail(res);
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

const prefetched = new Map<string, Promise<unknown>>();

/**
 * Starts the GETs a page is about to make while its code chunk still loads (a report opened by
 * its URL: the data and the chunk come in parallel, not one after the other). Each answer is
 * used once, by the first `get` of the same path, within 10 s.
 */
export function prefetch(paths: readonly string[]): void {
  for (const p of paths) {
    const pending = request<unknown>('GET', p);
    pending.catch(() => undefined);
    prefetched.set(p, pending);
    setTimeout(() => prefetched.get(p) === pending && prefetched.delete(p), 10_000);
  }
}

export const get = <T>(path: string, signal?: AbortSignal): Promise<T> => {
  const early = prefetched.get(path);
  if (early) {
    prefetched.delete(path);
    return early as Promise<T>;
  }
  return request<T>('GET', path, undefined, { signal });
};

/** A text body (JSON lines of events), for downloads. */
export async function getText(path: string): Promise<string> {
  const res = await fetch(API + path, { headers: headers({ accept: '*/*' }), cache: 'no-store' });
  if (!res.ok) return fail(res);
  return res.text();
}

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/**
 * One server-sent event stream read with fetch (EventSource cannot send an Authorization
 * header). Calls `onMessage` per event; resolves when the server ends the stream.
 */
export async function readEventStream(path: string, onMessage: (m: SseMessage) => void, opts: { signal: AbortSignal; lastEventId?: string | null }): Promise<void> {
  const h = headers({ accept: 'text/event-stream' });
  if (opts.lastEventId) h['last-event-id'] = opts.lastEventId;
  const res = await fetch(API + path, { headers: h, signal: opts.signal, cache: 'no-store' });
  if (!res.ok) return fail(res);
  if (!res.body) throw new ApiError(0, 'NETWORK', 'the event stream has no body');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let id: string | null = null;
  let event = '';
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let nl: number;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
      if (line === '') {
        if (data.length > 0) onMessage({ id, event: event || 'message', data: data.join('\n') });
        id = null;
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(val);
      else if (field === 'event') event = val;
      else if (field === 'id') id = val;
    }
  }
}

/** Runs `fn` over `items`, at most `limit` at a time (a browser has ~6 connections per host). */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { status: 'fulfilled', value: await fn(items[i]!) };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** Saves text as a file through a temporary object URL (the token stays in a header). */
export function saveFile(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
