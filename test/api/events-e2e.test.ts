import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { call, removeDataDir, startServe, testJob, waitFinal, type Served } from '../helpers/serve.js';

/** Server-sent events of a spawned `guestkit serve`: order, resume, disconnects, fan-out. */
let s: Served;
let admin: string;

before(async () => {
  s = await startServe({ args: ['--max-concurrent', '2'] });
  admin = s.adminToken;
});

after(async () => {
  await s?.stop();
  if (s) removeDataDir(s.dataDir);
});

interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

/** Opens one event stream on its own socket; `events` fills as they arrive, `ended` settles when the server closes it. */
function stream(jobId: string, opts: { lastEventId?: number; token?: string } = {}) {
  const events: SseEvent[] = [];
  let req!: http.ClientRequest;
  let status = 0;
  const ended = new Promise<void>((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${opts.token ?? admin}` };
    if (opts.lastEventId !== undefined) headers['last-event-id'] = String(opts.lastEventId);
    req = http.get(`${s.url}/jobs/${jobId}/events`, { headers, agent: false }, (res) => {
      status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev: SseEvent = { event: 'message', data: '' };
          let comment = true;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            comment = false;
            const [k, ...rest] = line.split(':');
            const v = rest.join(':').replace(/^ /, '');
            if (k === 'id') ev.id = v;
            else if (k === 'event') ev.event = v;
            else if (k === 'data') ev.data += v;
          }
          if (!comment && ev.event !== 'message') events.push(ev);
        }
      });
      res.on('end', () => resolve());
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  return { events, ended, close: () => req.destroy(), status: () => status };
}

async function submit(body: Record<string, unknown>): Promise<string> {
  const r = await call(s.url, 'POST', '/jobs', { token: admin, body });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return (r.body.job as { job_id: string }).job_id;
}

const progressIds = (evs: SseEvent[]) => evs.filter((e) => e.event === 'progress').map((e) => Number(e.id));

test('a stream carries the stored events, then live ones in order, then the final status, and ends', async () => {
  const id = await submit(testJob('test.sleep', { seconds: 1 }));
  const st = stream(id);
  await st.ended;
  const ids = progressIds(st.events);
  assert.ok(ids.length >= 3, `progress events: ${ids.join(',')}`);
  assert.deepEqual(ids, ids.map((_, i) => i), 'sequences 0, 1, 2 … without gaps or repeats');
  const last = st.events.at(-1)!;
  assert.equal(last.event, 'status');
  assert.equal(JSON.parse(last.data).status, 'completed');
  for (const e of st.events.filter((x) => x.event === 'progress')) assert.equal(JSON.parse(e.data).job_id, id);
  // the whole history again, after the end, is the same
  const replay = stream(id);
  await replay.ended;
  assert.deepEqual(progressIds(replay.events), ids);
  // stored events as JSON and as JSON lines
  const json = await call(s.url, 'GET', `/jobs/${id}/events`, { token: admin });
  assert.deepEqual((json.body.items as { sequence: number }[]).map((e) => e.sequence), ids);
  const lines = await call(s.url, 'GET', `/jobs/${id}/events?format=jsonl`, { token: admin });
  assert.equal(String(lines.body).trim().split('\n').length, ids.length);
});

test('Last-Event-ID resumes after that sequence; a bad one is 400', async () => {
  const id = await submit(testJob('test.sleep', { seconds: 0.5 }));
  await waitFinal(s.url, admin, id);
  const all = stream(id);
  await all.ended;
  const ids = progressIds(all.events);
  const resumed = stream(id, { lastEventId: 1 });
  await resumed.ended;
  assert.deepEqual(progressIds(resumed.events), ids.filter((x) => x > 1));
  assert.equal(resumed.events.at(-1)!.event, 'status');
  const bad = await call(s.url, 'GET', `/jobs/${id}/events`, { token: admin, headers: { accept: 'text/event-stream', 'last-event-id': 'abc' } });
  assert.equal(bad.status, 400);
});

test('a watcher that disconnects halfway is dropped; the job and the other watchers go on', async () => {
  const id = await submit(testJob('test.sleep', { seconds: 1.5 }));
  const quitter = stream(id);
  const stayer = stream(id);
  while (quitter.events.length < 1) await new Promise((r) => setTimeout(r, 20));
  quitter.close();
  await quitter.ended.catch(() => undefined);
  await stayer.ended;
  assert.equal(stayer.events.at(-1)!.event, 'status');
  assert.equal((await waitFinal(s.url, admin, id)).status, 'completed');
  const metrics = await call(s.url.replace(/\/api\/v1$/, ''), 'GET', '/metrics');
  assert.match(String(metrics.body), /guestkit_api_event_streams(\{[^}]*\})? 0/, 'no stream is left open');
});

test('10,000 concurrent watchers of one job all get every event and the end', { timeout: 180_000 }, async () => {
  const id = await submit(testJob('test.sleep', { seconds: 4 }));
  const n = 10_000;
  const watchers: ReturnType<typeof stream>[] = [];
  for (let i = 0; i < n; i++) {
    watchers.push(stream(id));
    if (i % 500 === 499) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(watchers.map((w) => w.ended));
  const reference = progressIds(watchers[0]!.events);
  assert.ok(reference.length >= 3);
  let complete = 0;
  for (const w of watchers) {
    assert.equal(w.status(), 200);
    if (w.events.at(-1)?.event === 'status' && JSON.parse(w.events.at(-1)!.data).status === 'completed') complete++;
  }
  assert.equal(complete, n);
  // a watcher that connected late got the stored events first: the same full list either way
  for (const w of watchers) assert.deepEqual(progressIds(w.events), reference);
  assert.equal((await call(s.url.replace(/\/api\/v1$/, ''), 'GET', '/healthz')).status, 200);
});
