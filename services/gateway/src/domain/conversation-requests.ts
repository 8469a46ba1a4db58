import { ErrorCode, type ClientEnvelopeOf } from "@parley/protocol";
import type { Conversations } from "./conversations.js";
import { RequestError, echoId } from "./request-errors.js";
import type { Relay } from "./relay.js";
import type { Session } from "./session.js";
import type { Store } from "./ports.js";
import type { Replies } from "./session-replies.js";
import type { SharedLimits } from "./shared-limits.js";
import type { StreamEntry } from "./stream-entry.js";
import { feedStream } from "./topic.js";

export interface ConversationRequestsDeps {
  readonly relay: Relay;
  readonly store: Store;
  readonly conversations: Conversations;
  readonly streams: StreamEntry;
  readonly replies: Replies;
  readonly shared: SharedLimits;
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
      this.deps.replies.send(session, { type: "feed", ...id, epoch: session.feed.epoch, offset: session.feed.head });
      return;
    }
    const entered = await this.deps.streams.enter(session, feedStream(session.user), env.since, {
      take: (feed) => {
        session.feed = feed;
      },
      undo: () => {
        session.feed = undefined;
      },
      held: (feed) => session.feed === feed,
    });
    if (entered === undefined) return;
    const { epoch, offset, recovered } = entered;
    this.deps.replies.send(session, { type: "feed", ...id, epoch, offset, ...(recovered !== undefined ? { recovered } : {}) });
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
    this.deps.replies.send(session, { type: "conversations", ...echoId(env), conversations });
  }

  async read(session: Session, env: ClientEnvelopeOf<"read">): Promise<void> {
    const { room } = env;
    if (!session.grant.mayUse(room)) throw new RequestError(ErrorCode.forbidden, `you may not use the room ${room}`);
    // The room's epoch and newest offset: this node's feed knows them when someone here is in the
    // room. A read past the newest message is stored as the newest, or messages not written yet
    // would count as read when they arrive; only a request past what this node has delivered
    // costs a head query.
    const feed = this.deps.relay.feed(room);
    const known = feed !== undefined && feed.epoch !== "" && env.offset <= feed.head ? { epoch: feed.epoch, offset: feed.head } : undefined;
    const { epoch, offset: newest } = known ?? (await this.deps.store.head(room));
    const offset = Math.min(env.offset, newest);
    const user = session.user;
    const charge = async (): Promise<void> => {
      if (!(await this.deps.shared.allowUser(user))) throw new RequestError(ErrorCode.rateLimited, "slow down: too many requests from this user");
    };
    // Not awaited: a read folded into the next write waits up to the coalescing window, and the
    // session's other requests (its sends) must not wait behind it. The reply names its request.
    this.deps.conversations.read(user, room, epoch, offset, charge).then(
      (offset) => this.deps.replies.send(session, { type: "read", ...echoId(env), room, user, offset }),
      (err: unknown) => {
        if (!session.closed) this.deps.replies.failed(session, env, err);
      },
    );
  }
}
