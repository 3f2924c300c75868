import type { z } from 'zod';
import { EchoPayloadSchema } from './echo.js';
import { InspectPayloadSchema } from './inspect.js';
import { ProfilePayloadSchema } from './profile.js';
import { ComparePayloadSchema } from './compare.js';
import { ConvertPayloadSchema } from './convert.js';
import { FixPayloadSchema } from './fix.js';

export interface OperationSpec {
  operation: string;
  /** The payload types this version accepts for it. */
  payloadTypes: readonly string[];
  schema: z.ZodType;
  /** Operations that are another name for this one (handled by the same handler). */
  aliasOf?: string;
}

export const OPERATIONS: readonly OperationSpec[] = [
  { operation: 'system.echo', payloadTypes: ['system.echo.v1'], schema: EchoPayloadSchema },
  { operation: 'test.echo', payloadTypes: ['test.echo.v1'], schema: EchoPayloadSchema, aliasOf: 'system.echo' },
  { operation: 'guestkit.inspect', payloadTypes: ['guestkit.inspect.v1'], schema: InspectPayloadSchema },
  { operation: 'guestkit.profile', payloadTypes: ['guestkit.profile.v1'], schema: ProfilePayloadSchema },
  { operation: 'guestkit.compare', payloadTypes: ['guestkit.compare.v1'], schema: ComparePayloadSchema },
  { operation: 'guestkit.convert', payloadTypes: ['guestkit.convert.v1'], schema: ConvertPayloadSchema },
  { operation: 'guestkit.fix', payloadTypes: ['guestkit.fix.v1'], schema: FixPayloadSchema },
];

const BY_NAME = new Map(OPERATIONS.map((o) => [o.operation, o]));

export function operationSpec(operation: string): OperationSpec | undefined {
  return BY_NAME.get(operation);
}

/** The handler name behind an operation: `test.echo` → `system.echo`; unknown names are returned unchanged. */
export function canonicalOperation(operation: string): string {
  return BY_NAME.get(operation)?.aliasOf ?? operation;
}

export const KNOWN_OPERATIONS: readonly string[] = OPERATIONS.map((o) => o.operation);
