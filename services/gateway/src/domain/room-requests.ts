import { ErrorCode, Limits, dmMembers, type ClientEnvelopeOf, type ServerEnvelope } from "@parley/protocol";
import type { Broker, Presence, Store } from "./ports.js";
import { RequestError, echoId } from "./request-errors.js";
import type { Session } from "./session.js";
import { roomTopic } from "./topic.js";

export interface RoomRequestsDeps {
  readonly store: Store;
  readonly presence: Presence;
  readonly broker: Broker;
  readonly send: (session: Session, env: ServerEnvelope) => void;
  readonly sendRaw: (session: Session, frame: string) => void;
}

/** The room rules (room-access.ts): DM rooms for their two users, private rooms by token claim. */
export function assertMayAccess(session: Session, room: string): void {
  if (session.grant.mayUse(room)) return;
  throw new RequestError(
    ErrorCode.forbidden,
    dmMembers(room) !== undefined ? "only its two users may use a DM room" : `you may not use the room ${room}`,
  );
}

/** The read-only and ephemeral room requests: history, presence, typing. */
export class RoomRequests {
  constructor(private readonly deps: RoomRequestsDeps) {}

  async history(session: Session, env: ClientEnvelopeOf<"history">): Promise<void> {
    assertMayAccess(session, env.room);
    const page = await this.deps.store.history(env.room, env.before, env.limit ?? Limits.defaultHistoryLimit);
    // Stored frames are already JSON; splice them in rather than parse and re-serialise.
    const head = JSON.stringify({ type: "history", ...echoId(env), room: env.room, epoch: page.epoch, more: page.more }).slice(0, -1);
    this.deps.sendRaw(session, `${head},"messages":[${page.frames.join(",")}]}`);
  }

  async presence(session: Session, env: ClientEnvelopeOf<"presence">): Promise<void> {
    const { room } = env;
    assertMayAccess(session, room);
    const users = await this.deps.presence.members(room);
    this.deps.send(session, { type: "presence", room, users, ...echoId(env) });
  }

  async typing(session: Session, room: string): Promise<void> {
    if (!session.rooms.has(room)) throw new RequestError(ErrorCode.notJoined, `join ${room} before typing in it`);
    await this.deps.broker.publish(roomTopic(room), JSON.stringify({ type: "typing", room, user: session.user }));
  }
}
