/**
 * At most one flush per key per window, carrying the highest value offered meanwhile: the first
 * offer of a quiet key flushes at once, later ones within the window are folded into one flush
 * at the window's end. Used for read positions and receipts, which only ever move forward.
 */
export class Coalescer {
  private readonly keys = new Map<string, { last: number; pending: number | undefined; timer: NodeJS.Timeout | undefined }>();

  constructor(
    private readonly windowMs: number,
    private readonly flush: (key: string, value: number) => Promise<void>,
  ) {}

  offer(key: string, value: number): void {
    const now = Date.now();
    const entry = this.keys.get(key);
    if (entry === undefined || (entry.timer === undefined && now - entry.last >= this.windowMs)) {
      this.keys.set(key, { last: now, pending: undefined, timer: undefined });
      void this.flush(key, value);
      this.forgetLater(key);
      return;
    }
    entry.pending = Math.max(entry.pending ?? 0, value);
    entry.timer ??= setTimeout(() => {
      entry.timer = undefined;
      const pending = entry.pending;
      entry.pending = undefined;
      entry.last = Date.now();
      if (pending !== undefined) void this.flush(key, pending);
      this.forgetLater(key);
    }, Math.max(0, this.windowMs - (now - entry.last)));
  }

  /** A key quiet for a whole window needs no entry: the next offer flushes at once anyway. */
  private forgetLater(key: string): void {
    const timer = setTimeout(() => {
      const entry = this.keys.get(key);
      if (entry !== undefined && entry.timer === undefined && Date.now() - entry.last >= this.windowMs) this.keys.delete(key);
    }, this.windowMs + 10);
    timer.unref();
  }

  /** Flushes everything pending now (shutdown). */
  async drain(): Promise<void> {
    const flushes: Promise<void>[] = [];
    for (const [key, entry] of this.keys) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      entry.timer = undefined;
      if (entry.pending !== undefined) flushes.push(this.flush(key, entry.pending));
      entry.pending = undefined;
    }
    await Promise.all(flushes);
  }
}
