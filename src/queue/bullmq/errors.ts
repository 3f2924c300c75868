/** Redis evicts keys under memory pressure: BullMQ would lose jobs silently. Refused at start. */
export class RedisEvictionPolicyError extends Error {
  readonly setting = 'maxmemory-policy';
  constructor(readonly actual: string, readonly where: string) {
    super(`Redis at ${where} runs with maxmemory-policy=${actual}; the BullMQ queue needs maxmemory-policy=noeviction (an evicting Redis drops queued jobs silently). Set it in redis.conf or with CONFIG SET maxmemory-policy noeviction`);
    this.name = 'RedisEvictionPolicyError';
  }
}
