import type { StoreConfig } from "../../config.js";
import { msgFramePrefix, newEpoch } from "../../domain/message-frame.js";
import {
  roomTopic,
  type AppendInput,
  type Appended,
  type HistoryPage,
  type RangeResult,
  type Store,
  type StreamHead,
} from "../../domain/ports.js";
import type { ParleyRedis } from "./redis-client.js";
import type { ClusterState } from "./redis-cluster-state.js";
import type { RedisKeys } from "./redis-keys.js";

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
    private readonly sharded: boolean,
    private readonly clusterState?: ClusterState,
  ) {}

  async append(input: AppendInput): Promise<Appended> {
    const { room } = input;
    const reply = (await this.redis.parleyAppend(
      this.keys.meta(room),
      this.keys.log(room),
      this.keys.cid(room, input.from, input.cid),
      this.keys.channel(roomTopic(room)),
      newEpoch(),
      this.config.roomTtlSeconds,
      msgFramePrefix(input),
      this.config.historySize,
      this.config.idempotencySeconds,
      this.sharded ? "SPUBLISH" : "PUBLISH",
    )) as [string, number, number, string?];
    const [epoch, offset, duplicate, frame] = reply;
    return { epoch, offset: Number(offset), duplicate: Number(duplicate) === 1, frame: duplicate ? undefined : frame };
  }

  async head(room: string): Promise<StreamHead> {
    const [epoch, seq] = (await this.redis.parleyRange(
      this.keys.meta(room),
      this.keys.log(room),
      newEpoch(),
      this.config.roomTtlSeconds,
      1,
      -1,
    )) as [string, number, number, string[]];
    return { epoch, offset: Number(seq) };
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
