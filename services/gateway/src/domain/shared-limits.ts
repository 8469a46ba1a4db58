import type { Logger } from "pino";
import type { LimitsConfig } from "../config.js";
import type { Metrics } from "../metrics.js";
import type { RateBucket, RateCharge, RateLimiter } from "./ports.js";

/**
 * The cluster-wide rate buckets, over the RateLimiter port: per user (every WebSocket request
 * after the per-connection bucket let it through) and per client address (upgrades and /api
 * requests). A rate of 0 turns a bucket off. When the backend cannot answer, the request is let
 * through (fail open) and counted as a relay error: the per-connection bucket, the connection
 * limits and Redis's own unavailability still bound what one client can do, and a limiter outage
 * must not take chat down with it.
 */
export class SharedLimits {
  private readonly user: RateBucket | undefined;
  private readonly address: RateBucket | undefined;

  constructor(
    private readonly limiter: RateLimiter,
    limits: LimitsConfig,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.user = limits.userRatePerSecond > 0 ? { name: "user", ratePerSecond: limits.userRatePerSecond, burst: limits.userRateBurst } : undefined;
    this.address = limits.ipRatePerSecond > 0 ? { name: "ip", ratePerSecond: limits.ipRatePerSecond, burst: limits.ipRateBurst } : undefined;
  }

  /** Whether per-address checks are on (callers can then stay synchronous when they are not). */
  get checksAddresses(): boolean {
    return this.address !== undefined;
  }

  allowUser(user: string): Promise<boolean> {
    return this.take(this.user, user);
  }

  /**
   * The user's token as a charge for a store append (a `send` or `dm`): the store takes it in
   * the same step as the append, so a message costs one backend round trip, not two. Unlike
   * `allowUser`, a backend that cannot answer fails the send (it could not be stored either).
   */
  userCharge(user: string): RateCharge | undefined {
    return this.user === undefined ? undefined : { bucket: this.user, key: user };
  }

  /** Counts a request refused by a charge (see `userCharge`). */
  countLimited(charge: RateCharge): void {
    this.metrics.sharedRateLimited.inc({ bucket: charge.bucket.name });
  }

  allowAddress(address: string): Promise<boolean> {
    return this.take(this.address, address);
  }

  /** One token of any shared bucket (the server API's per-key bucket), failing open like the others. */
  allow(bucket: RateBucket, key: string): Promise<boolean> {
    return this.take(bucket, key);
  }

  private async take(bucket: RateBucket | undefined, key: string): Promise<boolean> {
    if (bucket === undefined) return true;
    let allowed: boolean;
    try {
      allowed = await this.limiter.take(bucket, key);
    } catch (err) {
      this.metrics.relayErrors.inc({ op: "ratelimit" });
      this.log.warn({ err, bucket: bucket.name }, "rate limiter unavailable; letting the request through");
      return true;
    }
    if (!allowed) this.metrics.sharedRateLimited.inc({ bucket: bucket.name });
    return allowed;
  }
}
