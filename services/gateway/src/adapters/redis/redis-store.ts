import { encodeMsgHead } from "@parley/protocol";
import type { RedisConfig, StoreConfig } from "../../config.js";
import { newEpoch } from "../../domain/message-frame.js";
import {
  NotReplicatedError,
  roomTopic,
  type AppendInput,
  type RateLimiter,
  type Appended,
  type HistoryPage,
  type RangeResult,
  type Store,
  type StreamHead,
} from "../../domain/ports.js";
import { scriptPipeline, type ParleyRedis, type ScriptCommands } from "./redis-client.js";
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
  /** REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT_MS: replicas an append must reach before its ack. */
  readonly wait: Pick<RedisConfig, "waitReplicas" | "waitTimeoutMs">;
}

type AppendReply = [string, number, number, string?];

/** The append scripts, on a connection (R: a reply promise) or in a pipeline (R: the pipeline). */
interface AppendScripts<R> {
  parleyAppend(...args: Parameters<ScriptCommands["parleyAppend"]>): R;
  parleyAppendCharged(...args: Parameters<ScriptCommands["parleyAppendCharged"]>): R;
}

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
      reply = await this.replicated((r) => r.parleyAppend(...keys, outbox, ...args, outboxMax));
    } else if (!this.options.sharded) {
      // One script: the bucket and the room meet on one Redis, so a send is one round trip.
      const bucket = this.keys.rate(charge.bucket.name, charge.key);
      reply = await this.replicated((r) => r.parleyAppendCharged(...keys, bucket, outbox, ...args, tokenIntervalMs(charge.bucket), charge.bucket.burst, outboxMax));
    } else {
      // Redis Cluster: the bucket is in another slot, so it is a round trip of its own, first.
      if (!(await this.options.limiter.take(charge.bucket, charge.key))) {
        return { epoch: "", offset: 0, duplicate: false, frame: undefined, limited: true };
      }
      reply = await this.replicated((r) => r.parleyAppend(...keys, outbox, ...args, outboxMax));
    }
    const [epoch, offset, outcome, frame] = reply;
    const code = Number(outcome);
    return { epoch, offset: Number(offset), duplicate: code === 1, frame: code === 0 ? frame : undefined, limited: code === 2 };
  }

  /**
   * Runs an append script; with replication waits on, `WAIT` follows it in the same pipeline, so
   * it goes on the same connection right behind the script (WAIT counts the replicas that have
   * this connection's last write) and costs no extra round trip; on Redis Cluster the pipeline
   * goes to the master of the room's slot. A duplicate waits too: its first attempt may be the one
   * that was not confirmed. Fewer replicas than required: `NotReplicatedError`, not an ack.
   */
  private async replicated(script: <R>(r: AppendScripts<R>) => R): Promise<AppendReply> {
    const { waitReplicas, waitTimeoutMs } = this.options.wait;
    if (waitReplicas === 0) return (await script(this.redis)) as AppendReply;
    const results = await script(scriptPipeline(this.redis)).wait(waitReplicas, waitTimeoutMs).exec();
    const [appendErr, reply] = results?.[0] ?? [new Error("empty pipeline reply"), undefined];
    if (appendErr !== null) throw appendErr;
    const [waitErr, confirmed] = results?.[1] ?? [new Error("no WAIT reply"), 0];
    if (waitErr !== null) throw waitErr;
    if (Number(confirmed) < waitReplicas) throw new NotReplicatedError(waitReplicas, Number(confirmed));
    return reply as AppendReply;
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
