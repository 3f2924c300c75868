import { z } from 'zod';
import { ImageRefSchema } from './image.js';

/** guestkit.fix.v1 */
export const FixPayloadSchema = z.looseObject({
  image: ImageRefSchema.extend({
    create_backup: z.boolean().nullish(),
    backup_path: z.string().nullish(),
  }),
  operations: z
    .array(
      z.looseObject({
        type: z.string().min(1),
        options: z.record(z.string(), z.unknown()).nullish(),
      }),
    )
    .min(1),
  execution_policy: z
    .looseObject({
      stop_on_error: z.boolean().nullish(),
      validate_before_commit: z.boolean().nullish(),
    })
    .nullish(),
  output: z
    .looseObject({
      fixed_image: z.string().nullish(),
      log_path: z.string().nullish(),
      report_format: z.string().nullish(),
    })
    .nullish(),
});
export type FixPayload = z.output<typeof FixPayloadSchema>;
