import { ONLINE_ROOM } from "../../domain/ports.js";
import { feedStream, formatTopic, parseTopic, type Topic, type TopicTarget } from "../../domain/topic.js";
import { shardOf } from "./redis-shard.js";

/**
 * Every Redis key and channel name Parley uses. A room's keys and channel share the hash tag
 * `{<room>}`, so on Redis Cluster one room lives on one slot and its script may touch them all.
 * Room names cannot contain braces (protocol grammar), so the tag is exactly the room.
 */
export class RedisKeys {
  constructor(private readonly prefix: string) {}

  meta(room: string): string {
    return `${this.prefix}{${room}}:meta`;
  }

  log(room: string): string {
    return `${this.prefix}{${room}}:log`;
  }

  cid(room: string, user: string, cid: string): string {
    return `${this.prefix}{${room}}:cid:${user}:${cid}`;
  }

  /** A user's ban from the room (value: until when, ms). */
  ban(room: string, user: string): string {
    return `${this.prefix}{${room}}:ban:${user}`;
  }

  /** A revoked token, by `jti` (no braces around it: revocations spread over the slots). */
  revokedToken(jti: string): string {
    return `${this.prefix}rv:jti:${jti}`;
  }

  /** The cut-off before which every token of the user is revoked (value: ms). */
  revokedUser(user: string): string {
    return `${this.prefix}rv:user:${user}`;
  }

  /** The room's outbox: a stream of the events webhooks must hear about (lua/lib/outbox.lua). */
  outbox(room: string): string {
    return `${this.prefix}{${room}}:ev`;
  }

  /** endpoint id -> the id of the last outbox event delivered to it. */
  deliveredUpTo(room: string): string {
    return `${this.prefix}{${room}}:whc`;
  }

  /** Rooms that may hold undelivered events, in one of the dispatcher's shards (score: lease end, ms). */
  outboxIndex(shard: number): string {
    return `${this.prefix}{wh:${shard}}:rooms`;
  }

  /** Which gateway drains a dispatcher shard (value: node id; expires unless renewed). */
  shardOwner(shard: number): string {
    return `${this.prefix}{wh:${shard}}:owner`;
  }

  /** Events that exhausted their retries (a list of JSON entries, newest first). */
  deadLetters(): string {
    return `${this.prefix}{wh}:dead`;
  }

  /** user -> number of nodes holding the user in the room */
  presenceUsers(room: string): string {
    return `${this.prefix}{${room}}:pu`;
  }

  /** users one node holds in the room */
  presenceNode(room: string, node: string): string {
    return `${this.prefix}{${room}}:pn:${node}`;
  }

  /**
   * Node heartbeats (sorted by last beat, ms) and their reported stats share one slot: written
   * once per heartbeat per node and read by `/api/nodes`, so their load grows with the number of
   * gateways only, never with users or rooms.
   */
  nodes(): string {
    return `${this.prefix}{nodes}:beat`;
  }

  nodeInfo(): string {
    return `${this.prefix}{nodes}:info`;
  }

  /**
   * One shard of the rooms a node holds users in (redis-node-rooms.ts): each node's list is
   * spread over NODE_ROOM_SHARDS slots by room, so no slot takes every node's joins.
   */
  nodeRooms(node: string, shard: number): string {
    return `${this.prefix}{nr:${node}:${shard}}:rooms`;
  }

  /** Who is reaping a dead node (value: the reaper's node id; expires unless renewed). */
  reaper(node: string): string {
    return `${this.prefix}{nodes}:reaper:${node}`;
  }

  /**
   * The layout before NODE_ROOM_SHARDS (one set per node, and one index of rooms with members,
   * each on one slot): read when reaping a node of an older version, written only with
   * `PARLEY_PRESENCE_LEGACY_KEYS=1` during a rolling upgrade (docs/OPERATIONS.md).
   */
  legacyNodeRooms(node: string): string {
    return `${this.prefix}{nodes}:rooms:${node}`;
  }

  legacyRooms(): string {
    return `${this.prefix}{rooms}:all`;
  }

  /** A shared rate bucket (see RedisRateLimiter); no braces, so buckets spread over a cluster. */
  rate(bucket: string, key: string): string {
    return `${this.prefix}rl:${bucket}:${key}`;
  }

  /** The pub/sub channel of a topic: on the tag of the stream it carries, so its script may publish. */
  channel(topic: Topic): string {
    return `${this.prefix}{${channelTag(parseTopic(topic))}}:ch`;
  }

  topicOf(channel: string): Topic | undefined {
    if (!channel.startsWith(this.prefix) || !channel.endsWith("}:ch")) return undefined;
    const tag = channel.slice(this.prefix.length + 1, -4);
    const other = parseTopic(tag);
    return other !== undefined && other.kind !== "room" ? formatTopic(other) : formatTopic({ kind: "room", room: tag });
  }

  /** A user's conversations, read positions and mentions: on the feed's tag (`{u:<user>}`). */
  conversations(user: string): string {
    return `${this.prefix}{${feedStream(user)}}:convs`;
  }

  /** A guest name's claim (see RedisGuestNames). */
  guestName(user: string): string {
    return `${this.prefix}{g:${user}}:claim`;
  }
}

/**
 * A room's channel carries the room's own tag; a feed's is its stream's (`u:<user>`, the tag of
 * the feed's log); an inbox shard's is `i:<shard>`. No room name can be either (rooms hold no
 * `:` except `dm:` rooms).
 */
function channelTag(target: TopicTarget | undefined): string {
  if (target === undefined) throw new Error("not a relay topic");
  return target.kind === "room" ? target.room : formatTopic(target);
}

/** The online pseudo-room is kept as this many rooms, by user, so connects spread over slots. */
export const ONLINE_SHARDS = 16;

/**
 * The room a presence record is stored under: the room itself, except for the online
 * pseudo-room, which every connect and disconnect writes and which would otherwise be one hot
 * slot: there it is `@online:<shard of the user>`. No client room can be named so (`@`).
 */
export function storedRoom(room: string, user: string, shardOnline: boolean): string {
  return shardOnline && room === ONLINE_ROOM ? `${ONLINE_ROOM}:${shardOf(user, ONLINE_SHARDS)}` : room;
}

/** Every stored room of `room` (the online shards and the unsharded online room; else itself). */
export function storedRooms(room: string): string[] {
  if (room !== ONLINE_ROOM) return [room];
  return [ONLINE_ROOM, ...Array.from({ length: ONLINE_SHARDS }, (_, shard) => `${ONLINE_ROOM}:${shard}`)];
}

/** The room a stored presence room stands for. */
export function publicRoom(stored: string): string {
  return stored.startsWith(`${ONLINE_ROOM}:`) ? ONLINE_ROOM : stored;
}
