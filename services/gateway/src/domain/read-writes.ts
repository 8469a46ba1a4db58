/** Stores a read position; resolves with the stored offset (at least the one given). */
export type ReadWrite = (user: string, room: string, epoch: string, offset: number) => Promise<number>;

interface Waiter {
  readonly resolve: (offset: number) => void;
  readonly reject: (err: unknown) => void;
}

interface KeyState {
  readonly user: string;
  readonly room: string;
  readonly epoch: string;
  /** The highest offset this node has stored for the key (0: none yet). */
  stored: number;
  /** When the last write started, ms. */
  lastWrite: number;
  /** A write (or the charge before it) is under way. */
  busy: boolean;
  /** Requests folded into the next write: the highest offset asked, and who waits for it. */
  pending: { offset: number; readonly waiters: Waiter[] } | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Explicit `read` requests, coalesced per user, room and epoch, so a client that marks every
 * message it shows as read costs at most one Redis write per key per window however fast it
 * reads: the first request of a quiet key writes at once; requests within the window after a
 * write are folded into one write at the window's end, of the highest offset asked, and each is
 * answered with that write's stored offset. A request at or below what this node already stored
 * is answered at once with no write at all. Read positions only move forward, so folding never
 * loses one; each answer is the stored offset, at least the one its request asked for.
 */
export class ReadWrites {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly windowMs: number,
    private readonly write: ReadWrite,
  ) {}

  /**
   * `charge` runs before a request that starts a write of its own (the user's cluster-wide
   * bucket); a request folded into another write, or answered from what is stored, costs none.
   */
  async request(user: string, room: string, epoch: string, offset: number, charge: () => Promise<void>): Promise<number> {
    const key = `${user}\n${room}\n${epoch}`;
    let state = this.keys.get(key);
    if (state === undefined) {
      state = { user, room, epoch, stored: 0, lastWrite: 0, busy: false, pending: undefined, timer: undefined };
      this.keys.set(key, state);
    }
    if (offset <= state.stored) return state.stored;
    if (state.busy || state.timer !== undefined || Date.now() - state.lastWrite < this.windowMs) return this.fold(key, state, offset);
    state.busy = true;
    state.lastWrite = Date.now();
    try {
      await charge();
      return await this.writeNow(state, offset);
    } finally {
      state.busy = false;
      this.schedule(key, state);
    }
  }

  private fold(key: string, state: KeyState, offset: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      state.pending ??= { offset: 0, waiters: [] };
      state.pending.offset = Math.max(state.pending.offset, offset);
      state.pending.waiters.push({ resolve, reject });
      this.schedule(key, state);
    });
  }

  /** Plans the write of what is pending at the window's end; forgets a key quiet for a window. */
  private schedule(key: string, state: KeyState): void {
    if (state.busy || state.timer !== undefined) return;
    const delay = Math.max(0, state.lastWrite + this.windowMs - Date.now());
    if (state.pending === undefined) {
      state.timer = setTimeout(() => {
        state.timer = undefined;
        if (!state.busy && state.pending === undefined) this.keys.delete(key);
        else this.schedule(key, state);
      }, delay);
      state.timer.unref();
      return;
    }
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.flush(key, state);
    }, delay);
  }

  private async flush(key: string, state: KeyState): Promise<void> {
    const batch = state.pending;
    state.pending = undefined;
    if (batch === undefined) return;
    state.busy = true;
    state.lastWrite = Date.now();
    try {
      const stored = batch.offset <= state.stored ? state.stored : await this.writeNow(state, batch.offset);
      for (const waiter of batch.waiters) waiter.resolve(stored);
    } catch (err) {
      for (const waiter of batch.waiters) waiter.reject(err);
    } finally {
      state.busy = false;
      this.schedule(key, state);
    }
  }

  private async writeNow(state: KeyState, offset: number): Promise<number> {
    const stored = await this.write(state.user, state.room, state.epoch, offset);
    state.stored = Math.max(state.stored, stored);
    return stored;
  }

  /** Writes everything pending now (shutdown). */
  async drain(): Promise<void> {
    const flushes: Promise<void>[] = [];
    for (const [key, state] of this.keys) {
      if (state.timer !== undefined) clearTimeout(state.timer);
      state.timer = undefined;
      if (state.pending !== undefined && !state.busy) flushes.push(this.flush(key, state));
    }
    await Promise.all(flushes);
  }
}
