import { Option } from 'commander';

/** What `-f, --format` accepts (`img` is raw by another name; `auto` detects by magic bytes). */
export const INPUT_FORMATS = ['auto', 'raw', 'img', 'qcow2', 'vmdk', 'vhd', 'vhdx', 'vdi', 'ova'] as const;

/**
 * `-f, --format <format>`: an unknown value is a parse error (USAGE_ERROR, exit 2, the allowed
 * values listed) before any image is opened.
 */
export function formatOption(description = 'stated image format; must match the magic bytes'): Option {
  return new Option('-f, --format <format>', description).choices(INPUT_FORMATS);
}
