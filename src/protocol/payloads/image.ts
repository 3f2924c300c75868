import { z } from 'zod';

/** `image.format` values; `auto` means "detect by magic bytes". */
export const IMAGE_FORMATS = ['raw', 'img', 'qcow2', 'vmdk', 'vdi', 'vhd', 'vhdx', 'ova', 'auto'] as const;
export type ImageFormatName = (typeof IMAGE_FORMATS)[number];

const CHECKSUM = /^(?:sha256:)?[0-9a-fA-F]{64}$/;

/** True for `sha256:<hex64>` or bare hex64. */
export function isWellFormedChecksum(s: string): boolean {
  return CHECKSUM.test(s);
}

/** The expected SHA-256 as lower-case hex, or null when the checksum is malformed. */
export function checksumHex(s: string): string | null {
  return CHECKSUM.test(s) ? s.replace(/^sha256:/, '').toLowerCase() : null;
}

/**
 * `checksum` is only typed as a string: the earlier worker's own examples carry
 * placeholders ("sha256:abc123..."), which must still validate. A malformed one
 * is a warning here and fails the job later with IMAGE_CHECKSUM_MISMATCH.
 */
export const ImageRefSchema = z.looseObject({
  path: z.string().min(1),
  format: z.enum(IMAGE_FORMATS),
  checksum: z.string().nullish(),
  size_bytes: z.int().min(0).nullish(),
  read_only: z.boolean().default(true),
});
export type ImageRef = z.output<typeof ImageRefSchema>;

export const OUTPUT_FORMATS = ['json', 'yaml'] as const;

/** `output` blocks of the report-writing operations. */
export const OutputSchema = z.looseObject({
  format: z.enum(OUTPUT_FORMATS),
  destination: z.string().min(1),
  compression: z.string().nullish(),
});
