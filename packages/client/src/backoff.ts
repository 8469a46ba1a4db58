export interface BackoffOptions {
  /** First retry delay ceiling, ms. */
  readonly initialMs: number;
  /** Largest delay ceiling, ms. */
  readonly maxMs: number;
}

/**
 * Exponential backoff with full jitter: the n-th retry waits a uniformly random time between 0
 * and min(max, initial * 2^n), so a crowd of clients dropped by one node does not come back in
 * one wave.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
