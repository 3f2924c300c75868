import type { InodeStat } from './types.js';

/** The interface's stat from a driver's parsed inode: the common fields, optional ones only when present. */
export function inodeStat(ino: number, i: Omit<InodeStat, 'ino' | 'streams'>): InodeStat {
  const s: InodeStat = {
    ino,
    type: i.type,
    mode: i.mode,
    uid: i.uid,
    gid: i.gid,
    size: i.size,
    nlink: i.nlink,
    atimeMs: i.atimeMs,
    mtimeMs: i.mtimeMs,
    ctimeMs: i.ctimeMs,
  };
  if (i.birthtimeMs !== undefined) s.birthtimeMs = i.birthtimeMs;
  if (i.rdev !== undefined) s.rdev = i.rdev;
  return s;
}
