import type { Logger } from "pino";
import type { PresenceConfig } from "../../config.js";
import type { NodeInfo, NodeStats, Presence, ReapedHandler } from "../../domain/ports.js";
import type { ParleyRedis } from "./redis-client.js";
import type { RedisKeys } from "./redis-keys.js";
import type { RedisOutbox } from "./redis-outbox.js";

/**
 * Cluster-wide presence in Redis. Per room: a hash user -> number of nodes holding the user,
 * and per node a set of the users it holds. Nodes heart-beat into a sorted set scored by the
 * Redis clock; every node reaps nodes whose beat is older than `nodeTtlMs`, atomically per room,
 * so each removal is reported (`left`) by exactly one survivor.
 */
export class RedisPresence implements Presence {
  private reaped: ReapedHandler = () => undefined;
  private timer: NodeJS.Timeout | undefined;
  /** What this node has added, to re-assert if it was reaped while cut off from Redis. */
  private readonly held = new Map<string, Set<string>>();

  constructor(
    private readonly redis: ParleyRedis,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    private readonly config: PresenceConfig,
    private readonly log: Logger,
    /** Webhook events: the presence scripts record joins, leaves, online and offline in it. */
    private readonly outbox: RedisOutbox,
  ) {}

  /** The outbox arguments of a presence script for `room` (after touching the room's lease). */
  private async outboxArgs(room: string): Promise<[string, number, number]> {
    await this.outbox.touch(room);
    return [this.keys.outbox(room), this.outbox.options.max, this.outbox.options.ttlSeconds];
  }

  async add(room: string, user: string): Promise<boolean> {
    let users = this.held.get(room);
    if (users === undefined) {
      users = new Set();
      this.held.set(room, users);
    }
    users.add(user);
    const first = await this.addToRedis(room, user);
    return Number(first) === 1;
  }

  /**
   * The room goes into this node's room list before the user goes in, so a node that dies in
   * between leaves at worst a room with nothing to reap, never a user no one will reap. The
   * room index is updated after, so a concurrent `remove` on another node cannot drop it.
   */
  private async addToRedis(room: string, user: string): Promise<unknown> {
    await this.redis.sadd(this.keys.nodeRooms(this.nodeId), room);
    const [outbox, max, ttl] = await this.outboxArgs(room);
    const first = await this.redis.parleyPresenceAdd(this.keys.presenceUsers(room), this.keys.presenceNode(room, this.nodeId), outbox, user, room, max, ttl);
    await this.redis.sadd(this.keys.rooms(), room);
    return first;
  }

  async remove(room: string, user: string): Promise<boolean> {
    const users = this.held.get(room);
    users?.delete(user);
    if (users?.size === 0) this.held.delete(room);
    const [outbox, max, ttl] = await this.outboxArgs(room);
    const last = await this.redis.parleyPresenceRemove(this.keys.presenceUsers(room), this.keys.presenceNode(room, this.nodeId), outbox, user, room, max, ttl);
    if (Number(last) === 1) await this.dropEmptyRoom(room);
    return Number(last) === 1;
  }

  /**
   * Takes an empty room out of the room index. The index lives on another slot than the room,
   * so this cannot be one script: a user added elsewhere between the check and the SREM is
   * caught by the second check, which puts the room back.
   */
  private async dropEmptyRoom(room: string): Promise<void> {
    const users = this.keys.presenceUsers(room);
    if ((await this.redis.hlen(users)) > 0) return;
    await this.redis.srem(this.keys.rooms(), room);
    if ((await this.redis.hlen(users)) > 0) await this.redis.sadd(this.keys.rooms(), room);
  }

  async members(room: string): Promise<string[]> {
    return (await this.redis.hkeys(this.keys.presenceUsers(room))).sort();
  }

  async isPresent(room: string, user: string): Promise<boolean> {
    return (await this.redis.hexists(this.keys.presenceUsers(room), user)) === 1;
  }

  async rooms(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.rooms())).sort();
  }

  async nodes(): Promise<NodeInfo[]> {
    const flat = (await this.redis.parleyLiveNodes(this.keys.nodes(), this.config.nodeTtlMs)) as string[];
    const names: string[] = [];
    const seen: number[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      names.push(flat[i] as string);
      seen.push(Number(flat[i + 1]));
    }
    if (names.length === 0) return [];
    const infos = await this.redis.hmget(this.keys.nodeInfo(), ...names);
    return names.map((node, i) => {
      let connections = 0;
      try {
        connections = Number((JSON.parse(infos[i] ?? "{}") as { connections?: unknown }).connections) || 0;
      } catch {
        connections = 0;
      }
      return { node, connections, lastSeen: seen[i] as number };
    });
  }

  onReaped(handler: ReapedHandler): void {
    this.reaped = handler;
  }

  start(stats: () => NodeStats): void {
    const beat = (): void => {
      this.beat(stats()).catch((err: unknown) => this.log.warn({ err }, "presence heartbeat failed"));
    };
    beat();
    this.timer = setInterval(beat, this.config.heartbeatMs);
    this.timer.unref();
  }

  private async beat(stats: NodeStats): Promise<void> {
    const [wasMissing, dead] = (await this.redis.parleyHeartbeat(
      this.keys.nodes(),
      this.keys.nodeInfo(),
      this.nodeId,
      JSON.stringify(stats),
      this.config.nodeTtlMs,
    )) as [number, string[]];
    if (Number(wasMissing) === 1 && this.held.size > 0) await this.reassert();
    for (const node of dead) if (node !== this.nodeId) await this.reap(node);
  }

  /** We were reaped (cut off too long) or Redis lost its data: put our users back. */
  private async reassert(): Promise<void> {
    this.log.warn({ rooms: this.held.size }, "presence missing in Redis; re-asserting this node's users");
    for (const [room, users] of this.held) {
      for (const user of users) await this.addToRedis(room, user);
    }
  }

  private async reap(node: string): Promise<void> {
    const rooms = await this.redis.smembers(this.keys.nodeRooms(node));
    for (const room of rooms) {
      const [outbox, max, ttl] = await this.outboxArgs(room);
      const gone = (await this.redis.parleyPresenceReap(this.keys.presenceUsers(room), this.keys.presenceNode(room, node), outbox, room, max, ttl)) as string[];
      if (gone.length > 0) {
        this.log.info({ node, room, users: gone.length }, "reaped users of a dead node");
        await this.dropEmptyRoom(room);
        this.reaped(room, gone);
      }
    }
    await Promise.all([
      this.redis.del(this.keys.nodeRooms(node)),
      this.redis.zrem(this.keys.nodes(), node),
      this.redis.hdel(this.keys.nodeInfo(), node),
    ]);
  }

  /**
   * Stops heart-beating. A node that removed all its users (a clean drain) leaves the cluster at
   * once. One that still holds users keeps its last beat, so a survivor reaps those users and
   * reports them (`left`) within `nodeTtlMs`, exactly as if it had crashed; deleting the beat
   * here would leave them present forever.
   */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.held.size > 0 || this.redis.status !== "ready") return;
    await Promise.all([
      this.redis.zrem(this.keys.nodes(), this.nodeId),
      this.redis.hdel(this.keys.nodeInfo(), this.nodeId),
      this.redis.del(this.keys.nodeRooms(this.nodeId)),
    ]).catch(() => undefined);
  }
}
