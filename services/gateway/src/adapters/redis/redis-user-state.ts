import type { StoreConfig } from "../../config.js";
import { newEpoch } from "../../domain/message-frame.js";
import { MAX_KEPT_MENTIONS, type ConversationRecord, type NoteHead, type ReadStored, type UserState } from "../../domain/ports.js";
import { feedStream, formatTopic } from "../../domain/topic.js";
import type { ParleyRedis } from "./redis-client.js";
import type { RedisKeys } from "./redis-keys.js";

/**
 * Per-user state in Redis: one hash of conversations beside the user's feed, all on the tag
 * `{u:<user>}`, so every change and its feed note are one script on one slot (lua/user-*.lua).
 */
export class RedisUserState implements UserState {
  constructor(
    private readonly redis: ParleyRedis,
    private readonly keys: RedisKeys,
    private readonly config: StoreConfig,
    private readonly sharded: boolean,
  ) {}

  private feedKeys(user: string): [string, string, string, string] {
    const stream = feedStream(user);
    return [this.keys.conversations(user), this.keys.meta(stream), this.keys.log(stream), this.keys.channel(formatTopic({ kind: "feed", user }))];
  }

  /** The arguments every user script ends with: the note and how the feed is kept. */
  private feedArgs(note: NoteHead): (string | number)[] {
    return [note.head, newEpoch(), this.config.roomTtlSeconds, this.config.historySize, this.sharded ? "SPUBLISH" : "PUBLISH"];
  }

  async member(user: string, room: string, kind: "room" | "dm", add: boolean, note: NoteHead, now: number): Promise<boolean> {
    const reply = await this.redis.parleyUserMember(...this.feedKeys(user), room, kind, add ? "1" : "0", now, ...this.feedArgs(note));
    return Number(reply) === 1;
  }

  async mention(user: string, room: string, at: { epoch: string; offset: number }, note: NoteHead, now: number): Promise<boolean> {
    const reply = await this.redis.parleyUserMention(...this.feedKeys(user), room, at.epoch, at.offset, now, MAX_KEPT_MENTIONS, ...this.feedArgs(note));
    return Number(reply) === 1;
  }

  async read(user: string, room: string, at: { epoch: string; offset: number }, note: NoteHead): Promise<ReadStored> {
    const [offset, moved] = (await this.redis.parleyUserRead(...this.feedKeys(user), room, at.epoch, at.offset, ...this.feedArgs(note))) as [number, number];
    return { offset: Number(offset), moved: Number(moved) === 1 };
  }

  async conversations(user: string): Promise<ConversationRecord[]> {
    return parseConversations(await this.redis.hgetall(this.keys.conversations(user)));
  }
}

/** The conversations hash (see lua/lib/user-state.lua) as records; malformed fields are skipped. */
export function parseConversations(hash: Record<string, string>): ConversationRecord[] {
  const out: ConversationRecord[] = [];
  for (const [room, value] of Object.entries(hash)) {
    if (room.startsWith("r:") || room.startsWith("m:")) continue;
    const match = /^(room|dm)\|([01])\|(\d+)$/.exec(value);
    if (match === null) continue;
    const read = splitEpoch(hash[`r:${room}`]);
    const mentions = splitEpoch(hash[`m:${room}`]);
    out.push({
      room,
      kind: match[1] as "room" | "dm",
      member: match[2] === "1",
      since: Number(match[3]),
      read: read === undefined ? undefined : { epoch: read.epoch, offset: Number(read.rest) },
      mentions: mentions === undefined ? [] : mentions.rest.split(",").filter((o) => o !== "").map(Number),
      mentionEpoch: mentions?.epoch,
    });
  }
  return out;
}

function splitEpoch(value: string | undefined): { epoch: string; rest: string } | undefined {
  if (value === undefined) return undefined;
  const sep = value.indexOf(":");
  return sep < 0 ? undefined : { epoch: value.slice(0, sep), rest: value.slice(sep + 1) };
}
