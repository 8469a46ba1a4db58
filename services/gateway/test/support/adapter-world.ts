import { pino } from "pino";
import { createMemoryAdapters, type Adapters } from "../../src/adapters/adapters.js";
import { MemoryBackend } from "../../src/adapters/memory/memory-backend.js";
import { createRedisAdapters } from "../../src/adapters/redis/redis-adapters.js";
import { loadConfig, type Config, type PresenceConfig, type RedisConfig, type StoreConfig } from "../../src/config.js";
import type { Broker, Topic } from "../../src/domain/ports.js";
import { waitUntil } from "./free-port.js";
import { onEveryMaster, type LocalRedisCluster } from "./redis-cluster.js";
import type { RedisServer } from "./redis-server.js";

/*
 * Contract-suite plumbing: a "world" is one shared backend (a MemoryBackend, or one Redis or one
 * Redis Cluster with a key prefix of its own) on which a test builds several "nodes", each with its own adapters
 * (and, for Redis, its own connections), exactly as separate gateway processes would.
 */

export interface NodeOptions {
  readonly store?: Partial<StoreConfig>;
  readonly presence?: Partial<PresenceConfig>;
  readonly redis?: Partial<RedisConfig>;
}

export interface AdapterWorld {
  /** A node: fresh adapters over the shared backend. Closed by `close()` if not before. */
  node(name: string, options?: NodeOptions): Promise<Adapters>;
  /** Loses every piece of data, as a Redis restart without persistence would. */
  wipe(): Promise<void>;
  close(): Promise<void>;
}

export interface WorldFactory {
  readonly name: "memory" | "redis" | "redis-cluster";
  create(): Promise<AdapterWorld>;
  /** Cuts every pub/sub link to the backend (Redis only: the memory link cannot drop). */
  readonly dropPubSubLinks?: () => Promise<void>;
  /** Freezes the backend process (SIGSTOP); returns the function that thaws it (Redis only). */
  readonly freezeBackend?: () => () => void;
}

let worlds = 0;

function nodeConfig(base: Config, name: string, options: NodeOptions): Config {
  return {
    ...base,
    server: { ...base.server, nodeId: name },
    store: { ...base.store, ...options.store },
    presence: { ...base.presence, ...options.presence },
    redis: { ...base.redis, ...options.redis },
  };
}

class Nodes {
  private readonly open = new Set<Adapters>();

  track(adapters: Adapters): Adapters {
    const close = adapters.close.bind(adapters);
    let closed: Promise<void> | undefined;
    const tracked: Adapters = {
      ...adapters,
      close: () => {
        this.open.delete(tracked);
        closed ??= close();
        return closed;
      },
    };
    this.open.add(tracked);
    return tracked;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open].map((a) => a.close()));
  }
}

export function memoryWorld(): WorldFactory {
  return {
    name: "memory",
    create() {
      const backend = new MemoryBackend();
      const base = loadConfig({ REDIS_URL: "memory" });
      const nodes = new Nodes();
      return Promise.resolve({
        node: (name, options = {}) => Promise.resolve(nodes.track(createMemoryAdapters(nodeConfig(base, name, options), backend))),
        wipe: () => {
          backend.wipe();
          return Promise.resolve();
        },
        close: () => nodes.closeAll(),
      });
    },
  };
}

/** A world of Redis adapters built from `env`, whose backend `wipe` empties. */
function redisBackedWorld(env: Record<string, string>, wipe: () => Promise<void>): AdapterWorld {
  worlds += 1;
  const base = loadConfig({ ...env, PARLEY_REDIS_PREFIX: `contract-${process.pid}-${worlds}:` });
  const nodes = new Nodes();
  return {
    node: async (name, options = {}) => {
      // Warnings are kept (not printed) and shown only if the node fails to get ready.
      const warnings: string[] = [];
      const log = pino({ level: "warn" }, { write: (line: string) => void (warnings.push(line.trim()) > 20 && warnings.shift()) });
      const adapters = await createRedisAdapters(nodeConfig(base, name, options), log);
      // On Redis Cluster the subscriber connections per master come up just after `ready`.
      const ready = await waitUntil(`redis adapters of ${name} to get ready`, () => adapters.broker.isReady() && adapters.store.isReady(), 10_000).catch(
        () => false,
      );
      if (!ready) {
        const state = `broker ${adapters.broker.isReady()}, store ${adapters.store.isReady()}`;
        await adapters.close();
        throw new Error(`redis adapters of ${name} did not get ready within 10 s (${state}); last warnings:\n${warnings.join("\n")}`);
      }
      return nodes.track(adapters);
    },
    wipe,
    close: () => nodes.closeAll(),
  };
}

/** Worlds on the Redis of the test file (`server()` is read when a world is created). */
export function redisWorld(server: () => RedisServer): WorldFactory {
  return {
    name: "redis",
    create() {
      const redis = server();
      return Promise.resolve(
        redisBackedWorld({ REDIS_URL: redis.url }, async () => {
          const reply = await redis.command("FLUSHALL");
          if (!reply.startsWith("+OK")) throw new Error(`FLUSHALL answered ${reply}`);
        }),
      );
    },
    freezeBackend: () => {
      const redis = server();
      redis.signal("SIGSTOP");
      return () => redis.signal("SIGCONT");
    },
    dropPubSubLinks: async () => {
      const reply = await server().command("CLIENT", "KILL", "TYPE", "pubsub");
      if (!reply.startsWith(":")) throw new Error(`CLIENT KILL answered ${reply}`);
    },
  };
}

/**
 * Worlds on the Redis Cluster of the test file (sharded pub/sub, one subscriber connection per
 * master per node). Freezing stops every cluster process at once, so no failover starts.
 */
export function redisClusterWorld(cluster: () => LocalRedisCluster): WorldFactory {
  return {
    name: "redis-cluster",
    create() {
      const c = cluster();
      return Promise.resolve(
        redisBackedWorld({ REDIS_CLUSTER_NODES: c.startupNodes }, async () => {
          await onEveryMaster(c, "FLUSHALL");
        }),
      );
    },
    freezeBackend: () => {
      const nodes = cluster().nodes.filter((n) => n.alive);
      for (const n of nodes) n.proc?.kill("SIGSTOP");
      return () => {
        for (const n of nodes) n.proc?.kill("SIGCONT");
      };
    },
    dropPubSubLinks: async () => {
      await onEveryMaster(cluster(), "CLIENT", "KILL", "TYPE", "pubsub");
    },
  };
}

/** What one broker received, in order, with bounded waits. */
export class Inbox {
  readonly received: { topic: Topic; payload: string }[] = [];

  constructor(broker: Broker) {
    broker.onPublication((topic, payload) => this.received.push({ topic, payload }));
  }

  payloads(topic?: Topic): string[] {
    return this.received.filter((r) => topic === undefined || r.topic === topic).map((r) => r.payload);
  }

  /** Waits until `payload` arrived on `topic` (a sentinel: everything published before it on the same path is in). */
  async waitFor(topic: Topic, payload: string, timeoutMs = 5000): Promise<void> {
    await waitUntil(`${payload} on ${topic}`, () => this.received.some((r) => r.topic === topic && r.payload === payload), timeoutMs, 5);
  }

  async waitForCount(topic: Topic, count: number, timeoutMs = 5000): Promise<string[]> {
    await waitUntil(`${count} publications on ${topic}`, () => this.payloads(topic).length >= count, timeoutMs, 5);
    return this.payloads(topic);
  }
}
