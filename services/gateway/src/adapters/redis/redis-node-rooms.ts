import type { ParleyRedis } from "./redis-client.js";
import type { RedisKeys } from "./redis-keys.js";
import { shardOf } from "./redis-shard.js";

/** Each node's list of rooms is spread over this many sets (and slots), by room. */
export const NODE_ROOM_SHARDS = 16;
/** Rooms asked for per SSCAN: no call reads a whole list, however many rooms a node held. */
export const SCAN_BATCH = 200;

interface HeldRoom {
  /** The users this node holds in the room (what it re-asserts after being reaped). */
  readonly users: Set<string>;
  /** Presence scripts of the room running now; the room is unlisted only when none is. */
  busy: number;
  /** Settles once the room is in this node's list in Redis; undefined while it is not. */
  listed: Promise<void> | undefined;
  /** The running removal from the list, which a new listing waits for (SADD after SREM). */
  unlisting: Promise<void> | undefined;
}

/**
 * The rooms this node holds users in: kept in memory, mirrored in Redis (`RedisKeys.nodeRooms`)
 * so a survivor can find and reap them if this node dies. A room is listed before its first user
 * goes in (a node dying in between leaves a room with nothing to reap, never a user no one will
 * reap) and unlisted after its last user here left, so the list is exactly the live rooms and
 * costs one write per room and node, not per join. Writes for one room are ordered by promises,
 * never by a lock around the presence scripts, so joins to one room still run concurrently.
 */
export class RedisNodeRooms {
  private readonly held = new Map<string, HeldRoom>();
  /** Rooms whose unlisting failed (Redis unreachable): retried on each heartbeat. */
  private readonly stale = new Set<string>();

  constructor(
    private readonly redis: ParleyRedis,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    /** Also keep the pre-shard keys (`legacyNodeRooms`, `legacyRooms`) for older gateways. */
    private readonly legacy: boolean,
    /** Whether a room still has users on any node (for the legacy index only). */
    private readonly occupied: (room: string) => Promise<boolean>,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** The rooms and users this node holds, for re-asserting them. */
  *entries(): IterableIterator<[string, ReadonlySet<string>]> {
    for (const [room, entry] of this.held) if (entry.users.size > 0) yield [room, entry.users];
  }

  /** Holds `user` in `room` and runs `script` (which puts them in Redis) once the room is listed. */
  async add<T>(room: string, user: string, script: () => Promise<T>): Promise<T> {
    const entry = this.entry(room);
    entry.users.add(user);
    this.stale.delete(room);
    entry.busy += 1;
    try {
      await this.list(room, entry);
      return await script();
    } finally {
      entry.busy -= 1;
      await this.release(room, entry);
    }
  }

  /** Lets go of `user` in `room`, running `script` (which takes them out of Redis) first. */
  async remove<T>(room: string, user: string, script: () => Promise<T>): Promise<T> {
    const entry = this.held.get(room);
    if (entry === undefined) return script();
    entry.users.delete(user);
    entry.busy += 1;
    try {
      return await script();
    } finally {
      entry.busy -= 1;
      await this.release(room, entry);
    }
  }

  /** Lists every held room again (after this node was reaped, or Redis lost its data). */
  relistAll(): void {
    for (const [room, entry] of this.held) {
      if (entry.users.size === 0) continue;
      entry.listed = undefined;
      void this.list(room, entry).catch(() => undefined);
    }
  }

  /** Retries the unlistings that failed (bounded: at most a batch per heartbeat). */
  async retryStale(): Promise<void> {
    let budget = SCAN_BATCH;
    for (const room of [...this.stale]) {
      if (budget-- <= 0) return;
      if (this.held.has(room)) {
        this.stale.delete(room);
        continue;
      }
      await this.write(room, false);
      this.stale.delete(room);
    }
  }

  private entry(room: string): HeldRoom {
    let entry = this.held.get(room);
    if (entry === undefined) {
      entry = { users: new Set(), busy: 0, listed: undefined, unlisting: undefined };
      this.held.set(room, entry);
    }
    return entry;
  }

  private list(room: string, entry: HeldRoom): Promise<void> {
    if (entry.listed === undefined) {
      const listed = (entry.unlisting ?? Promise.resolve()).then(() => this.write(room, true));
      entry.listed = listed;
      // A failed listing is retried by the next add.
      listed.catch(() => {
        if (entry.listed === listed) entry.listed = undefined;
      });
    }
    return entry.listed;
  }

  /** Unlists the room once nobody is held in it and no script of it is running. */
  private async release(room: string, entry: HeldRoom): Promise<void> {
    if (entry.users.size > 0 || entry.busy > 0) return;
    const listed = entry.listed;
    entry.listed = undefined;
    if (listed !== undefined) {
      const unlisting = listed
        .catch(() => undefined)
        .then(() => this.write(room, false))
        .catch(() => {
          this.stale.add(room);
        });
      entry.unlisting = unlisting;
      await unlisting;
      if (entry.unlisting === unlisting) entry.unlisting = undefined;
    }
    if (entry.users.size === 0 && entry.busy === 0 && entry.listed === undefined && entry.unlisting === undefined) this.held.delete(room);
  }

  private async write(room: string, add: boolean): Promise<void> {
    const key = this.keys.nodeRooms(this.nodeId, shardOf(room, NODE_ROOM_SHARDS));
    await (add ? this.redis.sadd(key, room) : this.redis.srem(key, room));
    if (this.legacy) await this.writeLegacy(room, add);
  }

  /** What a gateway of the previous layout reads: its node list and the room index. */
  private async writeLegacy(room: string, add: boolean): Promise<void> {
    if (add) {
      await this.redis.sadd(this.keys.legacyNodeRooms(this.nodeId), room);
      await this.redis.sadd(this.keys.legacyRooms(), room);
      return;
    }
    await this.redis.srem(this.keys.legacyNodeRooms(this.nodeId), room);
    await this.dropFromLegacyIndex(room);
  }

  /**
   * Takes an empty room out of the legacy room index. The index is on another slot than the
   * room, so this cannot be one script: a user added elsewhere between the check and the SREM
   * is caught by the second check, which puts the room back.
   */
  async dropFromLegacyIndex(room: string): Promise<void> {
    if (!this.legacy || (await this.occupied(room))) return;
    await this.redis.srem(this.keys.legacyRooms(), room);
    if (await this.occupied(room)) await this.redis.sadd(this.keys.legacyRooms(), room);
  }
}

/** Every listing set of `node`, new layout and old, for reaping and for `rooms()`. */
export function nodeRoomSets(keys: RedisKeys, node: string): string[] {
  const sets = Array.from({ length: NODE_ROOM_SHARDS }, (_, shard) => keys.nodeRooms(node, shard));
  sets.push(keys.legacyNodeRooms(node));
  return sets;
}

/** Calls `each` with the members of `key`, a bounded SSCAN batch at a time. */
export async function scanSet(redis: ParleyRedis, key: string, each: (members: string[]) => Promise<void>): Promise<void> {
  let cursor = "0";
  do {
    const [next, members] = await redis.sscan(key, cursor, "COUNT", SCAN_BATCH);
    cursor = next;
    if (members.length > 0) await each(members);
  } while (cursor !== "0");
}
