import type { Topic } from "../../domain/ports.js";

/**
 * The in-process stand-in for Redis: one per process, shared by the memory adapters of every
 * "node" built on it (one in production memory mode; several in contract tests, to check the
 * cluster semantics without Redis).
 */
export class MemoryBackend {
  private readonly channels = new Map<Topic, Set<(topic: Topic, payload: string) => void>>();
  readonly rooms = new Map<string, MemoryRoom>();
  /** room -> user -> nodes that hold the user in the room */
  readonly presence = new Map<string, Map<string, Set<string>>>();
  readonly nodes = new Map<string, { lastSeen: number; connections: number }>();
  /** node -> room -> how many users the node holds there: for reaping a dead node; a room leaves with its last user. */
  readonly nodeRooms = new Map<string, Map<string, number>>();
  /** Shared rate buckets: key -> theoretical arrival time, ms (see MemoryRateLimiter). */
  readonly rates = new Map<string, number>();
  /** Bans and token revocations (see MemoryModeration): key -> value, with its expiry (ms). */
  readonly moderation = new Map<string, { value: number; expires: number }>();
  /** Per-user conversations, read positions and mentions (see MemoryUserState). */
  readonly users = new Map<string, MemoryUser>();
  /** Guest name claims: name -> claimant key and expiry (see MemoryGuestNames). */
  readonly guestNames = new Map<string, { key: string; expires: number }>();

  subscribe(topic: Topic, listener: (topic: Topic, payload: string) => void): void {
    let set = this.channels.get(topic);
    if (set === undefined) {
      set = new Set();
      this.channels.set(topic, set);
    }
    set.add(listener);
  }

  unsubscribe(topic: Topic, listener: (topic: Topic, payload: string) => void): void {
    const set = this.channels.get(topic);
    set?.delete(listener);
    if (set?.size === 0) this.channels.delete(topic);
  }

  /** Delivers asynchronously, like a network hop, but in publish order. */
  publish(topic: Topic, payload: string): number {
    const set = this.channels.get(topic);
    if (set === undefined) return 0;
    const listeners = [...set];
    queueMicrotask(() => {
      for (const listener of listeners) listener(topic, payload);
    });
    return listeners.length;
  }

  /** Number of subscribers of a topic (what `PUBSUB NUMSUB` tells for Redis). */
  subscribers(topic: Topic): number {
    return this.channels.get(topic)?.size ?? 0;
  }

  /** Forgets all data, as a Redis restart without persistence would. */
  wipe(): void {
    this.rooms.clear();
    this.presence.clear();
    this.nodes.clear();
    this.nodeRooms.clear();
    this.rates.clear();
    this.moderation.clear();
    this.users.clear();
    this.guestNames.clear();
  }
}

export interface MemoryRoom {
  epoch: string;
  seq: number;
  /** Oldest first; offsets contiguous. */
  log: { offset: number; frame: string }[];
  /** `${from}\n${cid}` -> offset, with its expiry time. */
  cids: Map<string, { offset: number; expires: number }>;
  expires: number;
}

export interface MemoryUser {
  readonly conversations: Map<string, { kind: "room" | "dm"; member: boolean; since: number }>;
  readonly reads: Map<string, { epoch: string; offset: number }>;
  readonly mentions: Map<string, { epoch: string; offsets: number[] }>;
}
