import type { ImageFormat } from './image.js';
import { ovaFormat } from './ova/image.js';
import { qcow2Format } from './qcow2/format.js';
import { rawFormat } from './raw.js';
import { vdiFormat } from './vdi/image.js';
import { vhdFormat } from './vhd/image.js';
import { vhdxFormat } from './vhdx/image.js';
import { vmdkFormat } from './vmdk/image.js';

/**
 * Every image format guestkit opens, one line each. Detection asks each
 * probe in order and tries `raw` (which accepts anything) only after all the
 * others, so the position of a line does not matter.
 */
export const FORMATS: ImageFormat[] = [
  qcow2Format,
  vmdkFormat,
  vhdFormat,
  vhdxFormat,
  vdiFormat,
  ovaFormat,
  rawFormat,
];
