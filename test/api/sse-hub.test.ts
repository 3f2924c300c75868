import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { SseHub } from '../../src/api/sse-hub.js';
import { JobEvents } from '../../src/events/job-events.js';
import { StoreUnavailableError, type JobStore } from '../../src/ports/job-store.js';

/** A response that keeps what is written to it. */
function fakeResponse(): ServerResponse & { chunks: string[]; ended: boolean } {
  const r = {
    chunks: [] as string[],
    ended: false,
    destroyed: false,
    writableLength: 0,
    writeHead() {
      return r;
    },
    write(c: string) {
      r.chunks.push(c);
      return true;
    },
    end() {
      r.ended = true;
    },
    on() {
      return r;
    },
    destroy() {
      r.destroyed = true;
    },
  };
  return r as unknown as ServerResponse & { chunks: string[]; ended: boolean };
}

test('SSE: a store that fails while a stream starts ends it with an error event carrying the protocol error object', async () => {
  const store = {
    events: async () => {
      throw new StoreUnavailableError('events', 'SQLITE_BUSY', new Error('database is locked'));
    },
    get: async () => undefined,
  } as unknown as JobStore;
  const events = new JobEvents();
  const hub = new SseHub(events, store, 60_000);
  try {
    const res = fakeResponse();
    await hub.watch('job-1', res, -1);
    assert.equal(res.ended, true, 'the stream ends instead of hanging open');
    const last = res.chunks.at(-1)!;
    assert.match(last, /^event: error\ndata: /);
    const data = JSON.parse(last.slice(last.indexOf('data: ') + 6)) as { error: { code: string; recoverable: boolean; details?: Record<string, unknown> }; message: string };
    assert.equal(data.error.code, 'UNAVAILABLE');
    assert.equal(data.error.recoverable, true);
    assert.equal(data.error.details?.store_error, 'SQLITE_BUSY');
    assert.equal(data.message, (data.error as unknown as { message: string }).message);
    assert.equal(hub.watchers, 0, 'the watcher is released');
  } finally {
    hub.close();
  }
});
