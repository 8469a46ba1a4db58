/** How long read positions gather before they are sent: scrolling through a busy room sends one. */
const FLUSH_AFTER_MS = 300;

/**
 * Tells the server how far this user has read, coalesced: per room only the highest offset
 * marked within a short window is sent, and never one the server already has from us.
 */
export class ReadMarker {
  private readonly waiting = new Map<string, number>();
  private readonly sent = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly send: (room: string, offset: number) => Promise<unknown>) {}

  mark(room: string, offset: number): void {
    if (offset <= Math.max(this.sent.get(room) ?? 0, this.waiting.get(room) ?? 0)) return;
    this.waiting.set(room, offset);
    this.timer ??= setTimeout(() => this.flush(), FLUSH_AFTER_MS);
  }

  /** A read position that came from elsewhere (another tab): no need to send it again. */
  known(room: string, offset: number): void {
    if (offset > (this.sent.get(room) ?? 0)) this.sent.set(room, offset);
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    for (const [room, offset] of this.waiting) {
      this.waiting.delete(room);
      this.sent.set(room, Math.max(offset, this.sent.get(room) ?? 0));
      this.send(room, offset).catch(() => {
        // Not stored (offline, refused): forget it was sent, so the next mark tries again.
        if (this.sent.get(room) === offset) this.sent.delete(room);
      });
    }
  }
}
