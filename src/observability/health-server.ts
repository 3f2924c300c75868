import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthSources {
  metrics: Registry;
  /** Ready = transport reachable and not draining; the reason when not. */
  ready(): { ok: true } | { ok: false; reason: string };
  registration(): unknown;
  /** A server error after it listens (e.g. out of file descriptors); unheard it would crash the worker. */
  onError?(err: Error): void;
}

/** /metrics (Prometheus), /healthz (alive), /readyz (can take jobs), /registration (the worker document). */
export async function startHealthServer(port: number, host: string, src: HealthSources): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const json = (code: number, v: unknown) => send(code, 'application/json', JSON.stringify(v) + '\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
    try {
      route(path, send, json);
    } catch (err) {
      // a failing probe answers 500; it never reaches the event loop
      if (!res.headersSent) json(500, { error: String(err) });
    }
  });
  function route(path: string | undefined, send: (code: number, type: string, body: string) => void, json: (code: number, v: unknown) => void): void {
    switch (path) {
      case '/metrics':
        src.metrics.metrics().then(
          (text) => send(200, src.metrics.contentType, text),
          (err: unknown) => json(500, { error: String(err) }),
        );
        return;
      case '/healthz':
        return json(200, { status: 'ok' });
      case '/readyz': {
        const r = src.ready();
        return r.ok ? json(200, { status: 'ready' }) : json(503, { status: 'not ready', reason: r.reason });
      }
      case '/registration':
        return json(200, src.registration());
      default:
        return json(404, { error: 'not found', endpoints: ['/metrics', '/healthz', '/readyz', '/registration'] });
    }
  }
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolveListen());
  });
  server.removeAllListeners('error');
  server.on('error', (err) => src.onError?.(err));
  server.unref();
  return { server, port: (server.address() as AddressInfo).port };
}
