import type { GuestNames } from "../../domain/ports.js";
import type { ParleyRedis } from "./redis-client.js";
import type { RedisKeys } from "./redis-keys.js";

/** Guest name claims in Redis: one key per name (lua/guest-claim.lua), spread over a cluster. */
export class RedisGuestNames implements GuestNames {
  constructor(
    private readonly redis: ParleyRedis,
    private readonly keys: RedisKeys,
  ) {}

  async claim(name: string, key: string, ttlMs: number): Promise<boolean> {
    // "-" stands for a client without a key: Redis keeps no empty holder apart from a missing one.
    return Number(await this.redis.parleyGuestClaim(this.keys.guestName(name), key === "" ? "-" : key, ttlMs)) === 1;
  }
}
