import { ErrorCode, dmMembers, encodeAck, type ClientEnvelopeOf } from "@parley/protocol";
import type { LimitsConfig } from "../config.js";
import type { Metrics } from "../metrics.js";
import type { Conversations } from "./conversations.js";
import type { Appended, RateCharge, Store } from "./ports.js";
import type { PublishScreen } from "./publish-hook.js";
import type { Relay } from "./relay.js";
import { RequestError } from "./request-errors.js";
import { assertMayAccess } from "./room-requests.js";
import type { Session } from "./session.js";
import type { Replies } from "./session-replies.js";
import type { SharedLimits } from "./shared-limits.js";

export interface MessagePostingDeps {
  readonly store: Store;
  readonly relay: Relay;
  readonly conversations: Conversations;
  readonly shared: SharedLimits;
  readonly limits: LimitsConfig;
  readonly metrics: Metrics;
  readonly replies: Replies;
  /** The application's publish hook, when one is configured: asked before a client's message is stored. */
  readonly screen: PublishScreen | undefined;
}

/** The send path: a client's `send`/`dm` and the server API's publish store a message the same way. */
export class MessagePosting {
  constructor(private readonly deps: MessagePostingDeps) {}

  /** A client's `send` or `dm` (already resolved to its `room`), acknowledged once stored. */
  async post(session: Session, env: ClientEnvelopeOf<"send" | "dm">, room: string): Promise<void> {
    const { text, cid } = env;
    if (dmMembers(room) === undefined && !session.rooms.has(room)) {
      throw new RequestError(ErrorCode.notJoined, `join ${room} before sending to it`);
    }
    assertMayAccess(session, room);
    if (text.length > this.deps.limits.maxTextLength) {
      throw new RequestError(ErrorCode.tooLarge, `text is longer than ${this.deps.limits.maxTextLength} characters`);
    }
    // The application may allow, reject (a coded error, thrown) or rewrite the message first.
    const stored = this.deps.screen === undefined ? text : await this.deps.screen.screen({ room, from: session.user, text, cid });
    const charge = this.deps.shared.userCharge(session.user);
    const appended = await this.append(room, session.user, stored, cid, charge);
    if (appended.limited && charge !== undefined) {
      this.deps.shared.countLimited(charge);
      this.deps.replies.rejectUserRate(session, env);
      return;
    }
    this.deps.replies.sendRaw(session, encodeAck({ cid, room, epoch: appended.epoch, offset: appended.offset }));
  }

  /**
   * The one way a message is stored, for client sends and the server API alike: the store's
   * atomic append (offset, history, idempotency by (sender, cid), publish), then a DM's inbox
   * shards.
   */
  async append(room: string, from: string, text: string, cid: string, charge: RateCharge | undefined): Promise<Appended> {
    const appended = await this.deps.store.append({ room, from, text, cid, ts: Date.now(), ...(charge !== undefined ? { charge } : {}) });
    if (!appended.duplicate && !appended.limited) {
      this.deps.metrics.messagesStored.inc();
      const pair = dmMembers(room);
      if (pair !== undefined && appended.frame !== undefined) {
        // Old clients' tabs that read no feed and have not joined the DM room get DMs here.
        await this.deps.relay.publishToInboxes(pair, appended.frame);
      }
    }
    // Membership, feeds and mentions before the ack (also for a retry: each step is idempotent).
    if (!appended.limited) await this.deps.conversations.posted(from, room, text, { epoch: appended.epoch, offset: appended.offset });
    return appended;
  }
}
