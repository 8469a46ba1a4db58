import { afterAll, beforeAll } from "vitest";
import { memoryWorld, redisClusterWorld, redisWorld, type WorldFactory } from "./adapter-world.js";
import { startTestRedisCluster, stopTestRedisCluster, type LocalRedisCluster } from "./redis-cluster.js";
import { RedisServer } from "./redis-server.js";

/**
 * Every backend a port contract runs against: memory, one Redis, and a Redis Cluster. Call at
 * the top level of a contract file: it starts the file's own redis-server and cluster before
 * its tests and stops them after.
 */
export function contractBackends(): WorldFactory[] {
  let redis: RedisServer | undefined;
  let cluster: LocalRedisCluster | undefined;
  beforeAll(async () => {
    const started = await Promise.allSettled([
      RedisServer.start().then((server) => (redis = server)),
      startTestRedisCluster().then((c) => (cluster = c)),
    ]);
    for (const s of started) if (s.status === "rejected") throw s.reason;
  });
  afterAll(async () => {
    await redis?.destroy();
    await stopTestRedisCluster(cluster);
  });
  const serverOf = (): RedisServer => {
    if (redis === undefined) throw new Error("redis-server not started");
    return redis;
  };
  const clusterOf = (): LocalRedisCluster => {
    if (cluster === undefined) throw new Error("redis cluster not started");
    return cluster;
  };
  return [memoryWorld(), redisWorld(serverOf), redisClusterWorld(clusterOf)];
}
