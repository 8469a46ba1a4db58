/*
 * "Deliver this message to everyone but one session": the server API's `publish` with `skip`
 * (the sender's own tab, which showed its message already). The answering node publishes this
 * notice on the room's relay topic right before the append, so every node with members of the
 * room reads it before the message (one Redis connection delivers a channel's publications in
 * order). The node holding the session sends that socket the message's `ack` instead of the
 * `msg` (the position it needs, like for its own send); every other member gets the `msg`.
 * A node that missed the notice (a relay reconnect between the two) delivers the `msg` to the
 * session too: skipping is best effort, delivery is not.
 */
export const SKIP_TYPE = "@skip";

export interface SkipNotice {
  /** The message's cid (the publish's idempotency key). */
  readonly cid: string;
  /** The session (`welcome.session`) that gets the `ack` instead. */
  readonly session: string;
}

export function skipNoticeFrame(notice: SkipNotice): string {
  return JSON.stringify({ type: SKIP_TYPE, cid: notice.cid, session: notice.session });
}

/** A skip notice read from a publication's JSON value, or undefined when it is not one. */
export function readSkipNotice(value: { readonly type?: unknown }): SkipNotice | undefined {
  if (value.type !== SKIP_TYPE) return undefined;
  const v = value as Record<string, unknown>;
  return typeof v.cid === "string" && typeof v.session === "string" ? { cid: v.cid, session: v.session } : undefined;
}

/** How many notices a room feed keeps waiting for their message, and for how long. */
const MAX_PENDING = 256;
const PENDING_MS = 60_000;

/** A room feed's notices waiting for their message, bounded in count and age. */
export class PendingSkips {
  private readonly byCid = new Map<string, { readonly session: string; readonly at: number }>();

  get size(): number {
    return this.byCid.size;
  }

  add(notice: SkipNotice, now = Date.now()): void {
    for (const [cid, entry] of this.byCid) {
      if (this.byCid.size < MAX_PENDING && now - entry.at < PENDING_MS) break;
      this.byCid.delete(cid);
    }
    this.byCid.set(notice.cid, { session: notice.session, at: now });
  }

  /** The session to skip for this cid, taken out (a notice applies to one message). */
  take(cid: string): string | undefined {
    const entry = this.byCid.get(cid);
    if (entry === undefined) return undefined;
    this.byCid.delete(cid);
    return entry.session;
  }
}
