import { Cluster, Redis, type ClusterNode, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { RedisConfig } from "../../config.js";
import * as scripts from "./redis-scripts.js";

/** A command connection with Parley's scripts registered as commands. */
export type ParleyRedis = (Redis | Cluster) & ScriptCommands;

type Reply = unknown;
export interface ScriptCommands {
  parleyAppend(meta: string, log: string, cid: string, channel: string, ...args: (string | number)[]): Promise<Reply>;
  parleyRange(meta: string, log: string, ...args: (string | number)[]): Promise<Reply>;
  parleyHistory(meta: string, log: string, ...args: (string | number)[]): Promise<Reply>;
  parleyPresenceAdd(users: string, node: string, user: string): Promise<Reply>;
  parleyPresenceRemove(users: string, node: string, user: string): Promise<Reply>;
  parleyPresenceReap(users: string, node: string): Promise<Reply>;
  parleyHeartbeat(beats: string, info: string, node: string, infoJson: string, ttlMs: number): Promise<Reply>;
  parleyLiveNodes(beats: string, ttlMs: number): Promise<Reply>;
}

const COMMANDS: Record<keyof ScriptCommands, { keys: number; lua: string }> = {
  parleyAppend: { keys: 4, lua: scripts.APPEND },
  parleyRange: { keys: 2, lua: scripts.RANGE },
  parleyHistory: { keys: 2, lua: scripts.HISTORY },
  parleyPresenceAdd: { keys: 2, lua: scripts.PRESENCE_ADD },
  parleyPresenceRemove: { keys: 2, lua: scripts.PRESENCE_REMOVE },
  parleyPresenceReap: { keys: 2, lua: scripts.PRESENCE_REAP },
  parleyHeartbeat: { keys: 2, lua: scripts.HEARTBEAT },
  parleyLiveNodes: { keys: 1, lua: scripts.LIVE_NODES },
};

/**
 * Connection options chosen for a chat relay: never queue commands while disconnected (a send
 * must fail fast with `unavailable`, not hang and land minutes later), time commands out
 * (a frozen Redis must not freeze sends), and reconnect forever with a capped backoff.
 */
function baseOptions(config: RedisConfig, name: string): RedisOptions {
  return {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.commandTimeoutMs,
    connectTimeout: Math.max(1000, config.commandTimeoutMs),
    autoResubscribe: false,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
  };
}

export function isCluster(config: RedisConfig): boolean {
  return config.clusterNodes.length > 0;
}

function clusterNodes(config: RedisConfig): ClusterNode[] {
  return config.clusterNodes.map((hostPort) => {
    const at = hostPort.lastIndexOf(":");
    return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
  });
}

export function createCommandClient(config: RedisConfig, nodeId: string, log: Logger): ParleyRedis {
  const options = baseOptions(config, `parley-cmd-${nodeId}`.replace(/[^A-Za-z0-9_.-]/g, "_"));
  const client = isCluster(config)
    ? new Cluster(clusterNodes(config), { redisOptions: options, enableOfflineQueue: false, clusterRetryStrategy: options.retryStrategy })
    : new Redis(config.url, options);
  for (const [name, def] of Object.entries(COMMANDS)) client.defineCommand(name, { numberOfKeys: def.keys, lua: def.lua });
  client.on("error", (err: Error) => log.warn({ err: err.message }, "redis command connection error"));
  return client as ParleyRedis;
}

export function createSubscriberClient(config: RedisConfig, nodeId: string, log: Logger): Redis | Cluster {
  const options = baseOptions(config, `parley-sub-${nodeId}`.replace(/[^A-Za-z0-9_.-]/g, "_"));
  const client = isCluster(config)
    ? new Cluster(clusterNodes(config), {
        redisOptions: options,
        enableOfflineQueue: false,
        clusterRetryStrategy: options.retryStrategy,
        shardedSubscribers: true,
      })
    : new Redis(config.url, options);
  client.on("error", (err: Error) => log.warn({ err: err.message }, "redis subscriber connection error"));
  return client;
}
