import type { RateBucket, RateLimiter } from "../../domain/ports.js";
import type { ParleyRedis } from "./redis-client.js";

/**
 * GCRA (the generic cell rate algorithm, a token bucket stored as one number): the key holds the
 * bucket's "theoretical arrival time" (TAT), in ms of the Redis server clock. A take is allowed
 * when TAT - now <= interval x (burst - 1), and moves TAT one interval on. One key per bucket,
 * written only on an allowed take and expiring when the bucket is full again, so an idle user or
 * address costs nothing. The server clock (TIME) keeps nodes with skewed clocks in agreement.
 *
 * KEYS: bucket. ARGV: interval ms (1000 / rate), burst. Returns 1 (allowed) or 0.
 */
export const RATE_TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - now > interval * (tonumber(ARGV[2]) - 1) then return 0 end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now))
return 1
`;

interface RateCommands {
  parleyRateTake(key: string, intervalMs: string, burst: number): Promise<unknown>;
}

/**
 * Shared token buckets in Redis: one script call per take, on the key's own slot (works the same
 * on Redis Cluster). Keys: `<prefix>rl:<bucket>:<key>`; user names and IP addresses hold no
 * braces, so no hash tag is formed and buckets spread over the cluster.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: ParleyRedis & RateCommands;

  constructor(
    redis: ParleyRedis,
    private readonly prefix: string,
  ) {
    // Registered here rather than in redis-client.ts: the script belongs to this adapter alone.
    redis.defineCommand("parleyRateTake", { numberOfKeys: 1, lua: RATE_TAKE });
    this.redis = redis as ParleyRedis & RateCommands;
  }

  async take(bucket: RateBucket, key: string): Promise<boolean> {
    const reply = await this.redis.parleyRateTake(`${this.prefix}rl:${bucket.name}:${key}`, String(1000 / bucket.ratePerSecond), bucket.burst);
    return Number(reply) === 1;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
