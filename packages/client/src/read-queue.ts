interface Waiter {
  readonly resolve: (offset: number) => void;
  readonly reject: (err: unknown) => void;
}

interface RoomReads {
  /** Reads asked while one was in flight: sent as one, of the highest offset, when it answers. */
  pending: { offset: number; readonly waiters: Waiter[] } | undefined;
}

/**
 * The app's `read` calls, at most one request in flight per room: calls made meanwhile are
 * folded into one request of the highest offset, sent when the one in flight is answered, and
 * all resolve with its stored offset. An app may call `read` for every message it shows without
 * spending a request (and the connection's request budget) on each.
 */
export class ReadQueue {
  private readonly rooms = new Map<string, RoomReads>();

  constructor(private readonly request: (room: string, offset: number) => Promise<number>) {}

  read(room: string, offset: number): Promise<number> {
    const state = this.rooms.get(room);
    if (state !== undefined) {
      return new Promise<number>((resolve, reject) => {
        state.pending ??= { offset: 0, waiters: [] };
        state.pending.offset = Math.max(state.pending.offset, offset);
        state.pending.waiters.push({ resolve, reject });
      });
    }
    const fresh: RoomReads = { pending: undefined };
    this.rooms.set(room, fresh);
    const answer = this.request(room, offset);
    void answer.then(
      () => this.next(room, fresh),
      () => this.next(room, fresh),
    );
    return answer;
  }

  private next(room: string, state: RoomReads): void {
    const batch = state.pending;
    state.pending = undefined;
    if (batch === undefined) {
      this.rooms.delete(room);
      return;
    }
    this.request(room, batch.offset).then(
      (stored) => {
        for (const waiter of batch.waiters) waiter.resolve(stored);
        this.next(room, state);
      },
      (err: unknown) => {
        for (const waiter of batch.waiters) waiter.reject(err);
        this.next(room, state);
      },
    );
  }
}
