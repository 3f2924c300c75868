import type { GuestView } from '../guest-view.js';

/**
 * YAML bytes one collector parses at most. The yaml parser needs ~25 µs per byte of
 * hostile input (unclosed flow collections, alias fans), so a guest must not be able to
 * buy minutes of CPU with a few MiB of netplan or cloud-init files. Real ones are a few KiB.
 */
export const MAX_YAML_BYTES = 128 * 1024;

/** What is left of one collector's YAML allowance. */
export interface YamlBudget {
  left: number;
}

export function yamlBudget(): YamlBudget {
  return { left: MAX_YAML_BYTES };
}

/**
 * The document of a guest YAML file, or undefined (with a warning) when it is invalid or
 * beyond the collector's budget. Parser warnings are not printed: the library prints nothing.
 */
export async function parseGuestYaml(g: GuestView, path: string, text: string, budget: YamlBudget): Promise<unknown> {
  if (text.length > budget.left) {
    g.warn(`${path}: not parsed: ${text.length} bytes of YAML exceed what is left of the ${MAX_YAML_BYTES}-byte allowance`);
    return undefined;
  }
  budget.left -= text.length;
  const { parse } = await import('yaml');
  try {
    return parse(text, { logLevel: 'silent', maxAliasCount: 100 });
  } catch (err) {
    g.warn(`${path}: invalid YAML: ${(err as Error).message.split('\n')[0]}`);
    return undefined;
  }
}
