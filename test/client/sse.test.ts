import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ApiClient } from '../../src/client/api-client.js';
import { SseParser } from '../../src/client/sse.js';
import type { SseMessage } from '../../src/client/types.js';
import { GuestkitError } from '../../src/protocol/errors.js';

/* The SSE wire format, and following a job's stream across dropped connections (a tiny node:http server plays the API). */

const all = (p: SseParser, chunks: (string | Uint8Array)[]) => chunks.flatMap((c) => p.push(c));

test('parser: LF, CRLF and CR line ends, split anywhere, give the same events', () => {
  const body = 'id: 1\nevent: progress\ndata: {"a":1}\n\nevent: status\ndata: {"status":"completed"}\n\n';
  const expected: SseMessage[] = [
    { id: '1', event: 'progress', data: '{"a":1}' },
    { event: 'status', data: '{"status":"completed"}' },
  ];
  for (const eol of ['\n', '\r\n', '\r']) {
    const text = body.replace(/\n/g, eol);
    assert.deepEqual(all(new SseParser(), [text]), expected, JSON.stringify(eol));
    // every split point, the CR/LF pair torn apart included
    for (let i = 1; i < text.length; i++) assert.deepEqual(all(new SseParser(), [text.slice(0, i), text.slice(i)]), expected, `${JSON.stringify(eol)} split at ${i}`);
    assert.deepEqual(all(new SseParser(), [...text]), expected, `${JSON.stringify(eol)} one character at a time`);
  }
});

test('parser: multi-line data, comments, field rules, blocks without data, lastEventId and retry', () => {
  const p = new SseParser('7');
  assert.equal(p.lastEventId, '7');
  const msgs = p.push(
    [
      ': ping', // a comment
      '',
      'retry: 2000',
      '',
      'data: one',
      'data:two', // no space after the colon
      'data:  three', // only one leading space is dropped
      'data', // a field without a colon: empty value
      '',
      'id: 9',
      'event: status', // no data: dropped, but the id stays
      '',
      'unknown: field',
      'retry: soon', // not digits: ignored
      'data: x',
      '',
      '',
    ].join('\n'),
  );
  assert.deepEqual(msgs, [
    { event: 'message', data: 'one\ntwo\n three\n' },
    { event: 'message', data: 'x' },
  ]);
  assert.equal(p.lastEventId, '9');
  assert.equal(p.retryMs, 2000);
  assert.deepEqual(p.push('data: unfinished'), [], 'no event before the blank line');
});

test('parser: UTF-8 split inside a character, and a leading BOM', () => {
  const bytes = Buffer.from('\uFEFFdata: grüße ✓\n\n', 'utf8');
  const p = new SseParser();
  const out: SseMessage[] = [];
  for (const b of bytes) out.push(...p.push(Uint8Array.of(b)));
  assert.deepEqual(out, [{ event: 'message', data: 'grüße ✓' }]);
});

// --- following a stream ---

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;
let server: Server;
let base = '';
let handler: Handler = () => undefined;
let connections: { lastEventId?: string; accept?: string; auth?: string; closed: Promise<void> }[] = [];

before(async () => {
  server = createServer((req, res) => {
    const closed = new Promise<void>((r) => res.on('close', () => r()));
    connections.push({ lastEventId: req.headers['last-event-id'] as string | undefined, accept: req.headers.accept, auth: req.headers.authorization, closed });
    handler(req, res, connections.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function reset(h: Handler): ApiClient {
  handler = h;
  connections = [];
  return new ApiClient({ server: base, token: 'gk_test' });
}

const stream = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });
const progress = (seq: number) => `id: ${seq}\nevent: progress\ndata: {"sequence":${seq}}\n\n`;
const final = 'event: status\ndata: {"status":"completed","error_code":null}\n\n';
const fast = { retryDelayMs: 1, maxRetryDelayMs: 5 };

async function collect(it: AsyncIterable<SseMessage>): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of it) out.push(m);
  return out;
}

test('follow: a dropped connection resumes with Last-Event-ID, and the final status ends the stream', async () => {
  const client = reset((_req, res, n) => {
    stream(res);
    if (n === 1) {
      res.write('retry: 1\n\n' + progress(0) + progress(1) + 'event: status\ndata: {"status":"running"}\n\n');
      res.write('id: 2\ndata: half an ev'); // torn off mid-event: must not be delivered
      setImmediate(() => res.destroy());
    } else {
      res.write(': ping\n\n' + progress(2) + final);
      // left open: the client must stop at the final status by itself
    }
  });
  const reconnects: string[] = [];
  const got = await collect(client.follow('job-1', { ...fast, onReconnect: (r) => reconnects.push(String(r.lastEventId)) }));
  assert.deepEqual(
    got.map((m) => `${m.event}:${m.id ?? '-'}`),
    ['progress:0', 'progress:1', 'status:-', 'progress:2', 'status:-'],
  );
  assert.equal(connections.length, 2);
  assert.equal(connections[0]!.lastEventId, undefined);
  assert.equal(connections[1]!.lastEventId, '1', 'resumes after the last complete event');
  assert.equal(connections[0]!.accept, 'text/event-stream');
  assert.equal(connections[0]!.auth, 'Bearer gk_test');
  assert.deepEqual(reconnects, ['1']);
  await connections[1]!.closed; // the client hung up after the final event
});

test('follow: `after` is sent as Last-Event-ID on the first connection', async () => {
  const client = reset((_req, res) => {
    stream(res);
    res.end(progress(5) + final);
  });
  const got = await collect(client.follow('job-1', { ...fast, after: 4 }));
  assert.equal(got.length, 2);
  assert.equal(connections[0]!.lastEventId, '4');
});

test('follow: reconnects are bounded; a stream that keeps dropping without news is UNAVAILABLE', async () => {
  const client = reset((_req, res) => {
    stream(res);
    res.end(': nothing\n\n');
  });
  await assert.rejects(collect(client.follow('job-1', { ...fast, maxRetries: 3 })), (err: unknown) => {
    assert.ok(err instanceof GuestkitError);
    assert.equal(err.code, 'UNAVAILABLE');
    assert.match(err.message, /dropped 4 times in a row/);
    return true;
  });
  assert.equal(connections.length, 4, 'the first connection and three retries');
});

test('follow: events reset the retry budget, so a long job survives many drops', async () => {
  const client = reset((_req, res, n) => {
    stream(res);
    if (n < 6) res.end(progress(n - 1));
    else res.end(final);
  });
  const got = await collect(client.follow('job-1', { ...fast, maxRetries: 1 }));
  assert.equal(got.length, 6);
  assert.deepEqual(connections.slice(1).map((c) => c.lastEventId), ['0', '1', '2', '3', '4']);
});

test('follow: a silent connection (no bytes, no pings) counts as dropped', async () => {
  const client = reset((_req, res, n) => {
    stream(res);
    if (n === 1) res.write(progress(0)); // then silence
    else res.end(final);
  });
  const got = await collect(client.follow('job-1', { ...fast, idleTimeoutMs: 150 }));
  assert.deepEqual(got.map((m) => m.event), ['progress', 'status']);
  assert.equal(connections[1]!.lastEventId, '0');
  await connections[0]!.closed;
});

test('follow: a refusal on reconnect is not retried; its error keeps code, request id and status', async () => {
  const client = reset((_req, res, n) => {
    if (n === 1) {
      stream(res);
      res.end(progress(0));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json', 'x-request-id': 'req-42' });
    res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no job job-1', phase: 'validation', recoverable: false, retry_recommended: false, details: { job_id: 'job-1' } }, request_id: 'req-42' }));
  });
  const got: SseMessage[] = [];
  await assert.rejects(
    (async () => {
      for await (const m of client.follow('job-1', fast)) got.push(m);
    })(),
    (err: unknown) => {
      assert.ok(err instanceof GuestkitError);
      assert.equal(err.code, 'NOT_FOUND');
      assert.equal(err.message, 'no job job-1');
      assert.deepEqual(err.details, { job_id: 'job-1', request_id: 'req-42', http_status: 404 });
      return true;
    },
  );
  assert.equal(got.length, 1);
  assert.equal(connections.length, 2);
});

test('follow: a first connection that fails is an error at once (no retries)', async () => {
  const client = reset((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'UNAUTHENTICATED', message: 'token abc has expired', phase: 'validation', recoverable: false, retry_recommended: false, details: { reason: 'expired' } }, request_id: 'r1' }));
  });
  await assert.rejects(collect(client.follow('job-1', fast)), (err: unknown) => {
    assert.ok(err instanceof GuestkitError);
    assert.equal(err.code, 'UNAUTHENTICATED');
    assert.match(err.message, /^token abc has expired.*the token has expired; ask an admin for a new one \(guestkit token create/);
    return true;
  });
  assert.equal(connections.length, 1);
});

test('follow: an answer that is not an event stream is refused clearly', async () => {
  const client = reset((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>a proxy</html>');
  });
  await assert.rejects(collect(client.follow('job-1', fast)), /UNAVAILABLE|did not answer GET \/jobs\/job-1\/events with an event stream/);
});

test('follow: breaking out of the loop closes the connection', async () => {
  const client = reset((_req, res) => {
    stream(res);
    res.write(progress(0) + progress(1));
  });
  for await (const m of client.follow('job-1', fast)) {
    assert.equal(m.id, '0');
    break;
  }
  await connections[0]!.closed;
  assert.equal(connections.length, 1);
});

test('follow: an abort signal stops a stream that is waiting for data', async () => {
  const client = reset((_req, res) => {
    stream(res);
    res.write(progress(0));
  });
  const ctl = new AbortController();
  const got: SseMessage[] = [];
  await assert.rejects(
    (async () => {
      for await (const m of client.follow('job-1', { ...fast, signal: ctl.signal })) {
        got.push(m);
        ctl.abort(new Error('stop'));
      }
    })(),
    /stop/,
  );
  assert.equal(got.length, 1);
  await connections[0]!.closed;
});

test('follow: a server restart (connection refused for a while) is waited out and the stream resumes', async () => {
  let restarted = false;
  const seen: string[] = [];
  const s2 = createServer((req, res) => {
    seen.push(String(req.headers['last-event-id'] ?? '-'));
    stream(res);
    if (!restarted) res.write(progress(0));
    else res.end(progress(1) + final);
  });
  await new Promise<void>((r) => s2.listen(0, '127.0.0.1', r));
  const port = (s2.address() as AddressInfo).port;
  const client = new ApiClient({ server: `http://127.0.0.1:${port}` });
  const reasons: string[] = [];
  try {
    const got: SseMessage[] = [];
    const opts = {
      ...fast,
      maxRetries: 10,
      onReconnect: (r: { reason: string }) => {
        reasons.push(r.reason);
        // back once a reconnect has been refused
        if (!restarted && /connection refused/.test(r.reason)) {
          restarted = true;
          s2.listen(port, '127.0.0.1');
        }
      },
    };
    for await (const m of client.follow('job-1', opts)) {
      got.push(m);
      if (m.id === '0') {
        // the server goes away: the socket breaks and the port refuses connections
        s2.close();
        s2.closeAllConnections();
      }
    }
    assert.deepEqual(got.map((m) => m.id ?? m.event), ['0', '1', 'status']);
    assert.ok(reasons.some((r) => /cannot reach the guestkit server .*connection refused/.test(r)), reasons.join('\n'));
    assert.deepEqual(seen, ['-', '0']);
  } finally {
    s2.closeAllConnections();
    s2.close();
  }
});
