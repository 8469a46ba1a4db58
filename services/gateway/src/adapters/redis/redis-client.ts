import { Cluster, Redis, type ClusterNode, type ClusterOptions, type Command, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { RedisConfig } from "../../config.js";
import { loadScript } from "./redis-scripts.js";
import { boundSlotRefreshes } from "./redis-slot-refresh.js";

/** A command connection with Parley's scripts registered as commands. */
export type ParleyRedis = (Redis | Cluster) & ScriptCommands;

type Reply = unknown;
export interface ScriptCommands {
  parleyAppend(meta: string, log: string, cid: string, channel: string, outbox: string, ...args: (string | number)[]): Promise<Reply>;
  parleyAppendCharged(meta: string, log: string, cid: string, channel: string, bucket: string, outbox: string, ...args: (string | number)[]): Promise<Reply>;
  parleyHead(meta: string, log: string, ...args: (string | number)[]): Promise<Reply>;
  parleyRange(meta: string, log: string, ...args: (string | number)[]): Promise<Reply>;
  parleyHistory(meta: string, log: string, ...args: (string | number)[]): Promise<Reply>;
  parleyPresenceAdd(users: string, node: string, outbox: string, user: string, room: string, outboxMax: number, ttl: number): Promise<Reply>;
  parleyPresenceRemove(users: string, node: string, outbox: string, user: string, room: string, outboxMax: number, ttl: number): Promise<Reply>;
  parleyPresenceReap(users: string, node: string, outbox: string, room: string, outboxMax: number, ttl: number, batch: number): Promise<Reply>;
  parleyOutboxRelease(index: string, room: string, seenScore: number): Promise<Reply>;
  parleyShardClaim(owner: string, node: string, ttlMs: number): Promise<Reply>;
  parleyShardRelease(owner: string, node: string): Promise<Reply>;
  parleyHeartbeat(beats: string, info: string, node: string, infoJson: string, ttlMs: number): Promise<Reply>;
  parleyLiveNodes(beats: string, ttlMs: number): Promise<Reply>;
  parleyUserMember(convs: string, feedMeta: string, feedLog: string, feedChannel: string, ...args: (string | number)[]): Promise<Reply>;
  parleyUserMention(convs: string, feedMeta: string, feedLog: string, feedChannel: string, ...args: (string | number)[]): Promise<Reply>;
  parleyGuestClaim(claim: string, holder: string, ttlMs: number): Promise<Reply>;
  parleyUserRead(convs: string, feedMeta: string, feedLog: string, feedChannel: string, ...args: (string | number)[]): Promise<Reply>;
}

/** A pipeline (one round trip on one connection) that knows Parley's scripts and WAIT. */
export type ScriptPipeline = { [K in keyof ScriptCommands]: (...args: Parameters<ScriptCommands[K]>) => ScriptPipeline } & {
  wait(replicas: number, timeoutMs: number): ScriptPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
};

/** ioredis pipelines carry the commands `defineCommand` added; its types do not say so. */
export function scriptPipeline(redis: ParleyRedis): ScriptPipeline {
  return redis.pipeline() as unknown as ScriptPipeline;
}

/** Each command and its script in lua/ (redis-scripts.ts). */
const COMMANDS: Record<keyof ScriptCommands, string> = {
  parleyAppend: "append",
  parleyAppendCharged: "append-charged",
  parleyHead: "head",
  parleyRange: "range",
  parleyHistory: "history",
  parleyPresenceAdd: "presence-add",
  parleyPresenceRemove: "presence-remove",
  parleyPresenceReap: "presence-reap",
  parleyHeartbeat: "heartbeat",
  parleyLiveNodes: "live-nodes",
  parleyOutboxRelease: "outbox-release",
  parleyShardClaim: "shard-claim",
  parleyShardRelease: "shard-release",
  parleyUserMember: "user-member",
  parleyUserMention: "user-mention",
  parleyUserRead: "user-read",
  parleyGuestClaim: "guest-claim",
};

/** TCP keepalive on every Redis socket: the kernel notices a peer that vanished without a FIN. */
const KEEPALIVE_MS = 10_000;

/**
 * Connection options chosen for a chat relay: never queue commands while disconnected (a send
 * must fail fast with `unavailable`, not hang and land minutes later), never re-send by itself a
 * command whose connection died (the client retries it, with its cid), time commands out (a
 * frozen Redis must not freeze sends), and reconnect forever with a capped backoff.
 *
 * `protocol: 2` is explicit (ioredis 6 defaults to RESP3): the adapters and their tests were
 * written against the RESP2 wire format, and everything Parley needs from 6.x (the sharded
 * subscriber's handling of SUNSUBSCRIBE on slot moves, and of MOVED on SSUBSCRIBE) works the
 * same under both protocols.
 */
function baseOptions(config: RedisConfig, name: string) {
  return {
    connectionName: name,
    protocol: 2,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: config.commandTimeoutMs,
    connectTimeout: Math.max(1000, config.commandTimeoutMs),
    keepAlive: KEEPALIVE_MS,
    autoResubscribe: false,
    lazyConnect: false,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1000),
  } satisfies RedisOptions;
}

/**
 * Cluster options on top of the per-node ones. Node connections open on first use, as ioredis
 * intends for clusters (eager ones to the seed nodes would be torn down, logging errors, when
 * the first slot map replaces them). A command for a node still connecting waits in that node's
 * own queue, bounded by the command timeout: with the cluster-level `enableOfflineQueue: false`
 * ioredis would instead reject it and retry it 100 ms later, overtaken by the commands issued
 * after it, and a session's sends would be stored out of order. What the cluster-level queue
 * would hold without a timeout (commands while the whole cluster is disconnected) is refused by
 * `failFastWhileDisconnected`. MOVED and TRYAGAIN (a slot on the move) are retried by ioredis
 * within `maxRedirections`; a command for a dead master fails once those are spent. Slot-map
 * refreshes are rate-bounded with a backoff on top of these options (redis-slot-refresh.ts).
 */
function clusterOptions(config: RedisConfig, redisOptions: ReturnType<typeof baseOptions>) {
  return {
    redisOptions: { ...redisOptions, lazyConnect: true },
    enableOfflineQueue: true,
    enableReadyCheck: true,
    clusterRetryStrategy: (times: number) => Math.min(100 * times, 1000),
    slotsRefreshTimeout: Math.max(1000, config.commandTimeoutMs),
    // Re-reads the slot map now and then even when no command ran into a MOVED, so a slot move
    // or failover seen by no command still reaches the sharded subscribers.
    slotsRefreshInterval: 5000,
  } satisfies ClusterOptions;
}

/**
 * Logs connection errors at most once a second, with how many were folded in: while a Redis
 * Cluster master is down ioredis retries its shard connection many times a second.
 */
function errorLogger(log: Logger, msg: string): (err: Error) => void {
  let last = 0;
  let folded = 0;
  return (err) => {
    const now = Date.now();
    if (now - last < 1000) {
      folded += 1;
      return;
    }
    log.warn({ err: err.message, ...(folded > 0 ? { folded } : {}) }, msg);
    last = now;
    folded = 0;
  };
}

/** Stops logging a client's errors (it is being closed); a listener stays, so none is thrown. */
export function muteErrors(client: Redis | Cluster): void {
  client.removeAllListeners("error");
  client.on("error", () => undefined);
}

/**
 * Refuses commands at once while the cluster as a whole is not connected (ioredis would keep
 * them in its cluster-level offline queue, with no timeout, and run them whenever it reconnects).
 * CLUSTER commands pass: ioredis's own ready check sends CLUSTER INFO before "ready".
 */
function failFastWhileDisconnected(cluster: Cluster): void {
  const send = cluster.sendCommand.bind(cluster);
  cluster.sendCommand = (command: Command, stream?: Parameters<Cluster["sendCommand"]>[1], node?: unknown): unknown => {
    if (cluster.status !== "ready" && command.name !== "cluster") {
      command.reject(new Error(`Redis Cluster is not connected (${cluster.status})`));
      return command.promise;
    }
    return send(command, stream, node);
  };
}

export function isCluster(config: RedisConfig): boolean {
  return config.clusterNodes.length > 0;
}

function clusterNodes(config: RedisConfig): ClusterNode[] {
  return hostPorts(config.clusterNodes);
}

function hostPorts(list: readonly string[]): { host: string; port: number }[] {
  return list.map((hostPort) => {
    const at = hostPort.lastIndexOf(":");
    return { host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
  });
}

/**
 * A single Redis, found through Sentinel when REDIS_SENTINELS is set: ioredis asks the Sentinels
 * for the primary named REDIS_SENTINEL_MASTER on every (re)connect, checks that the server it
 * reaches is a primary (a stale answer during a failover is retried), and with `failoverDetector`
 * drops its connection as soon as a Sentinel announces `+switch-master`, instead of writing on to a
 * demoted primary until it notices. While no primary is known the client is not ready, so sends
 * fail fast with `unavailable` and /readyz answers 503 until the failover is over.
 */
function singleRedis(config: RedisConfig, options: ReturnType<typeof baseOptions>): Redis {
  if (config.sentinels.length === 0) return new Redis(config.url, options);
  return new Redis({
    ...options,
    sentinels: hostPorts(config.sentinels),
    name: config.sentinelMaster,
    role: "master",
    failoverDetector: true,
    sentinelCommandTimeout: Math.max(500, config.commandTimeoutMs),
    sentinelRetryStrategy: (times: number) => Math.min(100 * times, 1000),
    ...(config.sentinelPassword !== undefined ? { sentinelPassword: config.sentinelPassword } : {}),
    ...(config.password !== undefined ? { password: config.password } : {}),
  });
}

function connectionName(kind: "cmd" | "sub", nodeId: string): string {
  return `parley-${kind}-${nodeId}`.replace(/[^A-Za-z0-9_.-]/g, "_");
}

export function createCommandClient(config: RedisConfig, nodeId: string, log: Logger): ParleyRedis {
  const options = baseOptions(config, connectionName("cmd", nodeId));
  const client = isCluster(config) ? new Cluster(clusterNodes(config), clusterOptions(config, options)) : singleRedis(config, options);
  if (client instanceof Cluster) {
    failFastWhileDisconnected(client);
    boundSlotRefreshes(client);
  }
  for (const [command, file] of Object.entries(COMMANDS)) {
    const { numberOfKeys, lua } = loadScript(file);
    client.defineCommand(command, { numberOfKeys, lua });
  }
  client.on("error", errorLogger(log, "redis command connection error"));
  return client as ParleyRedis;
}

/**
 * The pub/sub client. On Redis Cluster it is a second `Cluster` whose `shardedSubscribers` keep
 * one subscriber connection per master (SSUBSCRIBE must be sent to the shard owning the slot).
 */
export function createSubscriberClient(config: RedisConfig, nodeId: string, log: Logger): Redis | Cluster {
  const options = baseOptions(config, connectionName("sub", nodeId));
  const client = isCluster(config)
    ? new Cluster(clusterNodes(config), { ...clusterOptions(config, options), shardedSubscribers: true })
    : singleRedis(config, options);
  if (client instanceof Cluster) {
    failFastWhileDisconnected(client);
    boundSlotRefreshes(client);
  }
  client.on("error", errorLogger(log, "redis subscriber connection error"));
  return client;
}
