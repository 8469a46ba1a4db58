import type { Moderation } from "../../domain/ports.js";
import type { ParleyRedis } from "./redis-client.js";
import type { RedisKeys } from "./redis-keys.js";

/**
 * Bans and revocations in Redis: one key each, expiring with what it decides (PX), so nothing
 * needs cleaning up. A ban lives in its room's slot; revocations spread over the cluster.
 */
export class RedisModeration implements Moderation {
  constructor(
    private readonly redis: ParleyRedis,
    private readonly keys: RedisKeys,
  ) {}

  async ban(room: string, user: string, untilMs: number): Promise<void> {
    const ttl = Math.ceil(untilMs - Date.now());
    if (ttl <= 0) await this.redis.del(this.keys.ban(room, user));
    else await this.redis.set(this.keys.ban(room, user), String(untilMs), "PX", ttl);
  }

  async bannedUntil(room: string, user: string): Promise<number | undefined> {
    const value = await this.redis.get(this.keys.ban(room, user));
    return value === null ? undefined : Number(value);
  }

  async revokeToken(jti: string, expiresAtMs: number): Promise<void> {
    await this.redis.set(this.keys.revokedToken(jti), "1", "PX", Math.max(1, Math.ceil(expiresAtMs - Date.now())));
  }

  async revokeUserTokens(user: string, issuedBeforeMs: number, expiresAtMs: number): Promise<void> {
    await this.redis.set(this.keys.revokedUser(user), String(issuedBeforeMs), "PX", Math.max(1, Math.ceil(expiresAtMs - Date.now())));
  }

  async isRevoked(user: string, jti: string | undefined, issuedAtMs: number | undefined): Promise<boolean> {
    const [byJti, before] = await Promise.all([
      jti === undefined ? Promise.resolve(null) : this.redis.get(this.keys.revokedToken(jti)),
      this.redis.get(this.keys.revokedUser(user)),
    ]);
    if (byJti !== null) return true;
    // A token without `iat` cannot show it was issued after the cut-off: it is revoked too.
    return before !== null && (issuedAtMs === undefined || issuedAtMs < Number(before));
  }
}
