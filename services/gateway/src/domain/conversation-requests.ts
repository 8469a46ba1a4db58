import { ErrorCode, type ClientEnvelopeOf, type ServerEnvelope } from "@parley/protocol";
import type { Metrics } from "../metrics.js";
import type { Conversations } from "./conversations.js";
import { RequestError, echoId } from "./request-errors.js";
import type { Relay } from "./relay.js";
import type { Session } from "./session.js";
import type { Store } from "./ports.js";
import { feedStream } from "./topic.js";

export interface ConversationRequestsDeps {
  readonly relay: Relay;
  readonly store: Store;
  readonly conversations: Conversations;
  readonly metrics: Metrics;
  /** Sends an envelope to a session (nothing once it closed). */
  readonly send: (session: Session, env: ServerEnvelope) => void;
}

/**
 * The socket requests of conversations: `feed` (the user's feed, resumed like a room), the
 * conversation list, and `read`. Replies echo the request's `id`.
 */
export class ConversationRequests {
  constructor(private readonly deps: ConversationRequestsDeps) {}

  /** Subscribes the session to its user's feed, replaying what it missed after `since`. */
  async feed(session: Session, env: ClientEnvelopeOf<"feed">): Promise<void> {
    const id = echoId(env);
    if (session.feed !== undefined) {
      this.deps.send(session, { type: "feed", ...id, epoch: session.feed.epoch, offset: session.feed.head });
      return;
    }
    const feed = this.deps.relay.retain(feedStream(session.user));
    session.feed = feed;
    try {
      await feed.ready;
    } catch (err) {
      session.feed = undefined;
      this.deps.relay.release(feed);
      throw err;
    }
    let replay: readonly string[] = [];
    let recovered: boolean | undefined;
    if (env.since !== undefined) {
      const caught = await feed.catchUp(env.since.epoch, env.since.offset);
      replay = caught.frames;
      recovered = caught.recovered;
      this.deps.metrics.resumes.inc({ outcome: recovered ? "recovered" : "lost" });
    }
    if (session.closed || session.feed !== feed) return;
    // As for a room: nothing awaits between the replay and the subscribe.
    for (const frame of replay) session.conn.send(frame);
    this.deps.metrics.messagesDelivered.inc(replay.length);
    session.conn.subscribe(feed.topic);
    this.deps.send(session, { type: "feed", ...id, epoch: feed.epoch, offset: feed.head, ...(recovered !== undefined ? { recovered } : {}) });
  }

  /** Gives the session's feed reference back (the session closed). */
  release(session: Session): void {
    const feed = session.feed;
    if (feed === undefined) return;
    session.feed = undefined;
    this.deps.relay.release(feed);
  }

  async list(session: Session, env: ClientEnvelopeOf<"conversations">): Promise<void> {
    const conversations = await this.deps.conversations.list(session.user);
    this.deps.send(session, { type: "conversations", ...echoId(env), conversations });
  }

  async read(session: Session, env: ClientEnvelopeOf<"read">): Promise<void> {
    const { room } = env;
    if (!session.grant.mayUse(room)) throw new RequestError(ErrorCode.forbidden, `you may not use the room ${room}`);
    // The room's epoch: this node's feed knows it when someone here is in the room.
    const epoch = this.deps.relay.feed(room)?.epoch || (await this.deps.store.head(room)).epoch;
    const offset = await this.deps.conversations.read(session.user, room, epoch, env.offset);
    this.deps.send(session, { type: "read", ...echoId(env), room, user: session.user, offset });
  }
}
