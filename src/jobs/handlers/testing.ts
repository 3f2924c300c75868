import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { z } from 'zod';
import { GuestkitError } from '../../protocol/errors.js';
import { defineHandler, type HandlerDefinition } from '../types.js';

/**
 * Handlers that exist only for the test suite and benchmarks; registered only when
 * GUESTKIT_TEST_HANDLERS=1 (never in production). Each stresses one executor path.
 */

const Any = z.unknown();

/**
 * test.sleep {seconds, until_file?}: a slow, well-behaved job (kill -9 and drain tests). With
 * until_file it ends early once that file exists, so a test holds a slot exactly as long as it needs.
 */
const sleep = defineHandler(z.looseObject({ seconds: z.number().nonnegative().default(1), until_file: z.string().optional() }), {
  operation: 'test.sleep',
  isolation: 'thread',
  async run(ctx, data) {
    const ms = Math.min(data.seconds, 3600) * 1000;
    const step = Math.max(10, Math.min(data.until_file ? 100 : 1000, ms / 4));
    const end = Date.now() + ms;
    while (Date.now() < end && !(data.until_file && existsSync(data.until_file))) {
      await new Promise((r) => setTimeout(r, Math.min(step, end - Date.now())));
      ctx.progress({ phase: 'disk_inspection', message: 'sleeping', progress_percent: Math.round(100 - ((end - Date.now()) / ms) * 100) });
    }
    return { data: { slept_ms: ms, attempt: ctx.attempt } };
  },
});

/** test.spin: a parser stuck in a loop that never yields; only terminating its thread stops it. */
const spin = defineHandler(Any, {
  operation: 'test.spin',
  isolation: 'thread',
  async run(ctx) {
    ctx.progress({ phase: 'disk_inspection', message: 'spinning forever' });
    let x = 0;
    for (;;) x = (x + 1) % 1_000_003;
  },
});

/** test.flaky {succeed_on_attempt}: fails with a retryable error until that attempt. */
const flaky = defineHandler(z.looseObject({ succeed_on_attempt: z.number().int().default(2) }), {
  operation: 'test.flaky',
  isolation: 'thread',
  async run(ctx, data) {
    if (ctx.attempt < data.succeed_on_attempt) {
      throw new GuestkitError('EXECUTION_ERROR', `flaky failure on attempt ${ctx.attempt}`, { phase: 'disk_inspection', recoverable: true, retryRecommended: true });
    }
    return { data: { attempt: ctx.attempt } };
  },
});

/** test.alloc {mb}: allocates until the thread's memory cap stops it. */
const alloc = defineHandler(z.looseObject({ mb: z.number().nonnegative().default(64) }), {
  operation: 'test.alloc',
  isolation: 'thread',
  async run(_ctx, data) {
    const mb = Math.min(data.mb, 64 * 1024);
    const keep: number[][] = [];
    for (let i = 0; i < mb; i++) keep.push(new Array<number>(128 * 1024).fill(i)); // ~1 MiB each on the JS heap
    return { data: { allocated_mb: keep.length } };
  },
});

/** test.image {image:{path, checksum?}}: reads the first sector of an image (path policy / checksum tests). */
const image = defineHandler(z.looseObject({ image: z.looseObject({ path: z.string(), checksum: z.string().nullish() }) }), {
  operation: 'test.image',
  isolation: 'thread',
  images: (data) => [{ field: 'image.path', path: data.image.path, checksum: data.image.checksum ?? null }],
  async run(ctx) {
    const fh = await open(ctx.resolvedImages[0]!, 'r');
    try {
      const buf = Buffer.alloc(512);
      const { bytesRead } = await fh.read(buf, 0, 512, 0);
      const st = await fh.stat();
      return { data: { size_bytes: st.size, first_bytes_hex: buf.subarray(0, Math.min(bytesRead, 16)).toString('hex') }, metrics: { disk_read_bytes: bytesRead } };
    } finally {
      await fh.close();
    }
  },
});

/**
 * test.crash {mode}: a handler thread that dies the ways real code can — `throw` (a plain
 * Error), `exit` (process.exit in the thread), `uncaught` (an exception thrown from a
 * timer), `reject` (an unhandled rejection), `stack` (stack overflow), `buffer` (a
 * RangeError from a native allocation). Each must end as a typed job result. `late`
 * succeeds but leaves a timer that throws after the job ended (no job to blame).
 */
const crash = defineHandler(z.looseObject({ mode: z.string().optional() }), {
  operation: 'test.crash',
  isolation: 'thread',
  async run(_ctx, data) {
    const mode = data.mode;
    switch (mode) {
      case 'exit':
        process.exit(3);
        break;
      case 'uncaught':
        setTimeout(() => {
          throw new TypeError('uncaught in a timer');
        }, 1);
        return new Promise(() => undefined);
      case 'reject':
        void Promise.reject(new Error('nobody handles this rejection'));
        return new Promise(() => undefined);
      case 'stack': {
        const down = (n: number): number => down(n + 1) + 1;
        return { data: down(0) };
      }
      case 'buffer':
        return { data: Buffer.alloc(Number.MAX_SAFE_INTEGER).length };
      case 'late':
        setTimeout(() => {
          throw new Error('thrown after the job ended');
        }, 50);
        return { data: 'done' };
      default:
        throw new Error(`plain failure (${String(mode)})`);
    }
    return { data: null };
  },
});

export const testHandlers: readonly HandlerDefinition[] = [sleep, spin, flaky, alloc, image, crash];
