import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../errors.js';

/** One built file, held in memory with its compressed forms (the dashboard is ~100 KiB). */
interface Asset {
  body: Buffer;
  gzip?: Buffer;
  br?: Buffer;
  type: string;
  etag: string;
  /** Content-hashed name: cached for a year; everything else is revalidated. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** `main-7XK3Q2ZB.js`: esbuild's [name]-[hash] names. */
const HASHED = /-[A-Z0-9]{8}\.[a-z]+(\.map)?$/;

/** The dashboard's own page may only load what the server itself sends. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Where `npm run build` puts the dashboard: <repo>/dist/web (GUESTKIT_WEB_DIR overrides). */
export function webRoot(): string {
  if (process.env.GUESTKIT_WEB_DIR) return process.env.GUESTKIT_WEB_DIR;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'web');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return join(process.cwd(), 'dist', 'web');
}

function loadAssets(root: string): Map<string, Asset> | null {
  if (!existsSync(join(root, 'index.html'))) return null;
  const out = new Map<string, Asset>();
  const walk = (dir: string, prefix: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full, `${prefix}${name}/`);
      else {
        const body = readFileSync(full);
        const type = TYPES[extname(name)] ?? 'application/octet-stream';
        const textual = /^(text|application\/(json|manifest)|image\/svg)/.test(type);
        const asset: Asset = { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`, immutable: HASHED.test(name) };
        if (textual && body.length > 512) {
          asset.gzip = gzipSync(body, { level: 9 });
          asset.br = brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: body.length } });
        }
        out.set(`/${prefix}${name}`, asset);
      }
    }
  };
  walk(root, '');
  return out;
}

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>guestkit</title>
<p>The dashboard is not built. Run <code>npm run build</code> (or <code>node scripts/build-web.mjs</code>) and restart <code>guestkit serve</code>. The API is at <a href="/api/v1/openapi.json">/api/v1</a>.</p></html>\n`;

/**
 * The dashboard (web/, built into dist/web by scripts/build-web.mjs) at `/`: hashed assets
 * immutable, index.html revalidated, and index.html for every other GET that is not an
 * API path or a file (client-side routes such as /jobs/01J…/report). Unknown /api/* paths
 * keep the API's 404 error object.
 */
export function registerWebRoutes(app: FastifyInstance, opts: { root?: string } = {}): void {
  const root = opts.root ?? webRoot();
  let assets: Map<string, Asset> | null = null;
  const current = (): Map<string, Asset> | null => (assets ??= loadAssets(root));

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const raw = req.url.split('?')[0] ?? '/';
    if (raw === '/api' || raw.startsWith('/api/')) throw notFound(`no such endpoint: ${req.method} ${raw}`);
    const path = decodePath(raw);
    const files = current();
    if (!files) return reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
    let asset = path === null ? undefined : files.get(path);
    if (!asset) {
      // a missing file (an old hashed asset, a typo) is a 404, not the page: a browser must not run HTML as a script
      if (path === null || path.startsWith('/assets/') || /\.[A-Za-z0-9]{1,12}$/.test(path)) {
        return reply.code(404).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send('not found\n');
      }
      asset = files.get('/index.html')!;
    }
    return send(req, reply, asset);
  };
  app.get('/', handler);
  app.get('/*', handler);
}

function decodePath(p: string): string | null {
  try {
    const d = decodeURIComponent(p);
    return d.includes('..') || d.includes('\0') ? null : d;
  } catch {
    return null;
  }
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset): FastifyReply {
  reply.header('content-type', a.type);
  reply.header('etag', a.etag);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('cache-control', a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (a.type.startsWith('text/html')) {
    reply.header('content-security-policy', CSP);
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
  }
  if (a.gzip) reply.header('vary', 'accept-encoding');
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim() === a.etag)) return reply.code(304).send();
  const accept = String(req.headers['accept-encoding'] ?? '');
  if (a.br && /\bbr\b/.test(accept)) return reply.header('content-encoding', 'br').send(a.br);
  if (a.gzip && /\bgzip\b/.test(accept)) return reply.header('content-encoding', 'gzip').send(a.gzip);
  return reply.send(a.body);
}
