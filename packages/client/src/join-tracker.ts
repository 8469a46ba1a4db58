/**
 * Joins in flight on the current connection, by request id, the rooms already live on it, and
 * the automatic re-joins of rooms whose join failed transiently. After a reconnect nobody awaits
 * the re-joins the client makes on its own, so if one fails (`unavailable` while Redis is down)
 * and is not retried, the room silently stops delivering: this is what retries it.
 */
export class JoinTracker {
  /** Request id → room, for joins sent on the current connection and not yet answered. */
  private readonly inFlight = new Map<string, string>();
  /** Rooms answered with `subscribed` on the current connection: their stream is live. */
  private readonly live = new Set<string>();
  private readonly attempts = new Map<string, number>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();

  /** A join for `room` with request id `id` went out on the current connection. */
  sent(id: string, room: string): void {
    this.inFlight.set(id, room);
  }

  /** The room is live (`subscribed`): its joins in flight are answered; forget its failures. */
  subscribed(room: string): void {
    this.live.add(room);
    for (const [id, joining] of this.inFlight) if (joining === room) this.inFlight.delete(id);
    this.attempts.delete(room);
    this.cancel(room);
  }

  /** Whether `room` was answered with `subscribed` on the current connection. */
  isLive(room: string): boolean {
    return this.live.has(room);
  }

  /** The room was left: it is not live any more. */
  left(room: string): void {
    this.live.delete(room);
  }

  /** An error with `ref`: the room whose join in flight it answers (and settles), if any. */
  failed(ref: string): string | undefined {
    const room = this.inFlight.get(ref);
    this.inFlight.delete(ref);
    return room;
  }

  /** Runs `rejoin` after the backoff delay for this room's next attempt. */
  retryLater(room: string, delayFor: (attempt: number) => number, rejoin: () => void): void {
    const attempt = this.attempts.get(room) ?? 0;
    this.attempts.set(room, attempt + 1);
    this.cancel(room);
    this.timers.set(
      room,
      setTimeout(() => {
        this.timers.delete(room);
        rejoin();
      }, delayFor(attempt)),
    );
  }

  /** The connection is gone: its joins will never be answered (the next one re-joins all). */
  connectionLost(): void {
    this.inFlight.clear();
    this.live.clear();
    for (const room of [...this.timers.keys()]) this.cancel(room);
  }

  private cancel(room: string): void {
    const timer = this.timers.get(room);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(room);
  }
}
