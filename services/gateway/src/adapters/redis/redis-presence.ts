import type { Logger } from "pino";
import type { PresenceConfig } from "../../config.js";
import { ONLINE_ROOM, type NodeInfo, type NodeStats, type Presence, type ReapedHandler } from "../../domain/ports.js";
import type { ParleyRedis } from "./redis-client.js";
import { publicRoom, storedRoom, storedRooms, type RedisKeys } from "./redis-keys.js";
import { nodeRoomSets, RedisNodeRooms, scanSet } from "./redis-node-rooms.js";
import type { RedisOutbox } from "./redis-outbox.js";
import { RedisReaper } from "./redis-reaper.js";

/**
 * Cluster-wide presence in Redis. Per room (on the room's slot): a hash user -> number of nodes
 * holding the user, and per node a set of the users it holds; both vanish with the room's last
 * user. Per node: the rooms it holds users in (RedisNodeRooms, sharded over slots), so a survivor
 * can reap it. Nodes heart-beat into a sorted set scored by the Redis clock; a survivor reaps a
 * node whose beat is older than `nodeTtlMs` (RedisReaper), atomically per room and batch, so
 * each removal is reported (`left`) by exactly one survivor.
 */
export class RedisPresence implements Presence {
  private reaped: ReapedHandler = () => undefined;
  private timer: NodeJS.Timeout | undefined;
  /** What this node holds, listed in Redis, and re-asserted if it was reaped while cut off. */
  private readonly held: RedisNodeRooms;
  private readonly reaper: RedisReaper;

  constructor(
    private readonly redis: ParleyRedis,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
    private readonly config: PresenceConfig,
    private readonly log: Logger,
    /** Webhook events: the presence scripts record joins, leaves, online and offline in it. */
    private readonly outbox: RedisOutbox,
  ) {
    const occupied = async (room: string): Promise<boolean> => (await this.redis.hlen(this.keys.presenceUsers(room))) > 0;
    this.held = new RedisNodeRooms(redis, keys, nodeId, config.legacyKeys, occupied);
    const emptied = (room: string): Promise<void> => this.held.dropFromLegacyIndex(room);
    this.reaper = new RedisReaper(redis, keys, nodeId, config.nodeTtlMs, outbox, log, () => this.reaped, emptied);
  }

  /** The outbox arguments of a presence script for `room` (after touching the room's lease). */
  private async outboxArgs(room: string): Promise<[string, number, number]> {
    await this.outbox.touch(room);
    return [this.keys.outbox(room), this.outbox.options.max, this.outbox.options.ttlSeconds];
  }

  async add(room: string, user: string): Promise<boolean> {
    const stored = this.stored(room, user);
    return Number(await this.held.add(stored, user, () => this.addToRedis(stored, user))) === 1;
  }

  /** Where this node writes `user`'s presence in `room` (the online pseudo-room is sharded, see storedRoom). */
  private stored(room: string, user: string): string {
    return storedRoom(room, user, !this.config.legacyKeys);
  }

  private async addToRedis(stored: string, user: string): Promise<unknown> {
    const [outbox, max, ttl] = await this.outboxArgs(stored);
    const keys = [this.keys.presenceUsers(stored), this.keys.presenceNode(stored, this.nodeId), outbox] as const;
    return this.redis.parleyPresenceAdd(...keys, user, publicRoom(stored), max, ttl);
  }

  async remove(room: string, user: string): Promise<boolean> {
    const stored = this.stored(room, user);
    const last = await this.held.remove(stored, user, async () => {
      const [outbox, max, ttl] = await this.outboxArgs(stored);
      const keys = [this.keys.presenceUsers(stored), this.keys.presenceNode(stored, this.nodeId), outbox] as const;
      return this.redis.parleyPresenceRemove(...keys, user, room, max, ttl);
    });
    return Number(last) === 1;
  }

  /** Members of every stored room of `room` (the online shards, and the unsharded one of older gateways). */
  async members(room: string): Promise<string[]> {
    const all = await Promise.all(storedRooms(room).map((stored) => this.redis.hkeys(this.keys.presenceUsers(stored))));
    return [...new Set(all.flat())].sort();
  }

  async isPresent(room: string, user: string): Promise<boolean> {
    const where = room === ONLINE_ROOM ? [storedRoom(room, user, true), room] : [room];
    const found = await Promise.all(where.map((stored) => this.redis.hexists(this.keys.presenceUsers(stored), user)));
    return found.some((n) => n === 1);
  }

  /**
   * The rooms listed by the nodes in the heartbeat set (live, or dead and not yet reaped), read in
   * bounded SSCAN batches: its cost grows with the nodes and the live rooms, never with the rooms
   * ever seen. A gateway of the older layout keeps the legacy index; its rooms are included when
   * someone is still in them.
   */
  async rooms(): Promise<string[]> {
    const nodes = await this.redis.zrange(this.keys.nodes(), "0", "-1");
    const rooms = new Set<string>();
    const collect = (members: string[]): Promise<void> => {
      for (const room of members) rooms.add(publicRoom(room));
      return Promise.resolve();
    };
    await Promise.all(nodes.flatMap((node) => nodeRoomSets(this.keys, node).map((set) => scanSet(this.redis, set, collect))));
    await scanSet(this.redis, this.keys.legacyRooms(), async (members) => {
      const fresh = members.filter((room) => !rooms.has(room));
      const sizes = await Promise.all(fresh.map((room) => this.redis.hlen(this.keys.presenceUsers(room))));
      fresh.forEach((room, i) => {
        if ((sizes[i] ?? 0) > 0) rooms.add(room);
      });
    });
    return [...rooms].sort();
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
    for (const node of dead) if (node !== this.nodeId) this.reaper.reap(node);
    await this.held.retryStale();
  }

  /** We were reaped (cut off too long) or Redis lost its data: put our rooms and users back. */
  private async reassert(): Promise<void> {
    this.log.warn({ rooms: this.held.size }, "presence missing in Redis; re-asserting this node's users");
    this.held.relistAll();
    for (const [stored, users] of this.held.entries()) {
      for (const user of [...users]) await this.held.add(stored, user, () => this.addToRedis(stored, user));
    }
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
      // Empty unless an unlisting failed; one key per call (the shards are on different slots).
      ...nodeRoomSets(this.keys, this.nodeId).map((set) => this.redis.del(set)),
    ]).catch(() => undefined);
  }
}
