/** An image reference as stores record it: repo[:tag][@digest] (a port in the registry host is not a tag). */
export function splitReference(ref: string): { repository: string; tag?: string; digest?: string } {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/') && colon > 0) {
    return { repository: rest.slice(0, colon), tag: rest.slice(colon + 1), ...(digest ? { digest } : {}) };
  }
  return { repository: rest, ...(digest ? { digest } : {}) };
}

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON text, or a warning and undefined. */
export function parseJson(text: string, path: string, warn: (m: string) => void): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    warn(`${path}: not JSON (${(err as Error).message})`);
    return undefined;
  }
}

/** Store metadata files stay small; a node with thousands of images has a few MiB. */
export const MAX_STORE_JSON = 32 * 1024 * 1024;
