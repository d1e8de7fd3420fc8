import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * A fleet-wide cap on concurrent uploads, so thousands of agents starting a
 * scheduled run together do not saturate the storage's bandwidth. Acquiring
 * returns the release function.
 */
export interface UploadSlots {
  acquire(signal: AbortSignal): Promise<() => Promise<void>>;
}

export class UnlimitedUploadSlots implements UploadSlots {
  async acquire(): Promise<() => Promise<void>> {
    return async () => {};
  }
}

/**
 * Takes a slot when fewer than `limit` holders have an unexpired lease, in one
 * atomic step, with the time from Redis itself so agents' clocks do not matter.
 */
const ACQUIRE_SCRIPT = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], nowMs + tonumber(ARGV[2]), ARGV[3])
  return 1
end
return 0
`;

const RENEW_SCRIPT = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
return redis.call('ZADD', KEYS[1], 'XX', nowMs + tonumber(ARGV[1]), ARGV[2])
`;

/**
 * Upload slots shared by every agent of a deployment through one Redis
 * sorted set. A holder renews its lease while it uploads. The lease of an
 * agent that died runs out, so a crash never leaks a slot for longer than one lease.
 */
export class RedisUploadSlots implements UploadSlots {
  readonly #key: string;

  constructor(
    private readonly redis: Redis,
    queuePrefix: string,
    private readonly limit: number,
    private readonly leaseMs = 30_000,
    private readonly pollMs = 250,
  ) {
    this.#key = `${queuePrefix}:cargohold:upload-slots`;
  }

  async acquire(signal: AbortSignal): Promise<() => Promise<void>> {
    const token = randomBytes(8).toString("hex");
    while ((await this.redis.eval(ACQUIRE_SCRIPT, 1, this.#key, this.limit, this.leaseMs, token)) !== 1) {
      signal.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
    const renewal = setInterval(() => {
      this.redis.eval(RENEW_SCRIPT, 1, this.#key, this.leaseMs, token).catch(() => undefined);
    }, this.leaseMs / 3);
    renewal.unref();
    return async () => {
      clearInterval(renewal);
      await this.redis.zrem(this.#key, token);
    };
  }
}
