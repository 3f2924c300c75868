import { z } from 'zod';
import { ImageRefSchema, OUTPUT_FORMATS } from './image.js';

/** guestkit.compare.v1 */
export const ComparePayloadSchema = z.looseObject({
  baseline: ImageRefSchema,
  target: ImageRefSchema,
  options: z
    .looseObject({
      compare_packages: z.boolean().nullish(),
      compare_files: z.boolean().nullish(),
      compare_config: z.boolean().nullish(),
      ignore_timestamps: z.boolean().nullish(),
    })
    .nullish(),
  output: z
    .looseObject({
      format: z.enum(OUTPUT_FORMATS),
      destination: z.string().min(1),
      include_recommendations: z.boolean().nullish(),
    })
    .nullish(),
});
export type ComparePayload = z.output<typeof ComparePayloadSchema>;
