import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { dropJob, echoJob, makeSpool, startDaemon, waitFor, waitForResult } from './helpers/daemon.js';

test('with OTEL_EXPORTER_OTLP_ENDPOINT set, job spans reach an OTLP/HTTP receiver under the job\'s trace id', async () => {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const spool = makeSpool('gk-otlp-');
  const d = startDaemon(spool, ['--worker-id', 'w-otlp'], {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  try {
    const traceId = '550e8400e29b41d4a716446655440001';
    dropJob(spool, echoJob('otlp-echo-0001', { observability: { trace_id: '550e8400-e29b-41d4-a716-446655440001' } }));
    const r = await waitForResult(spool, 'otlp-echo-0001');
    assert.equal(r.status, 'completed');
    await waitFor(() => bodies.some((b) => b.includes(traceId) || b.includes(Buffer.from(traceId, 'hex').toString('base64'))), 15_000, 'spans at the receiver');
    const all = bodies.join('\n');
    assert.match(all, /guestkit-worker/, 'service.name on the exported resource');
  } finally {
    await d.stop();
    server.close();
  }
});
