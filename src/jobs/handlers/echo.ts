import { EchoPayloadSchema } from '../../protocol/payloads/echo.js';
import { defineHandler } from '../types.js';

/** system.echo: returns the payload data as `echo`. Inline: it touches no image and cannot hang. */
export const echoHandler = defineHandler(EchoPayloadSchema, {
  operation: 'system.echo',
  aliases: ['test.echo'],
  isolation: 'inline',
  async run(ctx, data) {
    ctx.progress({ phase: 'result_generation', progress_percent: 50, message: 'echoing payload' });
    return { data: { echo: data } };
  },
});
