import { GuestkitError } from '../protocol/errors.js';
import type { SseMessage } from './types.js';

/**
 * The server-sent events wire format (WHATWG HTML, "Server-sent events"): lines end in
 * CRLF, LF or CR; `field: value` (one leading space dropped); `:` starts a comment; a blank
 * line dispatches; several `data:` lines join with "\n"; a block without data is dropped.
 */
export class SseParser {
  /** The id of the last complete event block (what a reconnect sends as Last-Event-ID). */
  lastEventId: string | undefined;
  /** The server's `retry:` advice in ms. */
  retryMs: number | undefined;
  private readonly decoder = new TextDecoder('utf-8'); // strips a leading BOM, keeps split UTF-8 sequences whole
  private buf = '';
  /** A chunk ended in CR: an LF opening the next chunk belongs to the same line end. */
  private skipLf = false;
  private data: string[] = [];
  private event = '';
  private id: string | undefined;

  constructor(lastEventId?: string) {
    this.lastEventId = lastEventId;
  }

  /** Feeds bytes (or text); returns the events they completed. */
  push(chunk: Uint8Array | string): SseMessage[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const out: SseMessage[] = [];
    if (this.skipLf && text.length > 0) {
      this.skipLf = false;
      if (text[0] === '\n') text = text.slice(1);
    }
    this.buf += text;
    let pos = 0;
    const eol = /[\r\n]/g;
    for (let m = eol.exec(this.buf); m; m = eol.exec(this.buf)) {
      const line = this.buf.slice(pos, m.index);
      pos = m.index + 1;
      if (m[0] === '\r') {
        if (pos === this.buf.length) this.skipLf = true;
        else if (this.buf[pos] === '\n') pos++;
      }
      eol.lastIndex = pos;
      this.line(line, out);
    }
    this.buf = this.buf.slice(pos);
    return out;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === '') return this.dispatch(out);
    if (line[0] === ':') return; // comment (the server's keep-alive ping)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value; // committed at the blank line: a torn event must not count
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default: // unknown fields are ignored
    }
  }

  private dispatch(out: SseMessage[]): void {
    if (this.id !== undefined) this.lastEventId = this.id;
    if (this.data.length > 0) {
      const msg: SseMessage = { event: this.event || 'message', data: this.data.join('\n') };
      if (this.id !== undefined) msg.id = this.id;
      out.push(msg);
    }
    this.data = [];
    this.event = '';
    this.id = undefined;
  }
}

export interface FollowOptions {
  /** Opens one connection; `lastEventId` is set when resuming. Throwing refuses the stream. */
  connect(lastEventId: string | undefined, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /** The event after which the stream is complete (the job's final status). */
  isFinal(m: SseMessage): boolean;
  /** Whether a failed reconnect may be tried again (default: every error). */
  retryable?(err: unknown): boolean;
  /** Resume after this event id. */
  lastEventId?: string;
  /** Reconnects in a row that bring no new event before giving up (default 5). */
  maxRetries?: number;
  /** First reconnect delay when the server gave no `retry:` (default 1000 ms); doubles per failure. */
  retryDelayMs?: number;
  /** Cap of any one delay, the server's advice included (default 30 s). */
  maxRetryDelayMs?: number;
  /** No byte for this long (the server pings every 15 s) counts as a dropped connection (default 45 s). */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  onReconnect?(info: { attempt: number; delayMs: number; lastEventId?: string; reason: string }): void;
}

/**
 * Follows an event stream until its final event, reconnecting with the last event id after
 * a drop (a closed socket, an idle line, a server restart). Only a stream that was open
 * once is retried: a first connection that fails throws at once.
 */
export async function* followEvents(opts: FollowOptions): AsyncGenerator<SseMessage, void, undefined> {
  const maxRetries = opts.maxRetries ?? 5;
  const maxDelay = opts.maxRetryDelayMs ?? 30_000;
  const idleMs = opts.idleTimeoutMs ?? 45_000;
  let lastEventId = opts.lastEventId;
  let retryMs: number | undefined;
  let failures = 0;
  let connected = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    const ctl = new AbortController();
    const onAbort = () => ctl.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ctl.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
    };
    let reason: string;
    let open = false;
    try {
      const parser = new SseParser(lastEventId);
      arm();
      const body = await opts.connect(lastEventId, ctl.signal);
      connected = open = true;
      const reader = body.getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          arm();
          for (const m of parser.push(value)) {
            failures = 0;
            lastEventId = parser.lastEventId;
            yield m;
            if (opts.isFinal(m)) return;
          }
          lastEventId = parser.lastEventId;
          retryMs = parser.retryMs ?? retryMs;
        }
      } finally {
        reader.cancel().catch(() => undefined);
      }
      reason = 'the server closed the stream before the final event';
    } catch (err) {
      opts.signal?.throwIfAborted();
      // a stream that broke while open is a drop; a refused reconnect may be final (404, 401)
      if (!connected || (!open && !(opts.retryable?.(err) ?? true))) throw err;
      reason = (err as Error)?.message ?? String(err);
    } finally {
      clearTimeout(idle);
      opts.signal?.removeEventListener('abort', onAbort);
      ctl.abort();
    }
    failures++;
    if (failures > maxRetries) {
      throw new GuestkitError('UNAVAILABLE', `the event stream dropped ${failures} times in a row without a new event (last: ${reason})`, {
        details: { last_event_id: lastEventId ?? null, reason },
      });
    }
    const delayMs = Math.min(maxDelay, (retryMs ?? opts.retryDelayMs ?? 1000) * 2 ** (failures - 1));
    opts.onReconnect?.({ attempt: failures, delayMs, lastEventId, reason });
    await sleep(delayMs, opts.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', abort);
      resolve();
    }
    function abort() {
      clearTimeout(t);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', abort, { once: true });
  });
}
