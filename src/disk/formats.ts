import type { ImageFormat } from './image.js';
import { qcow2Format } from './qcow2/format.js';
import { rawFormat } from './raw.js';

/**
 * Every image format guestkit opens, one line each. Detection asks each
 * probe in order and tries `raw` (which accepts anything) only after all the
 * others, so the position of a line does not matter.
 */
export const FORMATS: ImageFormat[] = [
  qcow2Format,
  rawFormat,
];
