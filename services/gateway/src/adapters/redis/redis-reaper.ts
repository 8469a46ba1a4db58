import type { Logger } from "pino";
import type { ReapedHandler } from "../../domain/ports.js";
import type { ParleyRedis } from "./redis-client.js";
import { publicRoom, type RedisKeys } from "./redis-keys.js";
import { nodeRoomSets, scanSet } from "./redis-node-rooms.js";
import type { RedisOutbox } from "./redis-outbox.js";

/** Users taken out of one room per script call: a room a dead node held 50,000 users in is many short calls. */
export const REAP_BATCH = 500;

/**
 * Removes a dead node's users from presence, incrementally: its room list is read a bounded
 * SSCAN batch at a time, each room's users a bounded SPOP batch at a time (lua/presence-reap.lua),
 * and each listed room is removed from the list once reaped, so a reaper that dies half way
 * leaves the rest for the next one. One survivor at a time reaps a node (a lease, renewed per
 * batch); the node leaves the heartbeat set only at the end, so until then every survivor still
 * sees it as dead, and a node that was only cut off re-asserts its users when its next beat finds
 * it missing.
 */
export class RedisReaper {
  private readonly running = new Set<string>();

  constructor(
    private readonly redis: ParleyRedis,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    /** The reaper's lease: a survivor that dies while reaping is replaced after this long. */
    private readonly leaseMs: number,
    private readonly outbox: RedisOutbox,
    private readonly log: Logger,
    private readonly reported: () => ReapedHandler,
    /** Called for each room a reap emptied of its last users (the legacy room index). */
    private readonly emptied: (room: string) => Promise<void>,
  ) {}

  /** Starts reaping `node` unless this or another survivor already is. */
  reap(node: string): void {
    if (this.running.has(node)) return;
    this.running.add(node);
    this.run(node)
      .catch((err: unknown) => this.log.warn({ err, node }, "reaping a dead node failed; the next heartbeat retries"))
      .finally(() => this.running.delete(node));
  }

  private async run(node: string): Promise<void> {
    if (!(await this.claim(node))) return;
    let rooms = 0;
    for (const set of nodeRoomSets(this.keys, node)) {
      await scanSet(this.redis, set, async (batch) => {
        await Promise.all(batch.map((room) => this.reapRoom(node, room)));
        await this.redis.srem(set, ...batch);
        rooms += batch.length;
        if (!(await this.claim(node))) throw new Error("lost the reaper lease");
      });
    }
    await Promise.all([this.redis.zrem(this.keys.nodes(), node), this.redis.hdel(this.keys.nodeInfo(), node)]);
    await this.redis.parleyShardRelease(this.keys.reaper(node), this.nodeId);
    this.log.info({ node, rooms }, "reaped a dead node");
  }

  private async claim(node: string): Promise<boolean> {
    return Number(await this.redis.parleyShardClaim(this.keys.reaper(node), this.nodeId, this.leaseMs)) === 1;
  }

  /** `room` as stored (an online shard is reported as the online pseudo-room). */
  private async reapRoom(node: string, room: string): Promise<void> {
    const users = this.keys.presenceUsers(room);
    const nodeUsers = this.keys.presenceNode(room, node);
    for (;;) {
      await this.outbox.touch(room);
      const [outboxKey, max, ttl] = [this.keys.outbox(room), this.outbox.options.max, this.outbox.options.ttlSeconds];
      const reply = await this.redis.parleyPresenceReap(users, nodeUsers, outboxKey, publicRoom(room), max, ttl, REAP_BATCH);
      const [gone, more] = reply as [string[], number];
      if (gone.length > 0) {
        this.log.debug({ node, room, users: gone.length }, "reaped users of a dead node");
        this.reported()(publicRoom(room), gone);
        await this.emptied(room);
      }
      if (Number(more) !== 1) return;
    }
  }
}
