import { open } from 'node:fs/promises';
import type { ImageFormatName } from '../disk/image.js';
import { inspect, requireOs } from '../inspect/index.js';
import type { Inspection, OperatingSystem } from '../inspect/types.js';
import { GuestkitError } from '../protocol/errors.js';

export interface SideInput {
  path: string;
  /** Stated format; `auto`/undefined also accept a saved inspection document (JSON). */
  format?: ImageFormatName | 'img' | 'auto';
}

export interface LoadedSide {
  path: string;
  format?: SideInput['format'];
  source: 'image' | 'inspection';
  inspection: Inspection;
  os: OperatingSystem;
  warnings: string[];
}

/** A saved inspection larger than this is not one. */
const MAX_DOC_BYTES = 256 * 1024 * 1024;

function isInspection(v: unknown): v is Inspection {
  return typeof v === 'object' && v !== null && Array.isArray((v as Inspection).operating_systems);
}

/**
 * A saved inspection: `guestkit inspect --json` output (one guest, or a list holding one), or a
 * guestkit.inspect job result whose `data` is one. Undefined when the file is not JSON at all
 * (then it is an image); a JSON file that is none of these is a VALIDATION_ERROR.
 */
export async function readInspectionDocument(path: string): Promise<Inspection | undefined> {
  const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new GuestkitError('IMAGE_NOT_FOUND', `not found: ${path}`, { details: { path } });
    throw err;
  });
  let text: string;
  try {
    const st = await fh.stat();
    if (!st.isFile()) return undefined;
    const head = Buffer.alloc(Math.min(64, st.size));
    await fh.read(head, 0, head.length, 0);
    const first = head.toString('latin1').trimStart()[0];
    if (first !== '{' && first !== '[') return undefined;
    if (st.size > MAX_DOC_BYTES) return undefined;
    text = (await fh.readFile()).toString('utf8');
  } finally {
    await fh.close();
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined; // starts like JSON, is not: let the image opener judge it
  }
  if (Array.isArray(doc) && doc.length === 1) doc = doc[0];
  if (isInspection(doc)) return doc;
  const data = (doc as { data?: unknown } | null)?.data;
  if (isInspection(data)) return data;
  throw new GuestkitError('VALIDATION_ERROR', `${path} is JSON but not an inspection document (guestkit inspect --json output or a guestkit.inspect result)`, {
    details: { path },
  });
}

/** One side of a comparison: a saved inspection, or an image inspected now. */
export async function loadSide(
  side: SideInput,
  opts: { packages: boolean; allowedRoots?: readonly string[]; onStage?: (stage: string) => void; label: string },
): Promise<LoadedSide> {
  const warnings: string[] = [];
  let inspection: Inspection | undefined;
  let source: LoadedSide['source'] = 'image';
  if (side.format === undefined || side.format === 'auto') {
    inspection = await readInspectionDocument(side.path);
    if (inspection) source = 'inspection';
  }
  inspection ??= requireOs(
    await inspect({
      disks: [side.path],
      format: side.format,
      options: { include_packages: opts.packages, include_services: true, include_users: true, include_security: true, include_network: false, include_storage: true },
      allowedRoots: opts.allowedRoots,
      onStage: opts.onStage,
    }),
  );
  const os = inspection.operating_systems[0];
  if (!os) throw new GuestkitError('NO_OS_FOUND', `${opts.label} ${side.path}: the inspection found no operating system`, { details: { path: side.path } });
  if (inspection.operating_systems.length > 1) {
    warnings.push(`${opts.label} has ${inspection.operating_systems.length} operating systems; the first (${os.root}) is compared`);
  }
  return { path: side.path, format: side.format, source, inspection, os, warnings };
}
