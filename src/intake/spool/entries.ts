import { constants, type Dirent, type Stats } from 'node:fs';
import { safeName } from './layout.js';

/*
 * What a scan may meet in jobs/ besides job files, decided without opening anything: names
 * that are not clean text, and entries that are not regular files (symlinks, FIFOs,
 * sockets, devices). Such entries are moved out by rename (which moves the entry itself,
 * never what a link points at) and answered with a refusal.
 */

/**
 * Job files are opened without following a symlink and without blocking on a FIFO that
 * replaced the file after it was listed; the fstat after the open decides.
 */
export const JOB_OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const JSON_SUFFIX = Buffer.from('.json');
const CANCEL_SUFFIX = Buffer.from('.cancel');

export const endsWithJson = (raw: Buffer): boolean => endsWith(raw, JSON_SUFFIX);
export const endsWithCancel = (raw: Buffer): boolean => endsWith(raw, CANCEL_SUFFIX);

function endsWith(raw: Buffer, suffix: Buffer): boolean {
  return raw.length >= suffix.length && raw.compare(suffix, 0, suffix.length, raw.length - suffix.length) === 0;
}

/**
 * Why a raw file name is not usable as a job file name: control characters (a newline
 * splits log lines and breaks line-based tools) or bytes that are not UTF-8 (Node would
 * turn them into U+FFFD, a name that opens nothing). Plain ASCII names cost one pass.
 */
export function nameProblem(raw: Buffer): string | undefined {
  let high = false;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b < 0x20 || b === 0x7f) return 'contains control characters (a newline, tab, …)';
    if (b >= 0x80) high = true;
  }
  if (high && !Buffer.from(raw.toString('utf8'), 'utf8').equals(raw)) return 'is not valid UTF-8';
  return undefined;
}

/** A raw name as it can be shown in a log line or message: JSON-escaped, bad bytes as U+FFFD. */
export function shownName(raw: Buffer | string): string {
  return JSON.stringify(typeof raw === 'string' ? raw : raw.toString('utf8'));
}

/** The name a refused entry takes in claimed/ and failed/: safe characters only, still *.json or *.cancel. */
export function quarantineName(raw: Buffer | string): string {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  const ext = text.endsWith('.cancel') ? '.cancel' : '.json';
  const stem = safeName(text.endsWith(ext) ? text.slice(0, -ext.length) : text);
  return `${stem}${ext}`;
}

/** What a non-regular entry is, for the refusal; undefined for a regular file or an unknown type. */
export function specialKind(d: Pick<Dirent | Stats, 'isFile' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isBlockDevice' | 'isCharacterDevice' | 'isDirectory'>): string | undefined {
  if (d.isFile()) return undefined;
  if (d.isSymbolicLink()) return 'a symbolic link';
  if (d.isFIFO()) return 'a FIFO (named pipe)';
  if (d.isSocket()) return 'a socket';
  if (d.isBlockDevice()) return 'a block device';
  if (d.isCharacterDevice()) return 'a character device';
  if (d.isDirectory()) return 'a directory';
  return undefined;
}

/** The entry's full path from the folder and its raw name (names that are not UTF-8 only open as bytes). */
export function rawPath(dir: string, raw: Buffer): Buffer {
  return Buffer.concat([Buffer.from(dir.endsWith('/') ? dir : `${dir}/`), raw]);
}
