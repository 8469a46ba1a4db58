import { randomBytes } from "node:crypto";
import { ApiErrorCode, CloseCode, Limits, dmMembers, dmRoom, type MsgEnvelope, type ServerBody, type ServerResult } from "@parley/protocol";
import type { ChatNode } from "./chat-node.js";
import { CONTROL_TYPE } from "./control.js";
import type { DeadLetters } from "./webhook-dispatcher.js";
import { ONLINE_ROOM, type Appended, type Moderation, type Presence, type Store } from "./ports.js";

/** A refusal of a server API operation, with the API's error code (the transport picks the status). */
export class OperationError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface ServerOpsDeps {
  readonly chat: ChatNode;
  readonly store: Store;
  readonly presence: Presence;
  readonly moderation: Moderation;
  /** The sender of system messages (a name no client may take). */
  readonly systemUser: string;
  readonly maxTextLength: number;
  /** How long a revocation without its own expiry is kept. */
  readonly revocationTtlMs: number;
  readonly deadLetters: DeadLetters;
}

/**
 * The server API's operations: what an application's backend may do, over the same domain
 * operations a socket uses (the store's atomic append, presence, the relay), so a message from the
 * API is ordered, stored, deduplicated and delivered exactly like a client's.
 */
export class ServerOps {
  constructor(private readonly deps: ServerOpsDeps) {}

  async publish(body: ServerBody<"publish">): Promise<ServerResult<"publish">> {
    const from = body.from ?? this.deps.systemUser;
    this.checkText(body.text);
    const pair = dmMembers(body.room);
    if (pair !== undefined && body.from !== undefined && !pair.includes(body.from)) {
      throw new OperationError(ApiErrorCode.forbidden, "a DM room takes messages from its two users (or the system)");
    }
    const cid = body.idempotencyKey ?? newKey();
    if (body.skip !== undefined) await this.deps.chat.skipNext(body.room, { cid, session: body.skip });
    return published(body.room, await this.deps.chat.publishAs(body.room, from, body.text, cid));
  }

  async broadcast(body: ServerBody<"broadcast">): Promise<ServerResult<"broadcast">> {
    this.checkText(body.text);
    const from = body.from ?? this.deps.systemUser;
    for (const room of body.rooms) {
      const pair = dmMembers(room);
      if (pair !== undefined && body.from !== undefined && !pair.includes(body.from)) {
        throw new OperationError(ApiErrorCode.forbidden, `${room}: a DM room takes messages from its two users (or the system)`);
      }
    }
    // One idempotency key for the whole broadcast: it is per room in the store, so a retry
    // stores nothing twice in any room.
    const key = body.idempotencyKey ?? newKey();
    const results = await Promise.all(body.rooms.map(async (room) => published(room, await this.deps.chat.publishAs(room, from, body.text, key))));
    return { results };
  }

  async dm(body: ServerBody<"dm">): Promise<ServerResult<"dm">> {
    this.checkText(body.text);
    const room = dmRoom(body.from, body.to);
    return published(room, await this.deps.chat.publishAs(room, body.from, body.text, body.idempotencyKey ?? newKey()));
  }

  async disconnect(body: ServerBody<"disconnect">): Promise<ServerResult<"disconnect">> {
    if (!(await this.deps.presence.isPresent(ONLINE_ROOM, body.user))) {
      throw new OperationError(ApiErrorCode.unknownUser, `${body.user} is not connected`);
    }
    const code = body.reconnect === false ? CloseCode.serverTerminate : CloseCode.serverDisconnect;
    await this.deps.chat.broadcastControl({ type: CONTROL_TYPE, op: "disconnect", user: body.user, code, reason: "disconnected by the server" });
    return { user: body.user, code };
  }

  async removeMember(body: ServerBody<"remove_member">): Promise<ServerResult<"remove_member">> {
    const { room, user, banUntil } = body;
    // The ban first: a rejoin racing the removal is refused, not let back in.
    if (banUntil !== undefined) await this.deps.moderation.ban(room, user, banUntil);
    const wasPresent = await this.deps.presence.isPresent(room, user);
    if (!wasPresent && banUntil === undefined) throw new OperationError(ApiErrorCode.notMember, `${user} is not in ${room}`);
    if (wasPresent) await this.deps.chat.broadcastControl({ type: CONTROL_TYPE, op: "remove", user, room });
    return { room, user, wasPresent, ...(banUntil !== undefined ? { bannedUntil: banUntil } : {}) };
  }

  async revoke(body: ServerBody<"revoke">): Promise<ServerResult<"revoke">> {
    if ("jti" in body) {
      await this.deps.moderation.revokeToken(body.jti, body.expiresAt ?? Date.now() + this.deps.revocationTtlMs);
      await this.deps.chat.broadcastControl({ type: CONTROL_TYPE, op: "revoke", jti: body.jti });
    } else {
      await this.deps.moderation.revokeUserTokens(body.user, body.issuedBefore, Date.now() + this.deps.revocationTtlMs);
      await this.deps.chat.broadcastControl({ type: CONTROL_TYPE, op: "revoke", user: body.user, before: body.issuedBefore });
    }
    return { revoked: true };
  }

  async online(): Promise<ServerResult<"online">> {
    const users = await this.deps.presence.members(ONLINE_ROOM);
    return { users, count: users.length };
  }

  async presence(body: ServerBody<"presence">): Promise<ServerResult<"presence">> {
    await this.knownRoom(body.room);
    const users = await this.deps.presence.members(body.room);
    return { room: body.room, users, count: users.length };
  }

  async room(body: ServerBody<"room">): Promise<ServerResult<"room">> {
    const head = await this.knownRoom(body.room);
    const members = await this.deps.presence.members(body.room);
    return { room: body.room, epoch: head.epoch, offset: head.offset, members };
  }

  async history(body: ServerBody<"history">): Promise<ServerResult<"history">> {
    await this.knownRoom(body.room);
    const page = await this.deps.store.history(body.room, body.before, body.limit ?? Limits.defaultHistoryLimit);
    return { room: body.room, epoch: page.epoch, messages: page.frames.map((f) => JSON.parse(f) as MsgEnvelope), more: page.more };
  }

  /** Any user's list, online or not (a user who never joined or wrote anything has none). */
  async conversations(body: ServerBody<"conversations">): Promise<ServerResult<"conversations">> {
    return { user: body.user, conversations: await this.deps.chat.conversations.list(body.user) };
  }

  async deadLetters(body: ServerBody<"dead_letters">): Promise<ServerResult<"dead_letters">> {
    const letters = await this.deps.deadLetters.list(body.limit ?? 100);
    return { deadLetters: letters.map((l) => ({ ...l, data: JSON.parse(l.data) as Record<string, unknown> })) };
  }

  replayDeadLetters(body: ServerBody<"replay_dead_letters">): Promise<ServerResult<"replay_dead_letters">> {
    return this.deps.deadLetters.replay(body);
  }

  /** A room with stored state, or a 404: a history or presence query never creates a room. */
  private async knownRoom(room: string): Promise<{ epoch: string; offset: number }> {
    const head = await this.deps.store.peek(room);
    if (head === undefined) throw new OperationError(ApiErrorCode.unknownRoom, `no room ${room} (never used, or expired)`);
    return head;
  }

  private checkText(text: string): void {
    if (text.length > this.deps.maxTextLength) throw new OperationError(ApiErrorCode.badRequest, `text is longer than ${this.deps.maxTextLength} characters`);
  }
}

function published(room: string, appended: Appended): ServerResult<"publish"> {
  return { room, epoch: appended.epoch, offset: appended.offset, duplicate: appended.duplicate };
}

/** An idempotency key for a request that brought none: unique, so the message is stored once. */
function newKey(): string {
  return `api-${randomBytes(12).toString("base64url")}`;
}
