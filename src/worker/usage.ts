import { readFileSync, readlinkSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { getHeapStatistics } from 'node:v8';

/** The usage figures every result's `metrics` carries (beside disk_read_bytes). */
export interface AttemptUsage {
  wall_seconds: number;
  cpu_seconds: number;
  peak_memory_mb: number;
  image_bytes: number;
}

/** A pool thread's figures so far, sent while it runs (a terminated thread sends no reply). */
export interface ThreadUsage {
  cpuSeconds: number;
  peakMb: number;
  /** In the first report: the thread's Linux task id and CPU clock at the start, so the
   *  main thread can still read the clock of a thread stuck in a loop before stopping it. */
  clock?: { tid: number; startSeconds: number };
}

const threadCpuUsage = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;

/**
 * CPU time of the calling thread, in seconds. Node 20 has no process.threadCpuUsage (it
 * came in 23.9). On Linux: the thread's scheduler clock (/proc/thread-self/schedstat, ns),
 * which the main thread can read too (cpuSecondsOf). The kernel advances it at scheduler
 * ticks, so a reading may lag by up to a tick (~4 ms). Elsewhere process.threadCpuUsage
 * when present, else the process's CPU time (all threads: an overstatement).
 */
export function threadCpuSeconds(): number {
  const linux = schedstatSeconds('/proc/thread-self/schedstat');
  if (linux !== undefined) return linux;
  const u = threadCpuUsage ? threadCpuUsage.call(process) : process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The calling thread's Linux task id (undefined elsewhere). */
export function threadTaskId(): number | undefined {
  try {
    const tid = Number(/\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1]);
    return Number.isSafeInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/** The CPU clock of another thread of this process (undefined once it is gone). */
export function cpuSecondsOf(tid: number): number | undefined {
  return schedstatSeconds(`/proc/self/task/${tid}/schedstat`);
}

function schedstatSeconds(file: string): number | undefined {
  try {
    // opened per reading: a pool thread that is terminated must leave no descriptor behind
    const ns = Number(readFileSync(file, 'latin1').split(' ', 1)[0]);
    return Number.isFinite(ns) ? ns / 1e9 : undefined;
  } catch {
    return undefined;
  }
}

/** This thread's V8 heap (committed) plus its external memory (Buffers), in MiB. */
export function threadMemoryMb(): number {
  const h = getHeapStatistics();
  return (h.total_heap_size + h.external_memory) / 1048576;
}

/** Sum of the sizes of the image files a job named (0 for a file that vanished meanwhile). */
export async function imageBytes(paths: readonly string[]): Promise<number> {
  const sizes = await Promise.all(paths.map((p) => stat(p).then((s) => s.size, () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

/** Seconds to a microsecond, MiB to a tenth: no float noise in results. */
export function usageFigures(u: { wallMs: number; cpuSeconds: number; peakMb: number; imageBytes: number }): AttemptUsage {
  return {
    wall_seconds: Math.round(u.wallMs * 1000) / 1e6,
    cpu_seconds: Math.round(u.cpuSeconds * 1e6) / 1e6,
    peak_memory_mb: Math.round(u.peakMb * 10) / 10,
    image_bytes: u.imageBytes,
  };
}
