import type { Logger } from "pino";
import type { Config } from "../../config.js";
import type { Adapters } from "../adapters.js";
import { createCommandClient, createSubscriberClient, isCluster } from "./redis-client.js";
import { RedisBroker } from "./redis-broker.js";
import { RedisKeys } from "./redis-keys.js";
import { RedisPresence } from "./redis-presence.js";
import { RedisStore } from "./redis-store.js";

/**
 * The Redis adapters of one node over two connections made once here and injected: commands
 * and scripts on one, pub/sub on the other (a subscribed connection can do nothing else).
 */
export function createRedisAdapters(config: Config, log: Logger): Adapters {
  const cluster = isCluster(config.redis);
  const keys = new RedisKeys(config.redis.keyPrefix);
  const commands = createCommandClient(config.redis, config.server.nodeId, log);
  const subscriber = createSubscriberClient(config.redis, config.server.nodeId, log);
  const broker = new RedisBroker(subscriber, commands, keys, cluster, log.child({ port: "broker" }));
  const store = new RedisStore(commands, keys, config.store, cluster);
  const presence = new RedisPresence(commands, keys, config.server.nodeId, config.presence, log.child({ port: "presence" }));
  return {
    kind: cluster ? "redis-cluster" : "redis",
    broker,
    store,
    presence,
    async close() {
      await presence.close();
      await broker.close();
      await store.close();
      commands.disconnect();
    },
  };
}
