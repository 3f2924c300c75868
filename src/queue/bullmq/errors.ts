import { GuestkitError } from '../../protocol/errors.js';

/**
 * Redis evicts keys under memory pressure: BullMQ would lose jobs silently. Refused at start,
 * as a configuration error (USAGE_ERROR: the CLI reports it and exits with the usage code).
 */
export class RedisEvictionPolicyError extends GuestkitError {
  readonly setting = 'maxmemory-policy';
  constructor(readonly actual: string, readonly where: string) {
    super(
      'USAGE_ERROR',
      `Redis at ${where} runs with maxmemory-policy=${actual}; the BullMQ queue needs maxmemory-policy=noeviction (an evicting Redis drops queued jobs silently). Set it in redis.conf or with CONFIG SET maxmemory-policy noeviction`,
      { phase: 'validation', details: { setting: 'maxmemory-policy', actual, expected: 'noeviction', redis: where } },
    );
    this.name = 'RedisEvictionPolicyError';
  }
}
