import { encodeMsgHead } from "@parley/protocol";
import type { StoreConfig } from "../../config.js";
import { newEpoch } from "../../domain/message-frame.js";
import {
  roomTopic,
  type AppendInput,
  type RateLimiter,
  type Appended,
  type HistoryPage,
  type RangeResult,
  type Store,
  type StreamHead,
} from "../../domain/ports.js";
import type { ParleyRedis } from "./redis-client.js";
import type { ClusterState } from "./redis-cluster-state.js";
import type { RedisKeys } from "./redis-keys.js";
import type { RedisOutbox } from "./redis-outbox.js";
import { tokenIntervalMs } from "./redis-rate-limiter.js";

export interface RedisStoreOptions {
  /** Redis Cluster: SPUBLISH, and charges taken by `limiter` before the append (another slot). */
  readonly sharded: boolean;
  /** The node's shared buckets, for charges that cannot be folded into the append script. */
  readonly limiter: RateLimiter;
  /** Webhook events: the append script records `message.created` in it; the room is touched first. */
  readonly outbox: RedisOutbox;
}

type AppendReply = [string, number, number, string?];

/**
 * History, offsets and idempotency in Redis. Per room: a `meta` hash (epoch, seq), a capped
 * list `log` of frames (newest at the tail), and one short-lived key per (user, cid). Every
 * operation is one script, so a send is stored and published in one atomic step, and a failed
 * or timed-out call has either fully happened or not at all. Which one is not known: a call that
 * timed out here (ioredis `commandTimeout` only rejects the local promise) or whose reply was lost
 * with the connection may still have run. The client's retry with the same cid is then answered
 * as a duplicate with the first offset, so nothing is stored twice.
 */
export class RedisStore implements Store {
  constructor(
    private readonly redis: ParleyRedis,
    private readonly keys: RedisKeys,
    private readonly config: StoreConfig,
    private readonly options: RedisStoreOptions,
    private readonly clusterState?: ClusterState,
  ) {}

  async append(input: AppendInput): Promise<Appended> {
    const { room, charge } = input;
    const keys = [this.keys.meta(room), this.keys.log(room), this.keys.cid(room, input.from, input.cid), this.keys.channel(roomTopic(room))] as const;
    const outbox = this.keys.outbox(room);
    const outboxMax = this.options.outbox.options.max;
    // Before the append: a gateway dying right after storing leaves the room findable.
    await this.options.outbox.touch(room);
    const args = [
      newEpoch(),
      this.config.roomTtlSeconds,
      encodeMsgHead(input),
      this.config.historySize,
      this.config.idempotencySeconds,
      this.options.sharded ? "SPUBLISH" : "PUBLISH",
    ] as const;
    let reply: AppendReply;
    if (charge === undefined) {
      reply = (await this.redis.parleyAppend(...keys, outbox, ...args, outboxMax)) as AppendReply;
    } else if (!this.options.sharded) {
      // One script: the bucket and the room meet on one Redis, so a send is one round trip.
      const bucket = this.keys.rate(charge.bucket.name, charge.key);
      reply = (await this.redis.parleyAppendCharged(...keys, bucket, outbox, ...args, tokenIntervalMs(charge.bucket), charge.bucket.burst, outboxMax)) as AppendReply;
    } else {
      // Redis Cluster: the bucket is in another slot, so it is a round trip of its own, first.
      if (!(await this.options.limiter.take(charge.bucket, charge.key))) {
        return { epoch: "", offset: 0, duplicate: false, frame: undefined, limited: true };
      }
      reply = (await this.redis.parleyAppend(...keys, outbox, ...args, outboxMax)) as AppendReply;
    }
    const [epoch, offset, outcome, frame] = reply;
    const code = Number(outcome);
    return { epoch, offset: Number(offset), duplicate: code === 1, frame: code === 0 ? frame : undefined, limited: code === 2 };
  }

  async head(room: string): Promise<StreamHead> {
    const [epoch, seq] = (await this.redis.parleyHead(this.keys.meta(room), this.keys.log(room), newEpoch(), this.config.roomTtlSeconds)) as [string, number];
    return { epoch, offset: Number(seq) };
  }

  async peek(room: string): Promise<StreamHead | undefined> {
    const [epoch, seq] = await this.redis.hmget(this.keys.meta(room), "epoch", "seq");
    return epoch === null || epoch === undefined ? undefined : { epoch, offset: Number(seq ?? 0) };
  }

  async range(room: string, from: number, to: number): Promise<RangeResult> {
    if (to < from) {
      const head = await this.head(room);
      return { epoch: head.epoch, frames: [], complete: true };
    }
    const [epoch, seq, oldest, frames] = (await this.redis.parleyRange(
      this.keys.meta(room),
      this.keys.log(room),
      newEpoch(),
      this.config.roomTtlSeconds,
      from,
      to,
    )) as [string, number, number, string[]];
    return { epoch, frames, complete: from >= Number(oldest) && to <= Number(seq) };
  }

  async history(room: string, before: number | undefined, limit: number): Promise<HistoryPage> {
    const [epoch, , , frames, more] = (await this.redis.parleyHistory(
      this.keys.meta(room),
      this.keys.log(room),
      newEpoch(),
      this.config.roomTtlSeconds,
      before ?? 0,
      limit,
    )) as [string, number, number, string[], number];
    return { epoch, frames, more: Number(more) === 1 };
  }

  /** Connected, and on Redis Cluster every slot served (see `ClusterState`). */
  isReady(): boolean {
    return this.redis.status === "ready" && (this.clusterState?.healthy ?? true);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
