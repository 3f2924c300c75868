import { z } from 'zod';
import type { JsonValue } from '../envelope.js';

/** system.echo.v1 (alias test.echo.v1): any JSON, returned as `echo`. */
export const EchoPayloadSchema = z.unknown() as z.ZodType<JsonValue>;
export type EchoPayload = JsonValue;
