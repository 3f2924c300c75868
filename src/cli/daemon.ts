import type { Logger } from '../observability/logger.js';

/**
 * Runs a daemon until SIGTERM/SIGINT, with the process-wide last-resort handlers (only
 * the CLI entry installs them): a stray rejection is logged and the daemon goes on; an
 * uncaught exception is logged and the process exits (restart recovery resolves what
 * it held). A second signal exits at once.
 */
export async function runUntilSignal(daemon: { logger: Logger; shutdown(reason: string): Promise<void> }): Promise<void> {
  const { logger } = daemon;
  const onRejection = (err: unknown) => logger.error({ err: String((err as Error)?.stack ?? err) }, 'unhandled promise rejection (bug); the daemon keeps running');
  const onException = (err: Error) => {
    logger.fatal({ err: String(err?.stack ?? err) }, 'uncaught exception (bug); exiting, restart recovery resolves the claimed jobs');
    logger.flush();
    process.exit(70);
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  await new Promise<void>((resolveStop) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal: sig }, 'second signal: exiting without waiting');
        process.exit(130);
      }
      void daemon.shutdown(sig).then(resolveStop, (err: unknown) => {
        logger.error({ err: String(err) }, 'shutdown failed');
        resolveStop();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
}
