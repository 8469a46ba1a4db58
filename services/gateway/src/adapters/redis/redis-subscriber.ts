import type { Cluster, Redis } from "ioredis";

/**
 * The pub/sub connection(s) of one node, as the broker needs them: one SUBSCRIBE connection on a
 * single Redis, one SSUBSCRIBE connection per master on Redis Cluster. The broker tracks which
 * channels it wants and when they must be re-established; a link only moves them.
 */
export interface SubscriberLink {
  /** Whether every subscriber connection is up right now. */
  isConnected(): boolean;
  onMessage(handler: (channel: string, payload: string) => void): void;
  /** A connection that carried subscriptions went away: they may be gone. */
  onLost(handler: () => void): void;
  /**
   * Connections came back or were re-routed (a failover, a slot move): subscriptions must be
   * confirmed, and anything published meanwhile refilled.
   */
  onRestored(handler: () => void): void;
  /** Resolves once publications on `channel` reach `onMessage`. */
  subscribe(channel: string): Promise<void>;
  /** Subscribes `channels` again after `onRestored`; resolves once every one is live. */
  resubscribe(channels: readonly string[]): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  /** Whether `ping` can reach the connections (see `ShardedSubscriberInternals`). */
  canPing(): boolean;
  /** One round trip on every subscriber connection; rejects if one does not answer in time. */
  ping(): Promise<void>;
  /** Drops the subscriber connection(s) so they reconnect (after a failed `ping`). */
  reconnect(): void;
  close(): void;
}

export function createSubscriberLink(client: Redis | Cluster, sharded: boolean): SubscriberLink {
  return sharded ? new ShardedLink(client as Cluster) : new SingleLink(client as Redis);
}

class SingleLink implements SubscriberLink {
  constructor(private readonly sub: Redis) {}

  isConnected(): boolean {
    return this.sub.status === "ready";
  }

  onMessage(handler: (channel: string, payload: string) => void): void {
    this.sub.on("message", handler);
  }

  onLost(handler: () => void): void {
    this.sub.on("close", handler);
  }

  onRestored(handler: () => void): void {
    this.sub.on("ready", handler);
  }

  async subscribe(channel: string): Promise<void> {
    await this.sub.subscribe(channel);
  }

  async resubscribe(channels: readonly string[]): Promise<void> {
    if (channels.length > 0) await this.sub.subscribe(...channels);
  }

  async unsubscribe(channel: string): Promise<void> {
    if (this.sub.status === "ready") await this.sub.unsubscribe(channel);
  }

  canPing(): boolean {
    return true;
  }

  async ping(): Promise<void> {
    await this.sub.ping();
  }

  reconnect(): void {
    this.sub.disconnect(true);
  }

  close(): void {
    this.sub.disconnect();
  }
}

/**
 * What ioredis 6.0.0 keeps private about its sharded subscribers: one connection per master,
 * each without a retry strategy of its own (the group replaces a lost one after a slot-map
 * refresh). Read only to PING them and to drop one that does not answer; the exact ioredis pin
 * and test/redis-cluster guard this shape, and without it the link still works, unprobed.
 */
interface ShardedSubscriberInternals {
  getInstance(): Redis | null;
}

function shardConnections(cluster: Cluster): Redis[] | undefined {
  const group = (cluster as unknown as { shardedSubscribers?: { shardedSubscribers?: unknown } }).shardedSubscribers;
  const subscribers = group?.shardedSubscribers;
  if (!(subscribers instanceof Map)) return undefined;
  const out: Redis[] = [];
  for (const s of subscribers.values() as IterableIterator<ShardedSubscriberInternals>) {
    const instance = typeof s.getInstance === "function" ? s.getInstance() : null;
    if (instance !== null) out.push(instance);
  }
  return out;
}

/** Channels subscribed again at once, at most. */
const RESUBSCRIBE_BATCH = 256;

class ShardedLink implements SubscriberLink {
  /** Shard connections that did not answer the last `ping`. */
  private unresponsive: Redis[] = [];

  constructor(private readonly sub: Cluster) {}

  canPing(): boolean {
    return shardConnections(this.sub) !== undefined;
  }

  /** The cluster is connected and every shard connection in use is up (idle ones open on first SSUBSCRIBE). */
  isConnected(): boolean {
    if (this.sub.status !== "ready") return false;
    const connections = shardConnections(this.sub);
    return connections === undefined || connections.every((c) => c.status === "ready" || c.status === "wait");
  }

  onMessage(handler: (channel: string, payload: string) => void): void {
    this.sub.on("smessage", handler);
  }

  onLost(handler: () => void): void {
    // The subscriber group reports a shard connection it lost as `-node` with the node's key;
    // the connection pool's own `-node` (no key) is about command connections.
    this.sub.on("-node", (_redis: unknown, nodeKey: unknown) => {
      if (typeof nodeKey === "string") handler();
    });
    this.sub.on("close", handler);
  }

  onRestored(handler: () => void): void {
    // Emitted after every re-sync of the group with the slot map: new or replaced shard
    // connections, or slots that moved (Redis then drops their shard channels with an
    // unsolicited SUNSUBSCRIBE, which ioredis 6 answers with a slot-map refresh).
    this.sub.on("subscribersReady", handler);
  }

  async subscribe(channel: string): Promise<void> {
    await this.sub.ssubscribe(channel);
  }

  /**
   * One channel per command: channels served by one shard still span many slots, and SSUBSCRIBE
   * takes one slot at a time. Each is dropped from ioredis's own channel list first (SUNSUBSCRIBE),
   * so that list, which ioredis replays after each refresh, never holds a channel twice; the
   * moment without a subscription is refilled by the broker's resync like any other gap.
   */
  async resubscribe(channels: readonly string[]): Promise<void> {
    for (let i = 0; i < channels.length; i += RESUBSCRIBE_BATCH) {
      await Promise.all(
        channels.slice(i, i + RESUBSCRIBE_BATCH).map(async (channel) => {
          await this.sub.sunsubscribe(channel).catch(() => undefined);
          await this.sub.ssubscribe(channel);
        }),
      );
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    if (this.sub.status === "ready") await this.sub.sunsubscribe(channel);
  }

  async ping(): Promise<void> {
    // Not the idle ones: a command would open them behind the subscriber group's back.
    const connections = (shardConnections(this.sub) ?? []).filter((c) => c.status !== "wait");
    const results = await Promise.allSettled(connections.map((c) => c.ping()));
    this.unresponsive = connections.filter((_, i) => results[i]?.status === "rejected");
    if (this.unresponsive.length > 0) {
      throw new Error(`${this.unresponsive.length} of ${connections.length} shard subscriber connections did not answer PING`);
    }
  }

  /**
   * Drops the shard connections the last `ping` found silent (all of them if it found none);
   * the group replaces each after the slot-map refresh its `end` triggers.
   */
  reconnect(): void {
    const targets = this.unresponsive.length > 0 ? this.unresponsive : (shardConnections(this.sub) ?? []).filter((c) => c.status !== "wait");
    this.unresponsive = [];
    for (const connection of targets) connection.disconnect();
  }

  close(): void {
    this.sub.disconnect();
  }
}
