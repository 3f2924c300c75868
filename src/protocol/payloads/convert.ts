import { z } from 'zod';
import { ImageRefSchema } from './image.js';

/** Formats a conversion can write (no `auto`, no `ova`). */
export const CONVERT_TARGET_FORMATS = ['raw', 'img', 'qcow2', 'vmdk', 'vdi', 'vhd', 'vhdx'] as const;

/** guestkit.convert.v1 */
export const ConvertPayloadSchema = z.looseObject({
  source: ImageRefSchema,
  target: z.looseObject({
    path: z.string().min(1),
    format: z.enum(CONVERT_TARGET_FORMATS),
    compression: z.boolean().nullish(),
    compression_type: z.enum(['zlib', 'zstd']).nullish(),
  }),
  options: z
    .looseObject({
      verify_after_convert: z.boolean().nullish(),
      preserve_sparse: z.boolean().nullish(),
    })
    .nullish(),
});
export type ConvertPayload = z.output<typeof ConvertPayloadSchema>;
