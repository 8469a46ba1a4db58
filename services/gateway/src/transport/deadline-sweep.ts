/**
 * Deadlines for many items with one timer: items are kept in buckets of `tickMs` by deadline,
 * and one interval fires the buckets whose time has come. Adding and removing are O(1) (a Map
 * and a Set operation); a tick visits only the buckets of the ticks since the last one and the
 * items due in them — no scan of the items not yet due, and no
 * timer object per socket (a Node timer per socket costs an allocation, a libuv list insert and
 * a clear on every close; with 100,000 sockets the sweep is one interval). An item fires at most
 * `tickMs` late, never early.
 */
export class DeadlineSweep<T> {
  private readonly buckets = new Map<number, Set<T>>();
  private readonly bucketOf = new Map<T, number>();
  private readonly timer: NodeJS.Timeout;
  /** The last bucket fired: buckets are consecutive tick numbers. */
  private swept: number;

  constructor(
    private readonly tickMs: number,
    private readonly onDue: (item: T) => void,
    private readonly clock: () => number = Date.now,
  ) {
    this.swept = Math.floor(clock() / tickMs);
    this.timer = setInterval(() => this.sweep(), tickMs);
    this.timer.unref();
  }

  get size(): number {
    return this.bucketOf.size;
  }

  /** Schedules `item` for `deadlineMs` (epoch ms), replacing an earlier deadline. */
  add(item: T, deadlineMs: number): void {
    this.remove(item);
    // Already due: fire on the next tick.
    const bucket = Math.max(Math.ceil(deadlineMs / this.tickMs), this.swept + 1);
    let set = this.buckets.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.buckets.set(bucket, set);
    }
    set.add(item);
    this.bucketOf.set(item, bucket);
  }

  remove(item: T): void {
    const bucket = this.bucketOf.get(item);
    if (bucket === undefined) return;
    this.bucketOf.delete(item);
    const set = this.buckets.get(bucket);
    set?.delete(item);
    if (set?.size === 0) this.buckets.delete(bucket);
  }

  /** Fires every item whose deadline has passed. Runs on the timer; public for tests. */
  sweep(): void {
    const now = Math.floor(this.clock() / this.tickMs);
    while (this.swept < now) {
      this.swept += 1;
      const set = this.buckets.get(this.swept);
      if (set === undefined) continue;
      this.buckets.delete(this.swept);
      for (const item of set) {
        this.bucketOf.delete(item);
        this.onDue(item);
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
