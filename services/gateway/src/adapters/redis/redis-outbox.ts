import type { DeadLetter, KeptDeadLetter, Outbox, OutboxEvent, OutboxRoom } from "../../domain/ports.js";
import type { ParleyRedis } from "./redis-client.js";
import type { RedisKeys } from "./redis-keys.js";
import { shardOf } from "./redis-shard.js";

/** Dispatcher shards: each is one sorted set of rooms, on its own slot (`{wh:<n>}`). */
export const OUTBOX_SHARDS = 16;
/** How long a room's index entry is leased for by a gateway about to change the room. */
export const LEASE_MS = 30_000;
/**
 * A gateway renews a lease once less than this is left, so every change it makes under a lease
 * happens at least this long before the lease ends: the margin that covers clock skew between
 * gateways and a slow script, before a dispatcher may take the room out of the index.
 */
const RENEW_BELOW_MS = 20_000;
/** Dead letters read per round trip when looking for given ids. */
const DEAD_LETTER_PAGE = 1000;
/** Leases remembered per gateway; past this the cache is dropped (it only saves round trips). */
const MAX_CACHED_LEASES = 50_000;

export interface RedisOutboxOptions {
  /** Outbox length cap per room; 0 = no webhook configured, nothing is recorded. */
  readonly max: number;
  /** Outbox and cursor lifetime: the room's own. */
  readonly ttlSeconds: number;
}

/**
 * The outbox on Redis. Events are written by the scripts (lua/lib/outbox.lua) into the room's
 * stream `{room}:ev`, beside the room. To be found again, a room sits in one of 16 shard indexes
 * (`{wh:<n>}:rooms`, a sorted set scored by lease end) — put there by `touch` BEFORE the change,
 * which is what makes discovery survive a gateway dying right after it stored something. A
 * gateway touches a room at most once per ~10 s (a cached lease), so a send costs no extra round
 * trip; a dispatcher removes a room only once its lease ran out and it is fully delivered.
 * Every script touches one slot; no key is shared by all traffic (16 index shards, per-room
 * streams), so nothing is hot.
 */
export class RedisOutbox implements Outbox {
  readonly shards = OUTBOX_SHARDS;
  private readonly leases = new Map<string, number>();

  constructor(
    private readonly redis: ParleyRedis,
    private readonly keys: RedisKeys,
    readonly options: RedisOutboxOptions,
  ) {}

  get enabled(): boolean {
    return this.options.max > 0;
  }

  /** Makes sure the room is in its shard's index under a live lease; call before changing it. */
  async touch(room: string): Promise<void> {
    if (!this.enabled) return;
    const now = Date.now();
    const until = this.leases.get(room);
    if (until !== undefined && until - now > RENEW_BELOW_MS) return;
    const leaseUntil = now + LEASE_MS;
    // GT: a lease only ever moves later, whichever gateway renews it.
    await this.redis.zadd(this.keys.outboxIndex(outboxShard(room)), "GT", leaseUntil, room);
    if (this.leases.size >= MAX_CACHED_LEASES) this.leases.clear();
    this.leases.set(room, leaseUntil);
  }

  async claimShard(shard: number, node: string, ttlMs: number): Promise<boolean> {
    return Number(await this.redis.parleyShardClaim(this.keys.shardOwner(shard), node, ttlMs)) === 1;
  }

  async releaseShard(shard: number, node: string): Promise<void> {
    await this.redis.parleyShardRelease(this.keys.shardOwner(shard), node);
  }

  async rooms(shard: number, limit: number): Promise<OutboxRoom[]> {
    const flat = await this.redis.zrange(this.keys.outboxIndex(shard), "0", String(limit - 1), "WITHSCORES");
    const rooms: OutboxRoom[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) rooms.push({ room: flat[i] as string, leaseUntil: Number(flat[i + 1]) });
    return rooms;
  }

  async pending(room: string, endpoint: string, count: number): Promise<OutboxEvent[]> {
    const after = (await this.redis.hget(this.keys.deliveredUpTo(room), endpoint)) ?? "0-0";
    const entries = await this.redis.xrange(this.keys.outbox(room), `(${after}`, "+", "COUNT", String(count));
    return entries.map(([entry, fields]) => toEvent(entry, fields));
  }

  async delivered(room: string, endpoint: string, entry: string): Promise<void> {
    const key = this.keys.deliveredUpTo(room);
    await this.redis.hset(key, endpoint, entry);
    await this.redis.expire(key, this.options.ttlSeconds);
  }

  async settle(shard: number, room: OutboxRoom, endpoints: readonly string[]): Promise<boolean> {
    if (room.leaseUntil > Date.now()) return false;
    const [last] = await this.redis.xrevrange(this.keys.outbox(room.room), "+", "-", "COUNT", 1);
    const cursors = endpoints.length === 0 ? [] : await this.redis.hmget(this.keys.deliveredUpTo(room.room), ...endpoints);
    if (last !== undefined) {
      const lastEntry = last[0];
      if (cursors.some((c) => c === null || compareEntries(c, lastEntry) < 0)) return false;
      // Everyone has everything: the events can go (MINID keeps the last one, harmless).
      await this.redis.xtrim(this.keys.outbox(room.room), "MINID", lastEntry);
    }
    return Number(await this.redis.parleyOutboxRelease(this.keys.outboxIndex(shard), room.room, room.leaseUntil)) === 1;
  }

  async addDeadLetter(letter: DeadLetter): Promise<void> {
    await this.redis.lpush(this.keys.deadLetters(), JSON.stringify(letter));
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const raw = await this.redis.lrange(this.keys.deadLetters(), 0, limit - 1);
    return raw.map((text) => JSON.parse(text) as DeadLetter);
  }

  async oldestDeadLetters(skip: number, count: number): Promise<KeptDeadLetter[]> {
    // The list is newest first (LPUSH): the oldest are at its end, counted from -1.
    const raw = await this.redis.lrange(this.keys.deadLetters(), -(skip + count), -(skip + 1));
    return raw.reverse().map(kept);
  }

  async findDeadLetters(ids: ReadonlySet<string>): Promise<KeptDeadLetter[]> {
    const found: KeptDeadLetter[] = [];
    // Page by page, never the whole list in one reply; the list ends the loop.
    for (let start = 0; ; start += DEAD_LETTER_PAGE) {
      const page = await this.redis.lrange(this.keys.deadLetters(), start, start + DEAD_LETTER_PAGE - 1);
      for (const text of page) {
        const entry = kept(text);
        if (ids.has(entry.letter.id)) found.push(entry);
      }
      if (page.length < DEAD_LETTER_PAGE) return found;
    }
  }

  async removeDeadLetter(letter: KeptDeadLetter): Promise<void> {
    await this.redis.lrem(this.keys.deadLetters(), 1, letter.ref);
  }

  deadLetterCount(): Promise<number> {
    return this.redis.llen(this.keys.deadLetters());
  }
}

/** A dead letter and its exact stored text (what LREM removes). */
function kept(text: string): KeptDeadLetter {
  return { letter: JSON.parse(text) as DeadLetter, ref: text };
}

/** The index shard of a room (FNV-1a of the name). */
export function outboxShard(room: string): number {
  return shardOf(room, OUTBOX_SHARDS);
}

function toEvent(entry: string, fields: string[]): OutboxEvent {
  let type = "";
  let data = "{}";
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "t") type = fields[i + 1] as string;
    else if (fields[i] === "d") data = fields[i + 1] as string;
  }
  return { entry, type, data, at: Number(entry.split("-")[0]) };
}

/** Orders two stream entry ids (`<ms>-<seq>`). */
export function compareEntries(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}
