import type { RateBucket, RateLimiter } from "../../domain/ports.js";
import type { ParleyRedis } from "./redis-client.js";
import type { RedisKeys } from "./redis-keys.js";
import { loadScript } from "./redis-scripts.js";

interface RateCommands {
  parleyRateTake(key: string, intervalMs: string, burst: number): Promise<unknown>;
}

/** The interval between tokens, in ms, as the GCRA scripts take it. */
export function tokenIntervalMs(bucket: RateBucket): string {
  return String(1000 / bucket.ratePerSecond);
}

/**
 * Shared token buckets in Redis (GCRA, see lua/lib/gcra.lua): one script call per take, on the
 * key's own slot (works the same on Redis Cluster). Keys: `RedisKeys.rate`; user names and IP
 * addresses hold no braces, so no hash tag is formed and buckets spread over the cluster.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: ParleyRedis & RateCommands;

  constructor(
    redis: ParleyRedis,
    private readonly keys: RedisKeys,
  ) {
    // Registered here rather than in redis-client.ts: only this adapter takes tokens on their own.
    const { numberOfKeys, lua } = loadScript("rate-take");
    redis.defineCommand("parleyRateTake", { numberOfKeys, lua });
    this.redis = redis as ParleyRedis & RateCommands;
  }

  async take(bucket: RateBucket, key: string): Promise<boolean> {
    const reply = await this.redis.parleyRateTake(this.keys.rate(bucket.name, key), tokenIntervalMs(bucket), bucket.burst);
    return Number(reply) === 1;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
