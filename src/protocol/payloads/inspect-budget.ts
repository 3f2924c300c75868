/**
 * guestkit.inspect.v1 `options.budget`: the resources ONE inspection may use, and their defaults.
 * Kept free of zod (like inspect-options.ts) so the inspection library can use it cheaply.
 * The defaults are far above what real guests need (a full Debian inspection reads < 1 MiB in
 * ~120 reads, opens ~100 files and lists ~2,000 directory entries) and far below what a hostile
 * image can make a reader do (a pacman database of 100,000 one-MiB entries).
 */
export const INSPECT_BUDGET_DEFAULTS = {
  /** Bytes read from the image files (every disk, backing file and extent), metadata included. */
  max_image_bytes: 4 * 1024 * 1024 * 1024,
  /** Wall time of the whole inspection, seconds. */
  max_wall_seconds: 600,
  /** Directory entries listed by the collectors. */
  max_dir_entries: 1_000_000,
  /** Guest files opened (read whole or in part) by the collectors. */
  max_files_opened: 100_000,
  /** Bytes of ONE guest file read into memory (a collector's own, smaller cap still applies). */
  max_file_bytes: 512 * 1024 * 1024,
  /** Bytes of guest files read into memory by the collectors over the whole inspection. */
  max_collected_bytes: 1024 * 1024 * 1024,
} as const;

export type BudgetName = keyof typeof INSPECT_BUDGET_DEFAULTS;
export const BUDGET_NAMES = Object.keys(INSPECT_BUDGET_DEFAULTS) as BudgetName[];

/**
 * What happens when a budget is exceeded: `partial` (default) returns what was found so far,
 * marked `partial: true` with the budget in `budget_exceeded[]`; `fail` ends with BUDGET_EXCEEDED.
 */
export const BUDGET_ON_EXCEEDED = ['partial', 'fail'] as const;
export type BudgetOnExceeded = (typeof BUDGET_ON_EXCEEDED)[number];

export type InspectBudgetOptions = { [K in BudgetName]?: number } & { on_exceeded?: BudgetOnExceeded };
