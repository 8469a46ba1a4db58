/*
 * Relay topics: the names a node subscribes to in the Broker and fans out under to local sockets
 * (uWS topics). One codec writes and reads them, so no caller tests prefixes by hand.
 */

declare const topicBrand: unique symbol;

/** A relay topic, only ever made by `formatTopic` (or a helper over it). */
export type Topic = string & { readonly [topicBrand]: true };

/**
 * What a topic carries: one room's stream, one user's feed (a stream too, `feedStream(user)`), or
 * one inbox shard (DM delivery to old clients' tabs that have not joined the DM room).
 */
export type TopicTarget =
  | { readonly kind: "room"; readonly room: string }
  | { readonly kind: "feed"; readonly user: string }
  | { readonly kind: "inbox"; readonly shard: number };

const ROOM_PREFIX = "r:";
const FEED_PREFIX = "u:";
const INBOX_PREFIX = "i:";

export function formatTopic(target: TopicTarget): Topic {
  switch (target.kind) {
    case "room":
      return (ROOM_PREFIX + target.room) as Topic;
    case "feed":
      return (FEED_PREFIX + target.user) as Topic;
    case "inbox":
      return (INBOX_PREFIX + String(target.shard)) as Topic;
  }
}

/** The target of a topic string, or undefined if no topic is spelled that way. */
export function parseTopic(topic: string): TopicTarget | undefined {
  if (topic.startsWith(ROOM_PREFIX)) return topic.length > ROOM_PREFIX.length ? { kind: "room", room: topic.slice(ROOM_PREFIX.length) } : undefined;
  if (topic.startsWith(FEED_PREFIX)) return topic.length > FEED_PREFIX.length ? { kind: "feed", user: topic.slice(FEED_PREFIX.length) } : undefined;
  if (!topic.startsWith(INBOX_PREFIX)) return undefined;
  const shard = Number(topic.slice(INBOX_PREFIX.length));
  return Number.isInteger(shard) && shard >= 0 && shard < INBOX_SHARDS && String(shard) === topic.slice(INBOX_PREFIX.length) ? { kind: "inbox", shard } : undefined;
}

export const roomTopic = (room: string): Topic => formatTopic({ kind: "room", room });

/**
 * The stream name of a user's feed: stored and read through the Store like a room's. No room is
 * spelled this way (rooms hold no `:` except `dm:` rooms), so the two never meet.
 */
export const feedStream = (user: string): string => FEED_PREFIX + user;

/** The user whose feed a stream is, or undefined for a room. */
export function feedUser(stream: string): string | undefined {
  return stream.startsWith(FEED_PREFIX) ? stream.slice(FEED_PREFIX.length) : undefined;
}

/** The topic a stream (a room, or a user's feed) is published on. */
export function streamTopic(stream: string): Topic {
  const user = feedUser(stream);
  return user === undefined ? roomTopic(stream) : formatTopic({ kind: "feed", user });
}

/**
 * DMs reach the tabs that have not joined the DM room through inbox shards: every node with
 * sessions subscribes to all of them, and a DM is published on its recipients' shards. So an
 * idle connection costs no relay subscription of its own (a per-user inbox channel did), at the
 * price of every node reading every DM. Sharded so that, on Redis Cluster, DM traffic spreads
 * over the masters instead of landing on one slot.
 */
export const INBOX_SHARDS = 16;

export const inboxTopics: readonly Topic[] = Array.from({ length: INBOX_SHARDS }, (_, shard) => formatTopic({ kind: "inbox", shard }));

/** The inbox shard a user's DMs are published on (FNV-1a of the name). */
export function inboxShard(user: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < user.length; i++) hash = Math.imul(hash ^ user.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % INBOX_SHARDS;
}

export const inboxTopic = (user: string): Topic => formatTopic({ kind: "inbox", shard: inboxShard(user) });
