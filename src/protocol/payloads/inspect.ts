import { z } from 'zod';
import { ImageRefSchema, OUTPUT_FORMATS, OutputSchema } from './image.js';
import { BUDGET_NAMES, BUDGET_ON_EXCEEDED, INSPECT_BUDGET_DEFAULTS } from './inspect-budget.js';
import { INSPECT_OPTION_DEFAULTS } from './inspect-options.js';

export { INSPECT_OPTION_DEFAULTS } from './inspect-options.js';

const d = INSPECT_OPTION_DEFAULTS;

/** options.budget: every key optional, no defaults filled in (the worker's ceilings apply; old job files validate unchanged). */
export const InspectBudgetSchema = z
  .strictObject({
    ...Object.fromEntries(BUDGET_NAMES.map((n) => [n, z.number().positive().optional().describe(`default ${INSPECT_BUDGET_DEFAULTS[n]}; never above the worker's ceiling`)])),
    on_exceeded: z.enum(BUDGET_ON_EXCEEDED).optional().describe('partial (default): return what was found, marked partial; fail: BUDGET_EXCEEDED'),
  })
  .describe('resources one inspection may use (docs/inspection.md, "Budgets")');
export const InspectOptionsSchema = z.looseObject({
  deep_scan: z.boolean().default(d.deep_scan),
  include_packages: z.boolean().default(d.include_packages),
  include_services: z.boolean().default(d.include_services),
  include_users: z.boolean().default(d.include_users),
  include_network: z.boolean().default(d.include_network),
  include_security: z.boolean().default(d.include_security),
  include_storage: z.boolean().default(d.include_storage),
  include_databases: z.boolean().default(d.include_databases),
  // guestkit's own addition, without a default so job documents of the Rust worker validate to the same options
  include_vulnerabilities: z.boolean().optional().describe('match installed packages against the worker\'s OSV advisory database (result.vulnerabilities)'),
  budget: InspectBudgetSchema.optional(),
});

/** inspect's report formats: the seed's json and yaml, or the inspection as an SBOM (CycloneDX 1.6, SPDX 2.3 JSON). */
export const INSPECT_OUTPUT_FORMATS = [...OUTPUT_FORMATS, 'cyclonedx', 'spdx'] as const;

/** guestkit.inspect.v1 */
export const InspectPayloadSchema = z.looseObject({
  image: ImageRefSchema,
  options: InspectOptionsSchema.prefault({}),
  output: OutputSchema.extend({ format: z.enum(INSPECT_OUTPUT_FORMATS) }).nullish(),
});
export type InspectOptions = z.output<typeof InspectOptionsSchema>;
export type InspectPayload = z.output<typeof InspectPayloadSchema>;
