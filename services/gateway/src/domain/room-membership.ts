import { ErrorCode, type ClientEnvelopeOf } from "@parley/protocol";
import type { LimitsConfig } from "../config.js";
import type { Conversations } from "./conversations.js";
import type { Moderation } from "./ports.js";
import type { Relay } from "./relay.js";
import { RequestError, echoId } from "./request-errors.js";
import type { RoomPresence } from "./room-presence.js";
import { assertMayAccess } from "./room-requests.js";
import type { Session } from "./session.js";
import type { Replies } from "./session-replies.js";
import type { StreamEntry } from "./stream-entry.js";

export interface RoomMembershipDeps {
  readonly relay: Relay;
  readonly streams: StreamEntry;
  readonly conversations: Conversations;
  readonly roomPresence: RoomPresence;
  readonly moderation: Moderation;
  readonly limits: LimitsConfig;
  readonly replies: Replies;
}

/**
 * A session joining and leaving rooms: access and bans, the room's relay feed and the resume
 * replay, presence, and the user's stored membership (a join adds the room to their
 * conversations; only a deliberate leave removes it, a disconnect does not).
 */
export class RoomMembership {
  constructor(private readonly deps: RoomMembershipDeps) {}

  async join(session: Session, env: ClientEnvelopeOf<"join">): Promise<void> {
    const { room } = env;
    assertMayAccess(session, room);
    if (session.rooms.has(room)) {
      const feed = this.deps.relay.feed(room);
      if (feed !== undefined) this.deps.replies.send(session, { type: "subscribed", room, epoch: feed.epoch, offset: feed.head, ...echoId(env) });
      return;
    }
    const { maxRoomsPerConnection } = this.deps.limits;
    if (session.rooms.size >= maxRoomsPerConnection) {
      throw new RequestError(ErrorCode.tooManyRooms, `at most ${maxRoomsPerConnection} rooms per connection`);
    }
    await this.assertNotBanned(session, room);
    if (session.closed || session.rooms.has(room)) return;
    // A resume (`since`) is a reconnect, not a new membership.
    if (env.since === undefined) await this.deps.conversations.joined(session.user, room);
    const entered = await this.deps.streams.enter(session, room, env.since, {
      take: () => session.addRoom(room),
      undo: () => session.deleteRoom(room),
      held: () => session.rooms.has(room),
    });
    if (entered === undefined) return;
    const { epoch, offset, recovered } = entered;
    this.deps.replies.send(session, { type: "subscribed", room, epoch, offset, ...(recovered !== undefined ? { recovered } : {}), ...echoId(env) });
    await this.deps.roomPresence.joined(room, session.user);
  }

  async leave(session: Session, env: ClientEnvelopeOf<"leave">): Promise<void> {
    const { room } = env;
    if (!session.rooms.has(room)) throw new RequestError(ErrorCode.notJoined, `not joined to ${room}`);
    await this.leaveRoom(session, room, env);
    await this.deps.conversations.left(session.user, room);
  }

  /**
   * Takes the session out of `room` (a leave, a disconnect, a removal by the server API).
   * `reply`: the leave request to answer with `unsubscribed`, when there is one to answer.
   */
  async leaveRoom(session: Session, room: string, reply: ClientEnvelopeOf<"leave"> | undefined): Promise<void> {
    if (!session.deleteRoom(room)) return;
    const feed = this.deps.relay.feed(room);
    if (feed !== undefined) {
      if (!session.closed) session.conn.unsubscribe(feed.topic);
      this.deps.relay.release(feed);
    }
    if (reply !== undefined) this.deps.replies.send(session, { type: "unsubscribed", room, ...echoId(reply) });
    // A disconnect (no reply) is graced: a reload within the grace period tells nobody anything.
    await this.deps.roomPresence.left(room, session.user, reply === undefined);
  }

  private async assertNotBanned(session: Session, room: string): Promise<void> {
    const until = await this.deps.moderation.bannedUntil(room, session.user);
    if (until !== undefined && until > Date.now()) {
      throw new RequestError(ErrorCode.forbidden, `you are banned from ${room} until ${new Date(until).toISOString()}`);
    }
  }
}
