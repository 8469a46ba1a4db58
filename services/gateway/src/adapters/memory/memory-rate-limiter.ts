import type { RateBucket, RateLimiter } from "../../domain/ports.js";
import type { MemoryBackend } from "./memory-backend.js";

/** Above this many live buckets, a `take` first drops the ones that are full again. */
const PRUNE_ABOVE = 10_000;

/**
 * Spends one token of `(bucket.name, key)` on the backend's shared buckets: the same GCRA
 * arithmetic as RedisRateLimiter (see there). Used by MemoryRateLimiter and by MemoryStore's
 * charged appends, so both spend from the same buckets, as they do on Redis.
 */
export function takeToken(backend: MemoryBackend, bucket: RateBucket, key: string, now: number): boolean {
  const rates = backend.rates;
  if (rates.size > PRUNE_ABOVE) {
    for (const [k, tat] of rates) if (tat <= now) rates.delete(k);
  }
  const id = `${bucket.name}:${key}`;
  const interval = 1000 / bucket.ratePerSecond;
  const tat = Math.max(rates.get(id) ?? now, now);
  if (tat - now > interval * (bucket.burst - 1)) return false;
  rates.set(id, tat + interval);
  return true;
}

/**
 * The in-process twin of RedisRateLimiter over a map on the shared MemoryBackend, so several
 * "nodes" on one backend share buckets as they would on Redis. A bucket that is full again is
 * forgotten, so memory follows the active keys only.
 */
export class MemoryRateLimiter implements RateLimiter {
  constructor(private readonly backend: MemoryBackend) {}

  take(bucket: RateBucket, key: string, now: number = Date.now()): Promise<boolean> {
    return Promise.resolve(takeToken(this.backend, bucket, key, now));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
