import type { Cluster, Redis } from "ioredis";
import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { Adapters } from "../adapters.js";
import { createCommandClient, createSubscriberClient, isCluster, muteErrors } from "./redis-client.js";
import { RedisBroker } from "./redis-broker.js";
import { ClusterState } from "./redis-cluster-state.js";
import { RedisKeys } from "./redis-keys.js";
import { RedisModeration } from "./redis-moderation.js";
import { RedisOutbox } from "./redis-outbox.js";
import { RedisPresence } from "./redis-presence.js";
import { RedisRateLimiter } from "./redis-rate-limiter.js";
import { RedisGuestNames } from "./redis-guest-names.js";
import { RedisStore } from "./redis-store.js";
import { RedisUserState } from "./redis-user-state.js";
import { createSubscriberLink } from "./redis-subscriber.js";

/**
 * The Redis adapters of one node over two clients made once here and injected: commands and
 * scripts on one, pub/sub on the other (a subscribed connection can do nothing else). With
 * REDIS_CLUSTER_NODES both are ioredis `Cluster`s, the pub/sub one with a subscriber connection
 * per master (sharded pub/sub); the adapters, keys and scripts are the same in both modes.
 */
export async function createRedisAdapters(config: Config, log: Logger): Promise<Adapters> {
  const cluster = isCluster(config.redis);
  const keys = new RedisKeys(config.redis.keyPrefix);
  const commands = createCommandClient(config.redis, config.server.nodeId, log);
  const subscriber = createSubscriberClient(config.redis, config.server.nodeId, log);
  // Give Redis a moment to answer before the node starts heart-beating and taking sockets; if
  // it does not, start anyway (not ready) and let the clients retry.
  const ready = await Promise.all([whenReady(commands, 3000), whenReady(subscriber, 3000)]);
  if (!ready.every(Boolean)) {
    log.warn({ url: cluster ? config.redis.clusterNodes.join(",") : config.redis.url }, "redis not reachable yet; starting not ready");
  }
  const link = createSubscriberLink(subscriber, cluster);
  const brokerOptions = { sharded: cluster, probeMs: config.redis.probeMs };
  const broker = new RedisBroker(link, commands, keys, brokerOptions, log.child({ port: "broker" }));
  const clusterState = cluster ? new ClusterState(commands as Cluster, config.redis.probeMs, log.child({ port: "store" })) : undefined;
  const limiter = new RedisRateLimiter(commands, keys);
  const outbox = new RedisOutbox(commands, keys, {
    max: config.webhooks.endpoints.length > 0 ? config.webhooks.outboxMax : 0,
    ttlSeconds: config.store.roomTtlSeconds,
  });
  const store = new RedisStore(commands, keys, config.store, { sharded: cluster, limiter, outbox, wait: config.redis }, clusterState);
  const presence = new RedisPresence(commands, keys, config.server.nodeId, config.presence, log.child({ port: "presence" }), outbox);
  return {
    kind: cluster ? "redis-cluster" : "redis",
    broker,
    store,
    presence,
    limiter,
    moderation: new RedisModeration(commands, keys),
    outbox: outbox.enabled ? outbox : undefined,
    users: new RedisUserState(commands, keys, config.store, cluster),
    guestNames: new RedisGuestNames(commands, keys),
    async close() {
      await presence.close();
      muteErrors(subscriber);
      await broker.close();
      await store.close();
      clusterState?.close();
      muteErrors(commands);
      commands.disconnect();
    },
  };
}

function whenReady(client: Redis | Cluster, timeoutMs: number): Promise<boolean> {
  if (client.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.off("ready", onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    client.once("ready", onReady);
  });
}
