/**
 * Ports: what the chat domain needs from the outside world. Each has an in-memory adapter (one
 * process, nothing installed) and a Redis adapter (a cluster of gateways). Both must pass the
 * same contract suite (test/contracts), so the domain cannot tell them apart.
 */

import type { Topic } from "./topic.js";

export { roomTopic, type Topic } from "./topic.js";

/** Called for every publication on a topic this node subscribed to, in publish order per topic. */
export type PublicationHandler = (topic: Topic, payload: string) => void;

/**
 * Relay between nodes.
 *
 * Guarantees: publications on one topic reach the handler in the order they were published;
 * a node receives only topics it subscribed to. Delivery is at-most-once (pub/sub): a node that
 * lost its link must refill from the Store, which is why `onResubscribed` exists.
 */
export interface Broker {
  /** Registers the one inbound handler; called once, before any subscribe. */
  onPublication(handler: PublicationHandler): void;
  /** Called after the link to the backend was lost and every subscription is live again. */
  onResubscribed(handler: () => void): void;
  /** Resolves once publications on `topic` will reach the handler; rejects if that failed. */
  subscribe(topic: Topic): Promise<void>;
  unsubscribe(topic: Topic): Promise<void>;
  /** Publishes an ephemeral payload (never stored). */
  publish(topic: Topic, payload: string): Promise<void>;
  /** Whether the backend is reachable right now. */
  isReady(): boolean;
  close(): Promise<void>;
}

export interface AppendInput {
  readonly room: string;
  readonly from: string;
  readonly text: string;
  readonly cid: string;
  readonly ts: number;
  /**
   * A shared bucket (the RateLimiter's, same name and key) to spend one token of before
   * storing. An empty bucket stores nothing and answers `limited`. Where the check and the
   * append are one step (memory, one Redis) a duplicate (an already stored cid) is answered
   * without spending a token, since a retry is not a new message; on Redis Cluster the bucket
   * lives on another shard and is charged first, duplicate or not.
   */
  readonly charge?: RateCharge;
}

/** One token of the shared bucket `(bucket.name, key)`. */
export interface RateCharge {
  readonly bucket: RateBucket;
  readonly key: string;
}

export interface Appended {
  readonly epoch: string;
  readonly offset: number;
  /** True when this (user, cid) was already stored; nothing new was stored or published. */
  readonly duplicate: boolean;
  /** The stored `msg` frame, exactly as it was published (absent for duplicates). */
  readonly frame: string | undefined;
  /** True when the input's `charge` found its bucket empty; nothing was stored (offset 0). */
  readonly limited: boolean;
}

export interface StreamHead {
  readonly epoch: string;
  /** Latest offset; 0 for a room with no message in this epoch. */
  readonly offset: number;
}

export interface HistoryPage {
  readonly epoch: string;
  /** Stored `msg` frames, oldest first. */
  readonly frames: readonly string[];
  /** Whether older messages exist before the first frame. */
  readonly more: boolean;
}

export interface RangeResult {
  readonly epoch: string;
  /** Frames with offsets `from..to` that are still in history, oldest first. */
  readonly frames: readonly string[];
  /** Whether every offset in `from..to` was still in history. */
  readonly complete: boolean;
}

/**
 * History, offsets and idempotency.
 *
 * Guarantees: `append` assigns the next offset of the room (contiguous from 1 per epoch), stores
 * the frame (keeping the last `historySize`), and publishes it on the room's topic — all in one
 * atomic step, so offset order equals publish order. The same (room, from, cid) within the
 * idempotency window is stored once and answers with the first offset. A room's epoch changes
 * only when its history was lost (expiry of an idle room, or a backend wipe). With a `charge`,
 * the rate check happens before the append, in the same step where the backend can (one Redis:
 * one script, one round trip), so a send costs one backend round trip however it is limited.
 */
/**
 * An append was stored (and published) by the primary, but fewer replicas than required confirmed
 * it within the wait timeout (REDIS_WAIT_REPLICAS): it is not acknowledged. A retry with the same
 * cid is answered with the stored position once the replicas have it.
 */
export class NotReplicatedError extends Error {
  constructor(
    readonly required: number,
    readonly confirmed: number,
  ) {
    super(`stored, but confirmed by ${confirmed} of the ${required} replicas required`);
  }
}

export interface Store {
  /** Rejects with `NotReplicatedError` when replication waits are on and were not met. */
  append(input: AppendInput): Promise<Appended>;
  /** The room's epoch (created if the room has none) and latest offset. */
  head(room: string): Promise<StreamHead>;
  /** The room's epoch and latest offset, or undefined when it has none (never used, or expired). */
  peek(room: string): Promise<StreamHead | undefined>;
  /** Frames with offsets in `from..to` (inclusive). */
  range(room: string, from: number, to: number): Promise<RangeResult>;
  /** Up to `limit` frames with offsets below `before` (or the newest, without `before`). */
  history(room: string, before: number | undefined, limit: number): Promise<HistoryPage>;
  isReady(): boolean;
  close(): Promise<void>;
}

/** Users removed from a room because the node that held them stopped heart-beating. */
export type ReapedHandler = (room: string, users: readonly string[]) => void;

/**
 * Cluster-wide presence. The domain calls `add` when a user's first local connection joins a
 * room on this node and `remove` when the last local one leaves, so the adapter tracks nodes,
 * not sockets.
 *
 * Guarantees: `add` resolves true exactly when the user was in the room on no node before;
 * `remove` resolves true exactly when no node has the user in the room any more. A node that
 * stops heart-beating has its users removed within `nodeTtlMs` plus one heartbeat, and the
 * removals are reported through `onReaped` on a surviving node.
 */
export interface Presence {
  add(room: string, user: string): Promise<boolean>;
  remove(room: string, user: string): Promise<boolean>;
  members(room: string): Promise<string[]>;
  /** Whether the user is in the room on any node. */
  isPresent(room: string, user: string): Promise<boolean>;
  /**
   * Rooms with at least one present user on any started node (includes `ONLINE_ROOM` while
   * anyone is online). Its cost grows with the live rooms and nodes, never with rooms ever seen.
   */
  rooms(): Promise<string[]>;
  /** Live nodes with their connection counts, as last reported by their heartbeats. */
  nodes(): Promise<NodeInfo[]>;
  onReaped(handler: ReapedHandler): void;
  /** Starts heart-beating; `stats` is read on each beat. */
  start(stats: () => NodeStats): void;
  close(): Promise<void>;
}

export interface NodeStats {
  readonly connections: number;
}

export interface NodeInfo {
  readonly node: string;
  readonly connections: number;
  readonly lastSeen: number;
}

/** The pseudo-room holding every connected user; its name can never be a real room's. */
export const ONLINE_ROOM = "@online";

/** One recorded event of a room's outbox (an entry of the append or presence script). */
export interface OutboxEvent {
  /** The outbox entry id (`<ms>-<seq>`): ordered within the room, stable across deliveries. */
  readonly entry: string;
  readonly type: string;
  /** The event's data, as JSON text. */
  readonly data: string;
  /** When it was recorded, ms (the Redis clock, from the entry id). */
  readonly at: number;
}

/** A room in a dispatcher shard's index, with the end of its lease (ms). */
export interface OutboxRoom {
  readonly room: string;
  readonly leaseUntil: number;
}

/**
 * The events rooms recorded for webhooks, and which of them each endpoint has been given.
 *
 * Guarantees: every change stored by the append or presence scripts has its event in its room's
 * outbox, written in the same atomic step; a room with events not yet delivered to every endpoint
 * is in its shard's index (put there, under a lease, before the change); `claimShard` gives a
 * shard to one gateway at a time, and to another once the holder stops renewing. Events of one
 * room come back in the order they were recorded.
 */
export interface Outbox {
  readonly shards: number;
  claimShard(shard: number, node: string, ttlMs: number): Promise<boolean>;
  releaseShard(shard: number, node: string): Promise<void>;
  rooms(shard: number, limit: number): Promise<OutboxRoom[]>;
  /** Up to `count` events of the room after the last one delivered to `endpoint`. */
  pending(room: string, endpoint: string, count: number): Promise<OutboxEvent[]>;
  /** Records that `endpoint` has everything up to and including `entry`. */
  delivered(room: string, endpoint: string, entry: string): Promise<void>;
  /**
   * Takes the room out of the index when its lease (as seen in `rooms`) has run out and every
   * endpoint has every event; trims what all endpoints have. True when it was taken out.
   */
  settle(shard: number, room: OutboxRoom, endpoints: readonly string[]): Promise<boolean>;
  addDeadLetter(letter: DeadLetter): Promise<void>;
  /** Up to `limit` dead letters, newest first. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  /**
   * Up to `count` dead letters, oldest first, after the `skip` oldest. New ones are added at the
   * newest end, so a sweep that skips what it tried and kept sees the same letters again.
   */
  oldestDeadLetters(skip: number, count: number): Promise<KeptDeadLetter[]>;
  /** Every dead letter whose id is one of `ids` (an event dead for two endpoints is two). */
  findDeadLetters(ids: ReadonlySet<string>): Promise<KeptDeadLetter[]>;
  /** Removes exactly this dead letter (a copy of it for another endpoint stays). */
  removeDeadLetter(kept: KeptDeadLetter): Promise<void>;
  /** Number of dead letters kept. */
  deadLetterCount(): Promise<number>;
}

/** A dead letter as the outbox keeps it: `ref` is the outbox's own reference, for removing it. */
export interface KeptDeadLetter {
  readonly letter: DeadLetter;
  readonly ref: string;
}

/** An event an endpoint never accepted within the retry window. */
export interface DeadLetter {
  /** The event id the receiver sees (`webhook-id`). */
  readonly id: string;
  readonly endpoint: string;
  readonly type: string;
  readonly data: string;
  readonly at: number;
  readonly attempts: number;
  readonly lastError: string;
  readonly deadAt: number;
}

/**
 * Moderation decisions every node must honour: room bans (a removed user may not rejoin until a
 * time) and token revocations (by `jti`, or every token of a user issued before a time).
 *
 * Guarantees: once `ban` or a `revoke*` resolved, every node's next check sees it; entries expire
 * by themselves (a ban at its end, a revocation after `expiresAt` or the configured retention),
 * so they cost nothing once they cannot matter any more.
 */
export interface Moderation {
  ban(room: string, user: string, untilMs: number): Promise<void>;
  /** Until when the user is banned from the room (ms), or undefined. */
  bannedUntil(room: string, user: string): Promise<number | undefined>;
  revokeToken(jti: string, expiresAtMs: number): Promise<void>;
  revokeUserTokens(user: string, issuedBeforeMs: number, expiresAtMs: number): Promise<void>;
  /** Whether a token (its `sub`, `jti` and `iat`, when it had them) was revoked. */
  isRevoked(user: string, jti: string | undefined, issuedAtMs: number | undefined): Promise<boolean>;
}

/** A shared token bucket's parameters: `ratePerSecond` tokens refill per second, up to `burst`. */
export interface RateBucket {
  /** Short, fixed name of the bucket kind (`user`, `ip`): part of the key, never user input. */
  readonly name: string;
  readonly ratePerSecond: number;
  readonly burst: number;
}

/**
 * Token buckets shared by every node (per user across the cluster, per client IP).
 *
 * Guarantees: `take` spends one token of the bucket `(bucket.name, key)` and resolves true, or
 * resolves false when the bucket is empty; buckets refill continuously at `ratePerSecond` up to
 * `burst` and cost nothing once full again (the state of a full bucket is dropped). All nodes on
 * one backend share the buckets. It rejects only when the backend is unreachable; callers then
 * decide whether to fail open.
 */
export interface RateLimiter {
  take(bucket: RateBucket, key: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A feed note as the domain hands it to `UserState`: the frame up to its cid (see note-frame.ts). */
export interface NoteHead {
  readonly head: string;
}

/** One conversation of a user, as stored (the list adds each room's head and last message). */
export interface ConversationRecord {
  readonly room: string;
  readonly kind: "room" | "dm";
  /** false: not joined, listed for its unread mentions. */
  readonly member: boolean;
  /** When it became the user's conversation, ms. */
  readonly since: number;
  readonly read: { readonly epoch: string; readonly offset: number } | undefined;
  /** Offsets of unread mentions, in `mentionEpoch`. */
  readonly mentions: readonly number[];
  readonly mentionEpoch: string | undefined;
}

export interface ReadStored {
  /** The stored read offset (at least the one given, in the same epoch). */
  readonly offset: number;
  /** Whether it moved (and a `read` note went to the user's feed). */
  readonly moved: boolean;
}

/**
 * Per-user state: conversations (membership), read positions and mentions, stored beside the
 * user's feed (the stream `feedStream(user)`, read through the Store like a room). Every change a
 * user must hear about is appended to that feed in the same atomic step as the change itself.
 *
 * Guarantees: `member` changes membership and appends its note exactly when membership changed;
 * `mention` records a message once (a repeat or an already read one changes nothing) and keeps at
 * most a bounded number of unread mentions per room; `read` never moves a read position back
 * within the room's epoch, and drops the mentions it covers.
 */
export interface UserState {
  member(user: string, room: string, kind: "room" | "dm", add: boolean, note: NoteHead, now: number): Promise<boolean>;
  mention(user: string, room: string, at: { epoch: string; offset: number }, note: NoteHead, now: number): Promise<boolean>;
  read(user: string, room: string, at: { epoch: string; offset: number }, note: NoteHead): Promise<ReadStored>;
  conversations(user: string): Promise<ConversationRecord[]>;
}

/** Unread mentions kept per conversation; older ones still count as read-worthy text, not badges. */
export const MAX_KEPT_MENTIONS = 99;

/**
 * Guest names held by live sessions (guest mode only). A claim names its holder by a key (a hash
 * of the secret the browser keeps; "" for a client that sends none) and lives `ttlMs` unless
 * claimed again, which is how live sessions keep it.
 *
 * Guarantees: `claim` resolves true when the name was free, expired or held by the same key (and
 * then holds it for `ttlMs` more), false while another key holds it.
 */
export interface GuestNames {
  claim(name: string, key: string, ttlMs: number): Promise<boolean>;
}
