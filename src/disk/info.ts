import type { ImageDevice, ImageInfo } from './image.js';

/**
 * `qemu-img info --output=json`-like facts (underscored keys; see
 * docs/image-info.md): the top image, plus `backing_chain` listing it and
 * every backing file below it, top first.
 */
export function imageInfo(dev: ImageDevice): ImageInfo {
  const top = dev.info();
  if (!dev.backing) return top;
  const chain: ImageInfo[] = [];
  // Bounded by the chain depth openImage already enforced; the guard stops a cyclic object graph.
  for (let d: ImageDevice | undefined = dev; d && chain.length < 1024; d = d.backing) {
    chain.push(d.info());
  }
  return { ...top, backing_chain: chain };
}

/** Human text like `qemu-img info`. */
export function formatInfoText(info: ImageInfo): string {
  const lines: string[] = [];
  const one = (i: ImageInfo) => {
    lines.push(`image: ${i.filename}`);
    lines.push(`file format: ${i.format}`);
    lines.push(`virtual size: ${human(i.virtual_size)} (${i.virtual_size} bytes)`);
    lines.push(`disk size: ${human(i.actual_size)}`);
    if (i.cluster_size !== undefined) lines.push(`cluster_size: ${i.cluster_size}`);
    if (i.backing_filename !== undefined) lines.push(`backing file: ${i.backing_filename}`);
    if (i.backing_format !== undefined) lines.push(`backing file format: ${i.backing_format}`);
    const fs = i.format_specific as { type?: string; data?: Record<string, unknown> } | undefined;
    if (fs?.data && Object.keys(fs.data).length > 0) {
      lines.push('Format specific information:');
      for (const [k, v] of Object.entries(fs.data)) lines.push(`    ${k.replace(/_/g, ' ')}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    }
  };
  const chain = info.backing_chain ?? [info];
  chain.forEach((i, n) => {
    if (n > 0) lines.push('');
    one(i);
  });
  return lines.join('\n') + '\n';
}

function human(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${Number(v.toFixed(2))} ${units[u]}`;
}

/** Adds the backing_* keys of an image that names a parent (whether or not it was opened). */
export function addBacking(info: ImageInfo & { full_backing_filename?: string }, stored: string | undefined, full: string | undefined, format: string | undefined): ImageInfo {
  if (stored !== undefined) info.backing_filename = stored;
  if (full !== undefined) info.full_backing_filename = full;
  if (format !== undefined) info.backing_format = format;
  return info;
}

/** `format_specific` as the info contract shapes it: the format's name and its facts. */
export function formatSpecific(type: string, data: Record<string, unknown>): { type: string; data: Record<string, unknown> } {
  for (const k of Object.keys(data)) if (data[k] === undefined) delete data[k];
  return { type, data };
}
